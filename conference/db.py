"""Database engine: SQLite file by default (WAL), PostgreSQL with a pool when DATABASE_URL says so."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.querystring import QueryString
from piccolo.table import Table

from conference.errors import Busy
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


# The engine every table uses. Piccolo finds it as `conference.piccolo_conf.DB`, which reads it from
# here (piccolo_conf depends on this module, not the reverse); made on first use from the settings.
_engine: Engine | None = None


def engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = make_engine(get_settings())
    return _engine


def _table_classes(base: type[Table] = Table) -> list[type[Table]]:
    found: list[type[Table]] = []
    for sub in base.__subclasses__():
        found += [sub, *_table_classes(sub)]
    return found


def use_engine(new: Engine) -> None:
    """Point every table (and Piccolo's migrations) at `new`; used by the CLI and tests."""
    global _engine
    _engine = new
    # A table caches its engine on first use, and so does Piccolo's own table of applied migrations:
    # without this, migrations run on the new database would be recorded in the old one. Tables
    # (and tables not used yet) ask piccolo_conf, which answers with the new engine.
    for table in _table_classes():
        table._meta.db = new


def configure(settings: Settings | None = None) -> Engine:
    new = make_engine(settings or get_settings())
    use_engine(new)
    return new


# How long a write waits for its turn in this process before the user is told to try again.
WRITE_QUEUE_SECONDS = 20.0

# SQLite has one writer. Left to SQLite's busy handler, waiting writers poll with growing sleeps
# and a late one can overtake an early one: measured with 32 concurrent writers, a median of 0.3 s
# but a worst case of 17-31 s and "database is locked" after the busy timeout. Write transactions
# of one process therefore queue on an asyncio.Lock (FIFO: waiters are woken in arrival order) and
# only the one at the head asks SQLite for the write lock. One lock per event loop and file.
_write_queues: dict[tuple[int, str], asyncio.Lock] = {}


def _write_queue(db: SQLiteEngine) -> asyncio.Lock:
    key = (id(asyncio.get_running_loop()), db.path)
    lock = _write_queues.get(key)
    if lock is None:
        lock = _write_queues[key] = asyncio.Lock()
    return lock


@asynccontextmanager
async def atomic(lock: type[Table] | None = None, row_id: int | None = None) -> AsyncIterator[Any]:
    """A write transaction; `atomic(Meeting, 7)` also locks meeting 7 for its duration.

    Check-then-write rules ("not yet notified", "the next number", "only once") read a row and write
    depending on what they read. On SQLite the transaction is IMMEDIATE (the write lock is taken at
    BEGIN), so such blocks run one at a time. PostgreSQL runs them side by side under READ
    COMMITTED: the lock (`SELECT ... FOR UPDATE` on the row the action is about) makes a second
    request for the same record wait until the first commits, and then read what the first wrote.
    A nested call joins the outer transaction (whose lock, on PostgreSQL, is taken too)."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        if db.current_transaction.get() is not None:
            yield db.current_transaction.get()
            return
        queue = _write_queue(db)
        try:
            await asyncio.wait_for(queue.acquire(), WRITE_QUEUE_SECONDS)
        except TimeoutError:
            raise Busy() from None
        try:
            async with db.transaction(transaction_type=TransactionType.immediate) as tx:
                yield tx
        finally:
            queue.release()
        return
    async with db.transaction() as tx:
        if lock is not None:
            await lock_row(lock, row_id)
        yield tx


async def lock_row(table: type[Table], row_id: int | None) -> None:
    """Lock one row until the current transaction ends (PostgreSQL; SQLite's IMMEDIATE transaction
    already excludes every other writer)."""
    db = engine()
    if isinstance(db, PostgresEngine) and row_id is not None:
        pk = table._meta.primary_key
        await table.select(pk).where(pk == int(row_id)).lock_rows()


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
        # Foreign keys are per connection in SQLite; on as in every connection Piccolo opens, in case
        # anything ever writes through here (RESTRICT / SET NULL mean nothing without it).
        await conn.execute("PRAGMA foreign_keys = 1")
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
