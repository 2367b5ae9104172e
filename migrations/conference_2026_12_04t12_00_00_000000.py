"""文号 (issue 13 item 4): conference.doc_prefix (the office's 发文机关代字, e.g. 兰联办),
minutes.doc_number (the 文号 printed on the published minutes, e.g. 兰联办〔2026〕6号, "" before
publication) and the table document_counter, the last number given per (conference, year, kind)
(conference.documents.tables.DocumentCounter); its unique index is the next migration (Piccolo runs
a migration's raw steps before its new tables). Written by hand; the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-04T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "conference doc_prefix, minutes doc_number, document_counter"


class Conference(Table, tablename="conference", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree, choices=None,
                db_column_name=None, secret=False)


COMMON = {"primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
          "secret": False}
PLAIN = {**COMMON, "null": False, "unique": False, "index": False}
COLUMNS = [
    ("id", Serial, {**COMMON, "null": False, "primary_key": True, "unique": False, "index": False}),
    ("conference", ForeignKey, {**COMMON, "references": Conference, "on_delete": OnDelete.restrict,
                                "on_update": OnUpdate.cascade, "target_column": None, "null": True, "unique": False,
                                "index": False}),
    ("year", Integer, {**PLAIN, "default": 0}),
    ("kind", Varchar, {**PLAIN, "length": 24, "default": ""}),
    ("last_number", Integer, {**PLAIN, "default": 0}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Conference", tablename="conference", column_name="doc_prefix", db_column_name="doc_prefix",
        column_class_name="Varchar", column_class=Varchar, params={**PLAIN, "length": 20, "default": ""}, schema=None,
    )
    manager.add_column(
        table_class_name="Minutes", tablename="minutes", column_name="doc_number", db_column_name="doc_number",
        column_class_name="Varchar", column_class=Varchar, params={**PLAIN, "length": 40, "default": ""}, schema=None,
    )
    manager.add_table(class_name="DocumentCounter", tablename="document_counter", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="DocumentCounter", tablename="document_counter", column_name=name, db_column_name=name,
            column_class_name=column_class.__name__, column_class=column_class, params=params, schema=None,
        )
    return manager
