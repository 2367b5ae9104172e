"""Database engine: SQLite file by default (WAL), PostgreSQL with a pool when DATABASE_URL says so."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any, cast

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.querystring import QueryString
from piccolo.table import Table

from conference.settings import Settings, get_settings


def make_engine(settings: Settings) -> Engine:
    if settings.is_postgres:
        return PostgresEngine(config={"dsn": settings.database_url})
    path = settings.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers go on while one writer commits; it is a property of the file, so set it once
    # here. `timeout` is SQLite's busy timeout: a second writer waits instead of failing at once.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    return SQLiteEngine(path=str(path), timeout=30)


def engine() -> Engine:
    from conference import piccolo_conf

    return piccolo_conf.DB


def use_engine(new: Engine) -> None:
    """Point every table (and Piccolo's migrations) at `new`; used by the CLI and tests."""
    from piccolo.apps.migrations.tables import Migration

    from conference import piccolo_conf
    from conference.piccolo_app import APP_CONFIG

    piccolo_conf.DB = new
    # Piccolo's own table of applied migrations caches its engine too: without this, migrations run
    # on the new database would be recorded in the old one.
    tables: list[type[Table]] = [*APP_CONFIG.table_classes, Migration]
    for table in tables:
        table._meta.db = new


def configure(settings: Settings | None = None) -> Engine:
    new = make_engine(settings or get_settings())
    use_engine(new)
    return new


def atomic() -> Any:
    """A write transaction. On SQLite it is IMMEDIATE: it takes the write lock at BEGIN, so a
    read-then-write block cannot deadlock against another writer (it waits on the busy timeout)."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


async def start(settings: Settings | None = None) -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(max_size=(settings or get_settings()).db_pool_size)


async def stop() -> None:
    await close_readers()
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


async def ping() -> bool:
    try:
        rows = await engine().run_ddl("SELECT 1 AS ok")
    except Exception:  # noqa: BLE001 - any failure means "not healthy"; /healthz reports it
        return False
    return bool(rows) and rows[0]["ok"] == 1


# ---------------------------------------------------------------- fast reads
# Piccolo's SQLite engine opens a new connection (and thread) for every query outside a
# transaction: ~2 ms each, measured. Hot read paths go through `fetch`, which on SQLite reuses one
# long-lived connection per event loop (WAL: each statement sees the latest committed data) and
# elsewhere, or inside a transaction, runs through Piccolo as usual.
_readers: dict[tuple[int, str], aiosqlite.Connection] = {}


async def _sqlite_fetch(db: SQLiteEngine, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    key = (id(asyncio.get_running_loop()), db.path)
    conn = _readers.get(key)
    if conn is None:
        conn = await aiosqlite.connect(db.path, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES,
                                       isolation_level=None, timeout=30)
        conn.row_factory = dict_factory  # type: ignore[assignment]  # Piccolo's row factory gives dicts
        _readers[key] = conn
    async with conn.execute(sql.replace("{}", "?"), params) as cursor:
        return cast(list[dict[str, Any]], await cursor.fetchall())


async def fetch(sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows of a read-only statement written with `{}` placeholders (as Piccolo's raw())."""
    db = engine()
    if isinstance(db, SQLiteEngine) and db.current_transaction.get() is None:
        return await _sqlite_fetch(db, sql, params)
    return [dict(row) for row in await db.run_querystring(QueryString(sql, *params))]


async def close_readers() -> None:
    for key, conn in list(_readers.items()):
        if key[0] == id(asyncio.get_running_loop()):
            await conn.close()
            del _readers[key]


def int_list(values: object) -> str:
    """Ids for an SQL `IN (...)` list. Only int()-converted values reach the string, so inlining
    them cannot inject SQL; an empty set becomes 0, which matches no row."""
    return ",".join(str(int(v)) for v in sorted(values)) or "0"  # type: ignore[call-overload]
