"""Counting the SQL statements a request runs, to prove a page's queries do not grow with data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from conference.db import engine


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Every query Piccolo runs (ORM and raw) goes through the engine's run_querystring."""
    db = engine()
    cls = type(db)
    original = cls.run_querystring
    seen: list[str] = []

    async def counting(self: Any, querystring: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(querystring)[:200])
        return await original(self, querystring, *args, **kwargs)

    cls.run_querystring = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        cls.run_querystring = original  # type: ignore[method-assign]
