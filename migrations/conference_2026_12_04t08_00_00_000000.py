"""Calendar replies read over IMAP (issue 13 item 1): the table calendar_reply, one row per
METHOD:REPLY part read from the office mailbox, unique per (message, UID, attendee) so a message is
applied once (the next migration: Piccolo runs a migration's raw steps before its
new tables). Written by hand; the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-04T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar_reply"


class Meeting(Table, tablename="meeting", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


class Invitation(Table, tablename="invitation", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


class Conference(Table, tablename="conference", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


COMMON = {"primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
          "secret": False}
PLAIN = {**COMMON, "null": False, "unique": False, "index": False}


def _reference(table: type[Table], index: bool) -> dict:
    return {**COMMON, "references": table, "on_delete": OnDelete.set_null, "on_update": OnUpdate.cascade,
            "target_column": None, "null": True, "unique": False, "index": index}


COLUMNS = [
    ("id", Serial, {**COMMON, "null": False, "primary_key": True, "unique": False, "index": False}),
    ("message_key", Varchar, {**PLAIN, "length": 250, "default": ""}),
    ("ical_uid", Varchar, {**PLAIN, "length": 250, "default": ""}),
    ("attendee", Varchar, {**PLAIN, "length": 250, "default": ""}),
    ("sender", Varchar, {**PLAIN, "length": 250, "default": ""}),
    ("subject", Varchar, {**PLAIN, "length": 250, "default": ""}),
    ("partstat", Varchar, {**PLAIN, "length": 24, "default": ""}),
    ("sequence", Integer, {**PLAIN, "default": 0}),
    ("delegate", Varchar, {**PLAIN, "length": 250, "default": ""}),
    ("comment", Text, {**PLAIN, "default": ""}),
    ("outcome", Varchar, {**PLAIN, "length": 16, "default": "", "index": True}),
    ("meeting", ForeignKey, _reference(Meeting, True)),
    ("invitation", ForeignKey, _reference(Invitation, False)),
    ("conference", ForeignKey, _reference(Conference, True)),
    ("received_at", Timestamptz, {**PLAIN, "default": TimestamptzNow()}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_table(class_name="CalendarReply", tablename="calendar_reply", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="CalendarReply", tablename="calendar_reply", column_name=name, db_column_name=name,
            column_class_name=column_class.__name__, column_class=column_class, params=params, schema=None,
        )

    return manager
