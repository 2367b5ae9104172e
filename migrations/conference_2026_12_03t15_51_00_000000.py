"""Assessment (issue 12 item 5): one office score per conference, unit and year: a unique index on
assessment_score (created by the previous migration). Raw SQL, the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T15:51:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "assessment_score unique (conference, unit, year)"
NAME = "assessment_score_conference_unit_year"


async def forwards():
    from piccolo.engine.finder import engine_finder

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        await engine_finder().run_ddl(f'CREATE UNIQUE INDEX IF NOT EXISTS {NAME} ON "assessment_score" (conference, unit, year)')

    async def drop():
        await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {NAME}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
