"""Calendar replies (issue 13 item 1): calendar_reply unique per (message, UID, attendee), so a
message read twice (two processes, a move that failed) is applied once. Raw SQL, the same on SQLite
and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T08:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar_reply unique (message_key, ical_uid, attendee)"
NAME = "calendar_reply_message_uid_attendee"


async def forwards():
    from piccolo.engine.finder import engine_finder

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        await engine_finder().run_ddl(f'CREATE UNIQUE INDEX IF NOT EXISTS {NAME} ON "calendar_reply" (message_key, ical_uid, attendee)')

    async def drop():
        await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {NAME}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
