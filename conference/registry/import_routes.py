"""Member-unit import page."""

from typing import Any

ROUTES: list[Any] = []
