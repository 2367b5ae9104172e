"""Database engine: SQLite file by default (WAL), PostgreSQL with a pool when DATABASE_URL says so."""

from __future__ import annotations

import sqlite3
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

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
    from conference import piccolo_conf
    from conference.piccolo_app import APP_CONFIG

    piccolo_conf.DB = new
    for table in APP_CONFIG.table_classes:
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
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


async def ping() -> bool:
    try:
        rows = await engine().run_ddl("SELECT 1 AS ok")
    except Exception:  # noqa: BLE001 - any failure means "not healthy"; /healthz reports it
        return False
    return bool(rows) and rows[0]["ok"] == 1
