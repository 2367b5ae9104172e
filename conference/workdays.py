"""Working days as Chinese offices count them: weekends and official holidays are off, make-up
working days (调休, e.g. a Sunday before the Spring Festival) are on.

The calendar is data the office maintains (table `holiday_day`, page /holidays, conference.holidays),
seeded from `chinese-calendar` for the years that package knows. A year is *entered* when the table
holds at least one day of it. Beyond the entered years only weekends are skipped: a deadline that
reaches such a year is still computed, never refused, and is marked provisional (暂定) until the
office enters that year's schedule, which recomputes it (conference.holidays.services).

Each server process keeps the calendar in memory. `refresh()` (run before every request and by the
jobs) reads one row, `holiday_calendar`, whose version and time every change of the table raises;
only when they differ from the cached ones are the days read again. So an edit made through one
worker is seen by every other worker on its next request.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from conference.errors import DomainError

ONE_DAY = dt.timedelta(days=1)


class CalendarUnknown(DomainError):
    """No longer raised (dates beyond the entered years count weekdays only); kept for old imports."""

    status_code = 400


@dataclass(frozen=True)
class Calendar:
    """The holiday calendar as read at one version: day -> True (make-up working day) or False (day
    off), and the years entered."""

    days: Mapping[dt.date, bool] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    stamp: tuple[int, str] | None = None  # (version, changed_at) of holiday_calendar; None: never read

    def is_workday(self, day: dt.date) -> bool:
        kind = self.days.get(day)
        return kind if kind is not None else day.weekday() < 5

    def is_entered(self, year: int) -> bool:
        return year in self.years

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        if n < 1:
            raise ValueError("n must be positive")
        day, counted = start, 0
        while counted < n:
            day += ONE_DAY
            if self.is_workday(day):
                counted += 1
        return day

    def deadline(self, start: dt.date, n: int) -> tuple[dt.date, bool]:
        """(the date `n` working days after `start`, whether it is provisional): provisional when a
        day counted lies in a year whose schedule is not entered."""
        end = self.add_workdays(start, n)
        return end, self.is_provisional(start, end)

    def is_provisional(self, start: dt.date, end: dt.date) -> bool:
        first = (start + ONE_DAY).year
        return any(year not in self.years for year in range(first, end.year + 1))

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            if self.is_workday(day):
                count += 1
        return count


_current = Calendar()


def current() -> Calendar:
    return _current


def set_current(calendar: Calendar) -> None:
    global _current
    _current = calendar


async def _stamp() -> tuple[int, str] | None:
    from conference.db import fetch

    rows = await fetch("SELECT version, changed_at FROM holiday_calendar WHERE id = 1")
    if not rows:
        return None
    return int(rows[0]["version"]), str(rows[0]["changed_at"])


async def load() -> Calendar:
    """The calendar as stored now (inside a transaction: including its own changes)."""
    from conference.db import as_date, fetch

    stamp = await _stamp()
    rows = await fetch("SELECT day, kind FROM holiday_day")
    days = {as_date(r["day"]): r["kind"] == "workday" for r in rows}
    return Calendar(days=days, years=frozenset(d.year for d in days), stamp=stamp or (0, ""))


_checked_at = -math.inf  # time.monotonic() of the last check against the stored version


async def refresh(*, force: bool = False, max_age: float = 0.0) -> Calendar:
    """The current calendar, read again only when the office has changed it (one cheap query).
    With `max_age`, a calendar checked less than that many seconds ago is taken as it is."""
    global _checked_at
    if not force and _current.stamp is not None and time.monotonic() - _checked_at < max_age:
        return _current
    _checked_at = time.monotonic()
    if not force and _current.stamp is not None and await _stamp() == _current.stamp:
        return _current
    calendar = await load()
    set_current(calendar)
    return calendar


# The functions the rest of the system calls, on this process's current calendar. Until `refresh()`
# has run once, the calendar is empty (weekdays only): every entry point (requests, jobs, the CLI)
# refreshes first.


def is_workday(day: dt.date) -> bool:
    return _current.is_workday(day)


def add_workdays(start: dt.date, n: int) -> dt.date:
    """The date that is `n` working days after `start` (start itself not counted); n >= 1."""
    return _current.add_workdays(start, n)


def deadline_after(start: dt.date, n: int) -> tuple[dt.date, bool]:
    """`n` working days after `start`, and whether that date is provisional (暂定)."""
    return _current.deadline(start, n)


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    return _current.workdays_between(start, end)


def last_known_year() -> int | None:
    return max(_current.years) if _current.years else None
