"""Dates and times as Chinese offices write them, always in the configured zone (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar, Token

from conference.settings import get_settings

# The demo data (conference.demo) is told on its own calendar: each step runs through the services
# "at" the moment it happens in the story, so records, the audit trail and the outbox carry the
# story's dates. Set only by the demo loader, for its own task; None everywhere else (real time).
_story_clock: ContextVar[dt.datetime | None] = ContextVar("story_clock", default=None)


def now() -> dt.datetime:
    fixed = _story_clock.get()
    return fixed if fixed is not None else dt.datetime.now(dt.UTC)


def today() -> dt.date:
    return now().astimezone(get_settings().tz).date()


def set_story_clock(moment: dt.datetime | None) -> Token[dt.datetime | None]:
    """The demo loader's clock (see _story_clock): `now()` answers `moment` (aware) in this task
    until reset with the first token."""
    return _story_clock.set(moment)


def reset_story_clock(token: Token[dt.datetime | None]) -> None:
    _story_clock.reset(token)


def cn_date(value: dt.date | dt.datetime | None) -> str:
    """2026年11月29日 (no zero padding, as in official documents)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(get_settings().tz)


def cn_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    t = local(value)
    return f"{t.year}年{t.month}月{t.day}日 {t.hour:02d}:{t.minute:02d}"


def cn_time(value: dt.datetime | None) -> str:
    """09:30. The fields formatted one by one: a strftime format (`{t:%H:%M}`) costs several
    microseconds a call, and a list or calendar page formats a hundred times or more."""
    if value is None:
        return ""
    t = local(value)
    return f"{t.hour:02d}:{t.minute:02d}"


def days_since(value: dt.datetime | None) -> int:
    """Whole days since `value`, counted on local calendar dates (the item's age)."""
    if value is None:
        return 0
    return (today() - local(value).date()).days


def cn_month_day(value: dt.date) -> str:
    return f"{value.month}月{value.day}日"
