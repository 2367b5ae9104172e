"""文号 (issue 13 item 4): one counter row per (conference, year, kind), which the allocator's
INSERT … ON CONFLICT DO NOTHING relies on; and each 文号 printed on minutes only once (the counter
gives each number once; this index is the backstop). Raw SQL, the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T12:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "document_counter unique (conference, year, kind); minutes doc_number unique"
INDEXES = {
    "document_counter_key": 'ON "document_counter" (conference, year, kind)',
    "minutes_doc_number_key": """ON "minutes" (conference, doc_number) WHERE doc_number <> ''""",
}


async def forwards():
    from piccolo.engine.finder import engine_finder

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        for name, target in INDEXES.items():
            await engine_finder().run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} {target}")

    async def drop():
        for name in INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
