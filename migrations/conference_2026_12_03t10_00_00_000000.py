"""Owners of the shared registry records: `owner_conference` on street, member_unit and person (the
conference whose office registered the record; NULL for the admin). The next migration fills it in
from the existing links. Two migrations because Piccolo runs a migration's raw steps before its column
steps."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-03T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "registry owner_conference columns"

OWNER_PARAMS = {
    "default": None, "null": True, "primary_key": False, "unique": False, "index": True,
    "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False,
}
TABLES = {"Street": "street", "MemberUnit": "member_unit", "Person": "person"}


class Street(Table, tablename="street"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    for class_name, tablename in TABLES.items():
        manager.add_column(table_class_name=class_name, tablename=tablename, column_name="owner_conference",
                           db_column_name="owner_conference", column_class_name="Integer", column_class=Integer,
                           params=OWNER_PARAMS, schema=None)

    async def drop_indexes() -> None:
        # SQLite cannot drop an indexed column: the indexes go first (raw backwards steps run before
        # Piccolo's own).
        for tablename in TABLES.values():
            await Street.raw(f"DROP INDEX IF EXISTS {tablename}_owner_conference")

    manager.add_raw_backwards(drop_indexes)
    return manager
