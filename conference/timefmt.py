"""Dates and times as Chinese offices write them, always in the configured zone (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt

from conference.settings import get_settings


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    return dt.datetime.now(get_settings().tz).date()


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
    return f"{cn_date(t)} {t:%H:%M}"


def cn_time(value: dt.datetime | None) -> str:
    return f"{local(value):%H:%M}" if value is not None else ""


def days_since(value: dt.datetime | None) -> int:
    """Whole days since `value`, counted on local calendar dates (the item's age)."""
    if value is None:
        return 0
    return (today() - local(value).date()).days


def cn_month_day(value: dt.date) -> str:
    return f"{value.month}月{value.day}日"
