"""Correctable resolutions (issue 12 item 2): resolution.note (备注) and the table
resolution_attachment (files the office attaches to a resolution, the same limits as task
evidence). Written by hand; the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Bytea, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-03T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "resolution note and attachments"


class Resolution(Table, tablename="resolution", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


class User(Table, tablename="app_user", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


COMMON = {"primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
          "secret": False}
PLAIN = {**COMMON, "null": False, "unique": False, "index": False}
COLUMNS = [
    ("id", Serial, {**COMMON, "null": False, "primary_key": True, "unique": False, "index": False}),
    ("resolution", ForeignKey, {**COMMON, "references": Resolution, "on_delete": OnDelete.cascade,
                                "on_update": OnUpdate.cascade, "target_column": None, "null": True, "unique": False,
                                "index": True}),
    ("filename", Varchar, {**PLAIN, "length": 200, "default": ""}),
    ("content_type", Varchar, {**PLAIN, "length": 100, "default": ""}),
    ("size", Integer, {**PLAIN, "default": 0}),
    ("sha256", Varchar, {**PLAIN, "length": 64, "default": ""}),
    ("data", Bytea, {**PLAIN, "default": b""}),
    ("uploaded_by", ForeignKey, {**COMMON, "references": User, "on_delete": OnDelete.set_null,
                                 "on_update": OnUpdate.cascade, "target_column": None, "null": True, "unique": False,
                                 "index": False}),
    ("uploaded_by_name", Varchar, {**PLAIN, "length": 60, "default": ""}),
    ("created_at", Timestamptz, {**PLAIN, "default": TimestamptzNow()}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Resolution", tablename="resolution", column_name="note", db_column_name="note",
        column_class_name="Text", column_class=Text, params={**PLAIN, "default": ""}, schema=None,
    )
    manager.add_table(class_name="ResolutionAttachment", tablename="resolution_attachment", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="ResolutionAttachment", tablename="resolution_attachment", column_name=name,
            db_column_name=name, column_class_name=column_class.__name__, column_class=column_class, params=params,
            schema=None,
        )
    return manager
