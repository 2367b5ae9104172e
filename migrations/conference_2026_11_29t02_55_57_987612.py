from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Notification(Table, tablename="notification"):
    pass

ID = "2026-11-29T02:55:57:987612"
VERSION = "1.38.0"
DESCRIPTION = "notification conference"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="conference", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Notification",
        tablename="notification",
        column_name="conference",
        db_column_name="conference",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    async def drop_index() -> None:
        # SQLite cannot drop an indexed column: the index goes first (raw backwards run before
        # Piccolo's own steps).
        await Notification.raw("DROP INDEX IF EXISTS notification_conference")

    manager.add_raw_backwards(drop_index)

    return manager
