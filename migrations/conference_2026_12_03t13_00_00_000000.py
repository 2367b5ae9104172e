"""The office-maintained holiday calendar (conference.holidays): tables holiday_day and
holiday_calendar, and deadline_provisional on resolution and task (a working-day deadline counted on
weekdays only because it reaches a year whose holidays are not yet entered). Written by hand; the
same on SQLite and PostgreSQL. The next migration seeds the calendar."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Date, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "holiday calendar, provisional deadlines"

COMMON = {"primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
          "secret": False}
PLAIN = {**COMMON, "null": False, "unique": False, "index": False}
ID_COLUMN = ("id", Serial, {**COMMON, "null": False, "primary_key": True, "unique": False, "index": False})

TABLES = {
    ("HolidayDay", "holiday_day"): [
        ID_COLUMN,
        ("day", Date, {**PLAIN, "default": None, "unique": True}),
        ("kind", Varchar, {**PLAIN, "length": 8, "default": ""}),
        ("name", Varchar, {**PLAIN, "length": 40, "default": ""}),
        ("year", Integer, {**PLAIN, "default": 0, "index": True}),
        ("created_at", Timestamptz, {**PLAIN, "default": TimestamptzNow()}),
    ],
    ("HolidayCalendar", "holiday_calendar"): [
        ID_COLUMN,
        ("version", Integer, {**PLAIN, "default": 0}),
        ("changed_at", Timestamptz, {**PLAIN, "default": TimestamptzNow()}),
    ],
}
PROVISIONAL = [("Resolution", "resolution"), ("Task", "task")]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    for (class_name, tablename), columns in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name, tablename=tablename, column_name=name, db_column_name=name,
                column_class_name=column_class.__name__, column_class=column_class, params=params, schema=None,
            )
    for class_name, tablename in PROVISIONAL:
        manager.add_column(
            table_class_name=class_name, tablename=tablename, column_name="deadline_provisional",
            db_column_name="deadline_provisional", column_class_name="Boolean", column_class=Boolean,
            params={**PLAIN, "default": False}, schema=None,
        )
    return manager
