"""Intake from other systems (issue 15 item 2): an agenda item keeps the reference of the ticket it
came from (agenda_item.external_ref, external_source: 12345 hotline or grid platform), and
intake_request remembers each Idempotency-Key an account used, with the SHA-256 of the request body
and the item it created. The unique index on (account, idempotency_key) is what makes a repeated or
concurrent request create nothing twice. Raw SQL, the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agenda_item.external_ref, external_source; intake_request unique (account, idempotency_key)"


def statements(postgres: bool) -> list[str]:
    serial = "SERIAL PRIMARY KEY" if postgres else "INTEGER PRIMARY KEY"
    return [
        "ALTER TABLE agenda_item ADD COLUMN external_ref VARCHAR(100) NOT NULL DEFAULT ''",
        "ALTER TABLE agenda_item ADD COLUMN external_source VARCHAR(20) NOT NULL DEFAULT ''",
        "CREATE INDEX agenda_item_external_ref ON agenda_item (external_ref)",
        f"""CREATE TABLE intake_request (
            id {serial},
            account INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
            idempotency_key VARCHAR(100) NOT NULL,
            request_hash VARCHAR(64) NOT NULL,
            item INTEGER NULL REFERENCES agenda_item (id) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL)""",
        "CREATE UNIQUE INDEX intake_request_account_key ON intake_request (account, idempotency_key)",
        "CREATE INDEX intake_request_item ON intake_request (item)",
    ]


async def forwards():
    from piccolo.engine.finder import engine_finder
    from piccolo.engine.postgres import PostgresEngine

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        engine = engine_finder()
        for sql in statements(isinstance(engine, PostgresEngine)):
            await engine.run_ddl(sql)

    async def drop():
        engine = engine_finder()
        await engine.run_ddl("DROP TABLE IF EXISTS intake_request")
        await engine.run_ddl("DROP INDEX IF EXISTS agenda_item_external_ref")
        for column in ("external_source", "external_ref"):
            await engine.run_ddl(f"ALTER TABLE agenda_item DROP COLUMN {column}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
