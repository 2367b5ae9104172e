"""The minutes' issue number (第N期) stored per conference and year (issue_year, issue_number),
instead of counted each time a draft is started; the next migration fills it in and makes it unique.
Two migrations because Piccolo runs a migration's raw steps before its column steps."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T09:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "minutes issue number columns"

ISSUE_PARAMS = {
    "default": None, "null": True, "primary_key": False, "unique": False, "index": False,
    "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    for column in ("issue_year", "issue_number"):
        manager.add_column(table_class_name="Minutes", tablename="minutes", column_name=column, db_column_name=column,
                           column_class_name="Integer", column_class=Integer, params=ISSUE_PARAMS, schema=None)
    return manager
