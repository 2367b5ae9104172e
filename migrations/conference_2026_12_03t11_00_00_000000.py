"""Table login_throttle (conference.accounts.throttle): failed log-ins, wrong old passwords and
guessed reply/feed links counted per key in the database, so that every server process sees the
same count. Written by hand; Piccolo creates the same table on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login_throttle"

COMMON = {"primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
          "secret": False}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_table(class_name="LoginThrottle", tablename="login_throttle", schema=None, columns=None)
    columns = [
        ("id", Serial, {**COMMON, "null": False, "primary_key": True, "unique": False, "index": False}),
        ("key_hash", Varchar, {**COMMON, "length": 64, "default": "", "null": False, "unique": True, "index": False}),
        ("failures", Integer, {**COMMON, "default": 0, "null": False, "unique": False, "index": False}),
        ("locked_until", Timestamptz, {**COMMON, "default": None, "null": True, "unique": False, "index": False}),
        ("updated_at", Timestamptz, {**COMMON, "default": TimestamptzNow(), "null": False, "unique": False,
                                     "index": True}),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="LoginThrottle", tablename="login_throttle", column_name=name, db_column_name=name,
            column_class_name=column_class.__name__, column_class=column_class, params=params, schema=None,
        )
    return manager
