"""Test databases: a fresh SQLite file, or a fresh schema in the PostgreSQL server's `test` database;
and the suite's template with the demo data, of which each test module gets a copy of its own.

TEST_DATABASE=postgres selects PostgreSQL (TEST_POSTGRES_URL, default 127.0.0.1:5432/test). Outside
CI a missing server skips those tests with the reason; under CI=true it fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit, urlunsplit

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


# ---------------------------------------------------------------- the template and its copies
# The suite migrates and loads the demo data once, into the template; each test module that uses
# the database works on a copy of its own, dropped after the module. SQLite: the template's WAL is
# folded into the file (journal_mode=DELETE) and the file copied. PostgreSQL: a database of its own
# per copy, CREATE DATABASE ... TEMPLATE (the default WAL_LOG strategy: measured 0.3 s here, where
# FILE_COPY's checkpoints take 1.5-7 s on a busy machine).


def postgres_database_url(name: str) -> str:
    """TEST_POSTGRES_URL with another database name (same server, user and parameters)."""
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def _admin(*statements: str) -> None:
    """Statements on the server's `test` database (CREATE/DROP DATABASE cannot run in the database itself)."""
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _identifier(name: str) -> str:
    """A PostgreSQL database name from test names: lower case, [a-z0-9_], at most 63 bytes."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:63]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _drop_leftovers() -> None:
    """Databases of test runs on this machine that were killed before they could drop them."""
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        names = [r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'ct\\_%'")]
    finally:
        await conn.close()
    for name in names:
        found = re.fullmatch(r"ct_(?:template_)?(\d+)(?:_.*)?", name)
        if found and int(found.group(1)) != os.getpid() and not _alive(int(found.group(1))):
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def fresh_template_url() -> str:
    """An empty database to become the template (migrated and loaded by the caller)."""
    if backend() == "postgres":
        await _drop_leftovers()
        name = _identifier(f"ct_template_{os.getpid()}")
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        return postgres_database_url(name)
    return fresh_sqlite_url("template.sqlite3")


def seal_template(url: str) -> None:
    """Once the template is loaded and its engine stopped: on SQLite, fold the WAL into the file so
    that a plain file copy holds everything (the copies turn WAL on again when opened)."""
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        assert mode == "delete", f"the template is still in use ({mode}): {url}"


async def copy_database(template_url: str, name: str) -> str:
    """A copy of the template named after `name` (a test module): its URL."""
    if template_url.startswith("sqlite:///"):
        return copy_sqlite(template_url, name)
    target = _identifier(f"ct_{os.getpid()}_{name}")
    source = _database_name(template_url)
    await _admin(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)', f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    return postgres_database_url(target)


def copy_sqlite(template_url: str, name: str) -> str:
    directory = Path(tempfile.mkdtemp(prefix="conference-test-"))
    target = directory / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.sqlite3"
    shutil.copyfile(template_url.removeprefix("sqlite:///"), target)
    return f"sqlite:///{target}"


def remove_sqlite(url: str) -> None:
    """A SQLite copy or template goes with the temporary folder made for it (WAL and outbox/ too)."""
    shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)


async def drop_database(url: str) -> None:
    """Remove a copy or the template (its engine stopped first)."""
    if url.startswith("sqlite:///"):
        remove_sqlite(url)
    else:
        await _admin(f'DROP DATABASE IF EXISTS "{_database_name(url)}" WITH (FORCE)')


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
