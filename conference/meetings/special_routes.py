"""Route handlers (to be written)."""

from typing import Any

ROUTES: list[Any] = []
