"""The official schedule as published by the State Council, from the `chinese-calendar` package: the
seed of the holiday table (migration 2026-12-03T13:01, `conference holidays seed`). Nothing else
reads chinese-calendar: working days are counted on the table (conference.workdays)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar

# chinese-calendar names its holidays in English; the office's names for them.
NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _name(value: object) -> str:
    text = getattr(value, "value", value)
    return NAMES.get(str(text), str(text))[:40]


def official_days(years: set[int] | None = None) -> list[tuple[dt.date, str, str]]:
    """(day, holiday | workday, name) for the years chinese-calendar knows (or those of `years`)."""
    days = [(d, "holiday", _name(v)) for d, v in chinese_calendar.holidays.items()]
    days += [(d, "workday", _name(v)) for d, v in chinese_calendar.workdays.items()]
    return sorted(d for d in days if years is None or d[0].year in years)


def known_years() -> list[int]:
    return sorted({d.year for d in chinese_calendar.holidays})
