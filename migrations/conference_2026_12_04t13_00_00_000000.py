"""Outbound integrations (issue 15 items 3, 4): integration_target (signed webhooks and WeCom /
DingTalk group robots registered by an office for its conference), integration_event (the outbox:
one row per event, written in the transaction of the change) and integration_delivery (one row per
target and event, unique, claimed by the sender). Raw SQL, one statement list per dialect."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "integration_target, integration_event, integration_delivery"


def statements(postgres: bool) -> list[str]:
    serial = "SERIAL PRIMARY KEY" if postgres else "INTEGER PRIMARY KEY"
    return [
        f"""CREATE TABLE integration_target (
            id {serial},
            conference INTEGER NOT NULL REFERENCES conference (id) ON DELETE CASCADE,
            unit INTEGER NULL REFERENCES member_unit (id) ON DELETE SET NULL,
            kind VARCHAR(12) NOT NULL DEFAULT 'webhook',
            name VARCHAR(60) NOT NULL DEFAULT '',
            url VARCHAR(500) NOT NULL DEFAULT '',
            secret VARCHAR(100) NOT NULL DEFAULT '',
            events JSON NOT NULL DEFAULT '[]',
            active BOOLEAN NOT NULL DEFAULT true,
            created_at TIMESTAMPTZ NOT NULL,
            version INTEGER NOT NULL DEFAULT 1)""",
        "CREATE INDEX integration_target_conference ON integration_target (conference)",
        f"""CREATE TABLE integration_event (
            id {serial},
            type VARCHAR(40) NOT NULL,
            conference INTEGER NULL REFERENCES conference (id) ON DELETE CASCADE,
            entity VARCHAR(40) NOT NULL DEFAULT '',
            entity_id INTEGER NULL,
            occurred_at TIMESTAMPTZ NOT NULL,
            payload JSON NOT NULL DEFAULT '{{}}')""",
        f"""CREATE TABLE integration_delivery (
            id {serial},
            target INTEGER NOT NULL REFERENCES integration_target (id) ON DELETE CASCADE,
            event INTEGER NOT NULL REFERENCES integration_event (id) ON DELETE CASCADE,
            body TEXT NOT NULL DEFAULT '',
            status VARCHAR(12) NOT NULL DEFAULT 'queued',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMPTZ NULL,
            failing_since TIMESTAMPTZ NULL,
            last_error TEXT NOT NULL DEFAULT '',
            response_status INTEGER NULL,
            created_at TIMESTAMPTZ NOT NULL,
            delivered_at TIMESTAMPTZ NULL)""",
        # Exactly one delivery per target and event, however many processes write or send.
        "CREATE UNIQUE INDEX integration_delivery_target_event ON integration_delivery (target, event)",
        "CREATE INDEX integration_delivery_due ON integration_delivery (status, next_attempt_at)",
        "CREATE INDEX integration_delivery_event ON integration_delivery (event)",
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
        for table in ("integration_delivery", "integration_event", "integration_target"):
            await engine.run_ddl(f"DROP TABLE IF EXISTS {table}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
