"""Special-meeting requests (issue 16 item 5): an item is named once per request, a unique index on
special_meeting_request_item (created by the previous migration). Raw SQL, the same on SQLite and
PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T04:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "special_meeting_request_item unique (request, item)"
NAME = "special_meeting_request_item_request_item"


async def forwards():
    from piccolo.engine.finder import engine_finder

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        await engine_finder().run_ddl(f'CREATE UNIQUE INDEX IF NOT EXISTS {NAME} ON "special_meeting_request_item" (request, item)')

    async def drop():
        await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {NAME}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
