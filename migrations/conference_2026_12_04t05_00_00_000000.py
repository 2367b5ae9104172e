"""Pinyin order (issue 16 item 4): street, conference, member_unit and person get `sort_key`, the
pinyin of their name with tone numbers (conference.collation), indexed; the next migration fills
it for the rows already there. Written by hand; the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sort_key (pinyin) on street, conference, member_unit, person"

TABLES = (("Street", "street"), ("Conference", "conference"), ("MemberUnit", "member_unit"), ("Person", "person"))
INDEXES = ("street_sort_key", "conference_sort_key", "member_unit_sort_key", "person_sort_key")  # Piccolo's names
PARAMS = {"length": 800, "default": "", "null": False, "primary_key": False, "unique": False, "index": True,
          "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    for class_name, tablename in TABLES:
        manager.add_column(
            table_class_name=class_name, tablename=tablename, column_name="sort_key", db_column_name="sort_key",
            column_class_name="Varchar", column_class=Varchar, params=PARAMS, schema=None,
        )

    async def drop_indexes():
        # Backwards: SQLite refuses to drop a column that an index still names (raw steps run first).
        from piccolo.engine.finder import engine_finder

        for index in INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {index}")

    manager.add_raw_backwards(drop_indexes)
    return manager
