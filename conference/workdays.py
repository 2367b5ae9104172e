"""Working days as Chinese offices count them: weekends and official holidays are off, make-up
working days (调休, e.g. a Sunday before the Spring Festival) are on. The calendar comes from the
`chinese-calendar` package, which knows the years the State Council has published; a date beyond
them is a clear error, never a silent guess."""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from conference.errors import DomainError
from conference.i18n import gettext as _


class CalendarUnknown(DomainError):
    status_code = 400


def is_workday(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise CalendarUnknown(
            _("系统的节假日安排只覆盖到{year}年，无法计算{day}及以后的工作日。请改用具体日期作为期限。").format(
                year=last_known_year(), day=f"{day.year}年{day.month}月{day.day}日")
        ) from exc


def last_known_year() -> int:
    return max(d.year for d in chinese_calendar.holidays)


def add_workdays(start: dt.date, n: int) -> dt.date:
    """The date that is `n` working days after `start` (start itself not counted); n >= 1."""
    if n < 1:
        raise ValueError("n must be positive")
    day, counted = start, 0
    while counted < n:
        day += dt.timedelta(days=1)
        if is_workday(day):
            counted += 1
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day):
            count += 1
    return count
