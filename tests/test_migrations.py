"""Migrations forwards, backwards and forwards again on a fresh database (never the session's)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conference import db
from conference.cli import migrate_backwards, migrate_forwards
from conference.piccolo_app import APP_CONFIG
from conference.registry.tables import Street
from conference.settings import Settings
from tests import dbsetup

EXPECTED = {table._meta.tablename for table in APP_CONFIG.table_classes}


async def table_names(engine: Any) -> set[str]:
    if dbsetup.backend() == "postgres":
        rows = await engine.run_ddl(
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()")
    else:
        rows = await engine.run_ddl("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r["name"] for r in rows}


async def applied(engine: Any) -> list[str]:
    rows = await engine.run_ddl("SELECT name FROM migration WHERE app_name = 'conference' ORDER BY name")
    return [r["name"] for r in rows]


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[Any]:
    """A new, empty database made the current engine; the module's engine is restored afterwards."""
    saved = db.engine()
    schema = f"ct_migrations_{os.getpid()}"
    if dbsetup.backend() == "postgres":
        url = await dbsetup.fresh_postgres_schema(schema)
    else:
        url = dbsetup.fresh_sqlite_url("migrations.sqlite3")
    settings = Settings(database_url=url)
    engine = db.make_engine(settings)
    db.use_engine(engine)
    try:
        await db.start(settings)  # a pool for PostgreSQL; nothing for SQLite
        try:
            yield engine
        finally:
            await db.stop()
    finally:
        db.use_engine(saved)
        if dbsetup.backend() == "postgres":
            import asyncpg

            conn = await asyncpg.connect(dbsetup.POSTGRES_URL)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()


@pytest.fixture
async def fresh_engine(database_url: str) -> AsyncIterator[Any]:
    async with fresh_database() as engine:
        yield engine


async def test_migrations_forwards_backwards_and_forwards_again(database_url, fresh_engine):
    assert await table_names(fresh_engine) & EXPECTED == set()

    await migrate_forwards()
    assert EXPECTED <= await table_names(fresh_engine)
    migrations = await applied(fresh_engine)
    assert migrations, "no migration recorded in the fresh database"
    assert await Street.count() == 0  # the tables now point at the fresh, empty database

    await migrate_forwards()  # again: nothing to do, nothing breaks
    assert await applied(fresh_engine) == migrations

    await migrate_backwards("all")
    assert await table_names(fresh_engine) & EXPECTED == set()
    assert await applied(fresh_engine) == []

    await migrate_forwards()
    assert EXPECTED <= await table_names(fresh_engine)
    assert await applied(fresh_engine) == migrations


async def test_the_module_database_is_untouched_afterwards(database_url, app):
    """Once a fresh database was migrated and let go, the module's engine is back, with its data and
    its migrations."""
    async with fresh_database():
        await migrate_forwards()
        assert await Street.count() == 0
    engine = db.engine()
    assert EXPECTED <= await table_names(engine)
    assert await applied(engine)
    assert await Street.count() > 0
    for table in APP_CONFIG.table_classes:
        assert table._meta.db is engine


FOREIGN_KEYS_MIGRATION = "conference_2026_12_03t09_50_00_000000"


async def row_counts(engine: Any) -> dict[str, int]:
    counts = {}
    for name in sorted(await table_names(engine) - {"migration"}):
        rows = await engine.run_ddl(f'SELECT count(*) AS n FROM "{name}"')
        counts[name] = int(rows[0]["n"])
    return counts


async def indexes(engine: Any) -> set[tuple[str, str]]:
    if dbsetup.backend() == "postgres":
        rows = await engine.run_ddl(
            "SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema()")
    else:
        rows = await engine.run_ddl("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
    return {(r["name"], r["sql"] or "") for r in rows}


async def test_foreign_key_migration_backwards_and_forwards_with_the_demo_data(database_url, fresh_engine):
    """The ON DELETE migration, run backwards and forwards again on a fully migrated database with
    the demo data (so with every column and index the later migrations added: SQLite rebuilds the
    tables from their stored SQL), keeps every row and index; backwards puts CASCADE back. The
    whole chain backwards and forwards is tested on an empty database above."""
    from conference.demo import load_demo
    from tests.test_foreign_keys import database_on_delete, declared_on_delete

    await migrate_forwards()
    await load_demo()
    counts, index_sql = await row_counts(fresh_engine), await indexes(fresh_engine)
    assert counts["audit_event"] > 0 and counts["minutes_publication"] > 0
    declared = declared_on_delete()
    assert {key: (await database_on_delete()).get(key) for key in declared} == declared

    migration = dbsetup.load_migration(FOREIGN_KEYS_MIGRATION)
    await (await migration.forwards()).run(backwards=True)
    actions = await database_on_delete()
    # Backwards restores the keys this migration changed; tables added by later migrations keep
    # the rules they were created with.
    changed = {(table, column) for (_class, table, column) in migration.RULES}
    assert {actions.get(key) for key in declared if key in changed} == {"CASCADE"}
    assert {key: actions.get(key) for key in declared if key not in changed} == {
        key: rule for key, rule in declared.items() if key not in changed}
    assert await row_counts(fresh_engine) == counts
    assert await indexes(fresh_engine) == index_sql

    await (await migration.forwards()).run()
    assert {key: (await database_on_delete()).get(key) for key in declared} == declared
    assert await row_counts(fresh_engine) == counts
    assert await indexes(fresh_engine) == index_sql
    await (await migration.forwards()).run()  # again: nothing left to change, nothing breaks
    assert await row_counts(fresh_engine) == counts
    if dbsetup.backend() == "sqlite":
        assert (await fresh_engine.run_ddl("PRAGMA integrity_check"))[0]["integrity_check"] == "ok"
        assert await fresh_engine.run_ddl("PRAGMA foreign_key_check") == []
