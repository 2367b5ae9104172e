"""Reply-link and feed tokens stored as hashes, like sessions and API tokens: the columns
invitation.token and calendar_feed.token become token_hash and every existing token is replaced by
its SHA-256 (hex), so links already sent keep working while the tables no longer hold them in clear.

Backwards renames the columns back but cannot restore the clear tokens: links sent before stay
valid only while this migration is applied. Written by hand; the same statements on SQLite (3.25+)
and PostgreSQL."""

import hashlib

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T11:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reply and feed tokens hashed"

TABLES = ("invitation", "calendar_feed")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def forwards():
    from piccolo.engine.finder import engine_finder

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def hash_tokens():
        engine = engine_finder()
        for table in TABLES:
            await engine.run_ddl(f'ALTER TABLE "{table}" RENAME COLUMN token TO token_hash')
            rows = await engine.run_ddl(f'SELECT id, token_hash FROM "{table}"')  # noqa: S608 - constant names
            for row in rows or []:
                await engine.run_ddl(
                    f"UPDATE \"{table}\" SET token_hash = '{digest(row['token_hash'])}' WHERE id = {int(row['id'])}")  # noqa: S608 - hex and int

    async def unhash_column():
        engine = engine_finder()
        for table in TABLES:
            await engine.run_ddl(f'ALTER TABLE "{table}" RENAME COLUMN token_hash TO token')

    manager.add_raw(hash_tokens)
    manager.add_raw_backwards(unhash_column)
    return manager
