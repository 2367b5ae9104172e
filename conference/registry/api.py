"""Registry JSON API."""

from typing import Any

ROUTES: list[Any] = []
