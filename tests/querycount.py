"""Counting the SQL statements a request runs, to prove a page's queries do not grow with data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from conference.db import engine

# The holiday calendar's version check (conference.workdays.refresh) runs before a page view at most
# every few seconds (conference.app.CALENDAR_CHECK_SECONDS): whether a request includes it depends on
# the clock and on the tests before, not on the data, so it is not counted.
CLOCK_DRIVEN = "FROM holiday_calendar WHERE id = 1"


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Every query Piccolo runs (ORM and raw: conference.db.fetch too) goes through the engine's
    run_querystring."""
    db = engine()
    cls = type(db)
    original = cls.run_querystring
    seen: list[str] = []

    async def counting(self: Any, querystring: Any, *args: Any, **kwargs: Any) -> Any:
        if CLOCK_DRIVEN not in str(querystring):
            seen.append(str(querystring)[:200])
        return await original(self, querystring, *args, **kwargs)

    cls.run_querystring = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        cls.run_querystring = original  # type: ignore[method-assign]
