"""Test databases: a fresh SQLite file, or a fresh schema in the PostgreSQL server's `test` database.

TEST_DATABASE=postgres selects PostgreSQL (TEST_POSTGRES_URL, default 127.0.0.1:5432/test). Outside
CI a missing server skips those tests with the reason; under CI=true it fails the run.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import tempfile
from pathlib import Path
from types import ModuleType

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def backend() -> str:
    return os.environ.get("TEST_DATABASE", "sqlite")


async def postgres_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(POSTGRES_URL), timeout=5)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the reason to report
        return f"PostgreSQL at {POSTGRES_URL} did not answer: {exc!r}"
    await conn.close()
    return None


async def fresh_postgres_schema(schema: str) -> str:
    """Drop and recreate `schema`; the returned URL makes it the search path (asyncpg passes unknown
    DSN parameters to the server as settings)."""
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}search_path={schema}"


def fresh_sqlite_url(name: str) -> str:
    directory = Path(tempfile.mkdtemp(prefix="conference-test-"))
    return f"sqlite:///{directory / name}"


async def fresh_database_url(name: str) -> str:
    if backend() == "postgres":
        return await fresh_postgres_schema(f"ct_{name}_{os.getpid()}")
    return fresh_sqlite_url(f"{name}.sqlite3")


async def drop_postgres_schema(url: str) -> None:
    import asyncpg

    schema = url.rsplit("search_path=", 1)[-1]
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def load_migration(stem: str) -> ModuleType:
    """One migration file as a module (migrations/ is not a package), to run its steps on their own."""
    spec = importlib.util.spec_from_file_location(stem, MIGRATIONS / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def run_raw_steps(stem: str) -> None:
    """The raw (data) steps of one migration forwards, again, on the current database."""
    manager = await load_migration(stem).forwards()
    for raw in manager.raw:
        await raw()
