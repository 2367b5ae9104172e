"""Feed events carry LAST-MODIFIED (issue 13 item 2): meeting.changed_at, set by every audited
update of a meeting. Existing meetings start without one (their feed events fall back to the
notification or creation time). Written by hand; the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T08:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "meeting.changed_at"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Meeting", tablename="meeting", column_name="changed_at", db_column_name="changed_at",
        column_class_name="Timestamptz", column_class=Timestamptz,
        params={"default": None, "null": True, "primary_key": False, "unique": False, "index": False,
                "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
        schema=None,
    )
    return manager
