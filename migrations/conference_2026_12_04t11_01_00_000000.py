"""Outbox attachments (issue 11 item 7): notification_attachment, one row per file a queued message
carries. A published minutes PDF is referenced (`publication`), not copied: the bytes are stored
once in minutes_publication however many units receive them. Written by hand; the same on SQLite
and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-04T11:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification_attachment"


class Notification(Table, tablename="notification", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


class MinutesPublication(Table, tablename="minutes_publication", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


COMMON = {"primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
          "secret": False}
PLAIN = {**COMMON, "null": False, "unique": False, "index": False}


def _reference(table: type[Table], on_delete: OnDelete) -> dict:
    return {**COMMON, "references": table, "on_delete": on_delete, "on_update": OnUpdate.cascade,
            "target_column": None, "null": on_delete != OnDelete.cascade, "unique": False, "index": True}


COLUMNS = [
    ("id", Serial, {**COMMON, "null": False, "primary_key": True, "unique": False, "index": False}),
    ("notification", ForeignKey, _reference(Notification, OnDelete.cascade)),
    ("publication", ForeignKey, _reference(MinutesPublication, OnDelete.restrict)),
    ("filename", Varchar, {**PLAIN, "length": 200, "default": ""}),
    ("content_type", Varchar, {**PLAIN, "length": 80, "default": "application/pdf"}),
    ("size", Integer, {**PLAIN, "default": 0}),
    ("sha256", Varchar, {**PLAIN, "length": 64, "default": ""}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_table(class_name="NotificationAttachment", tablename="notification_attachment", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="NotificationAttachment", tablename="notification_attachment", column_name=name,
            db_column_name=name, column_class_name=column_class.__name__, column_class=column_class, params=params,
            schema=None,
        )
    return manager
