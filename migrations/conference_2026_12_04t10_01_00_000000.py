"""Unread-message indexes (issue 11 item 2): the navigation's unread badge is counted on every page
a unit or street opens (conference.accounts.services.actor_for_session), so each count reads only
the unread rows of one recipient: partial indexes on unit and street WHERE read_at IS NULL, which
SQLite and PostgreSQL both support. A separate migration because Piccolo runs raw steps before the
column changes of the same migration (2026-12-04T10:00 adds read_at)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T10:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial indexes for unread notifications per unit and per street"

INDEXES = {"notification_unread_unit": "unit", "notification_unread_street": "street"}


async def forwards():
    from piccolo.engine.finder import engine_finder

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        engine = engine_finder()
        for name, column in INDEXES.items():
            await engine.run_ddl(f'CREATE INDEX IF NOT EXISTS {name} ON "notification" ({column}) WHERE read_at IS NULL')

    async def drop():
        engine = engine_finder()
        for name in INDEXES:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
