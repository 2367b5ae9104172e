"""Counting the SQL statements a request runs, to prove a page's queries do not grow with data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from conference import db as db_module
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

    original_fetch = db_module._sqlite_fetch

    async def counting_fetch(engine_: Any, sql: str, params: Any) -> Any:
        seen.append(sql[:200])
        return await original_fetch(engine_, sql, params)

    cls.run_querystring = counting  # type: ignore[method-assign]
    db_module._sqlite_fetch = counting_fetch  # type: ignore[assignment]
    try:
        yield seen
    finally:
        cls.run_querystring = original  # type: ignore[method-assign]
        db_module._sqlite_fetch = original_fetch  # type: ignore[assignment]
