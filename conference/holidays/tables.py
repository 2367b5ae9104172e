"""The holiday calendar: one row per day that differs from an ordinary week (a day off on a weekday
or inside a holiday break, or a make-up working day on a weekend), and one counter row that every
change raises so that each server process knows when to read the calendar again."""

from __future__ import annotations

from piccolo.columns import Date, Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table

KINDS = ("holiday", "workday")


class HolidayDay(Table, tablename="holiday_day"):
    id = Serial(primary_key=True)
    day = Date(unique=True)
    kind = Varchar(length=8)  # holiday (放假) | workday (调休上班)
    name = Varchar(length=40, default="")  # 春节, 国庆节...
    year = Integer(index=True)
    created_at = Timestamptz()


class HolidayCalendar(Table, tablename="holiday_calendar"):
    """A single row (id 1): version and time of the last change of holiday_day (conference.workdays)."""

    id = Serial(primary_key=True)
    version = Integer(default=0)
    changed_at = Timestamptz()
