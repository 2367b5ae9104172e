"""Database engine: SQLite file by default (WAL), PostgreSQL with a pool when DATABASE_URL says so."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, cast

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString
from piccolo.table import Table

from conference.errors import Busy
from conference.settings import Settings, get_settings
from conference.sqlcompile import SQL, compiled


def make_engine(settings: Settings) -> Engine:
    if settings.is_postgres:
        return PostgresEngine(config={"dsn": settings.database_url})
    path = settings.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers go on while one writer commits (a property of the file: set once, here);
    # `timeout`: a second writer waits instead of failing at once. ANALYZE: without statistics the
    # overdue list took 0.3-1.3 s on 500,000 tasks; analysis_limit keeps it to milliseconds.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA analysis_limit=1000")
        conn.execute("ANALYZE")
    return ReadReusingSQLiteEngine(path=str(path), timeout=30)


# ---------------------------------------------------------------- SQLite reads on kept connections
# Piccolo's SQLiteEngine opens a new connection (and an aiosqlite thread) for every statement run
# outside a transaction: ~1-2 ms each, most of a list page's time. This engine runs reads (SELECT
# and WITH statements) outside transactions on a few long-lived connections instead; writes and
# transactions go through Piccolo as before (a new connection each, the write queue below).
#
# Fresh data: the connections are in autocommit mode and each statement runs to its end
# (fetchall, then the cursor is closed) in one call on the connection's own thread, so its WAL
# snapshot begins with the statement and ends with it; a statement started after a commit on any
# other connection sees that commit. No two statements ever interleave on one connection.
# Safety: the connections are `PRAGMA query_only`; a statement classified as a read that writes
# after all (WITH ... INSERT) fails there without effect and runs again on a new connection.
#
# A read first runs inline, on a connection of the event loop's thread: most reads of a page take
# microseconds, less than handing them to a thread costs. SQLite's progress handler stops an inline
# read that passes INLINE_SECONDS (nothing was written; the loop is not held up longer), and it
# runs again on a reader thread, where long reads run side by side with the loop.
READ_CONNECTIONS = 2  # SQLite releases the GIL while it steps: two readers use both cores
INLINE_SECONDS = 0.002
_INLINE_STEPS = 1000  # the progress handler looks at the clock every this many SQLite VM steps


class _Inline(threading.local):
    conn: sqlite3.Connection | None = None
    deadline = 0.0


def _open_reader(connect_kwargs: dict[str, Any]) -> sqlite3.Connection:
    conn = sqlite3.connect(**connect_kwargs, check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _fetch_all(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, args)
    try:
        names = [column[0] for column in cursor.description or ()]  # rows as tuples (made in C), then dicts
        return [dict(zip(names, row)) for row in cursor.fetchall()]  # noqa: B905 - a value per column
    finally:
        cursor.close()  # the statement is reset: its read snapshot ends here


class _Reader:
    """One query_only connection and the single thread every call on it runs on."""

    def __init__(self, connect_kwargs: dict[str, Any]) -> None:
        self.connect_kwargs = connect_kwargs
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-read")
        self.conn: sqlite3.Connection | None = None
        self.busy = 0

    def _run(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        if self.conn is None:
            self.conn = _open_reader(self.connect_kwargs)
        return _fetch_all(self.conn, sql, args)

    async def run(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._run, sql, args)

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def close(self) -> None:
        """Closed when this returns (a file copy or a change of journal mode may follow at once)."""
        self.thread.submit(self._close)
        self.thread.shutdown(wait=True)


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper().startswith(("SELECT", "WITH"))


class ReadReusingSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with reads outside transactions on kept connections (see above)."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self._readers: list[_Reader] = []
        self._readers_pid = os.getpid()
        self._readers_lock = threading.Lock()
        self._inline = _Inline()
        self._inline_all: list[sqlite3.Connection] = []

    def _reader(self) -> _Reader:
        with self._readers_lock:
            if self._readers_pid != os.getpid():  # a forked child does not inherit the threads
                self._readers, self._readers_pid = [], os.getpid()
            idle = min(self._readers, key=lambda r: r.busy, default=None)
            if idle is None or (idle.busy and len(self._readers) < READ_CONNECTIONS):
                idle = _Reader(self.connection_kwargs)
                self._readers.append(idle)
            idle.busy += 1
            return idle

    def _read_inline(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]] | None:
        """The rows, or None when the read took too long and was stopped."""
        inline = self._inline
        if inline.conn is None:
            inline.conn = _open_reader(self.connection_kwargs)

            def too_long() -> int:
                return int(time.perf_counter() > inline.deadline)

            inline.conn.set_progress_handler(too_long, _INLINE_STEPS)
            # Nor does it wait for a lock (a WAL reader rarely meets one): the reader threads do.
            inline.conn.execute("PRAGMA busy_timeout = 0")
            with self._readers_lock:
                self._inline_all.append(inline.conn)
        inline.deadline = time.perf_counter() + INLINE_SECONDS
        try:
            return _fetch_all(inline.conn, sql, args)
        except sqlite3.OperationalError as error:
            if str(error) in ("interrupted", "database is locked"):
                return None
            raise

    async def read(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        """Rows of a read-only statement (`?` placeholders) on a kept connection."""
        rows = self._read_inline(sql, args)
        if rows is not None:
            return rows
        reader = self._reader()
        try:
            return await reader.run(sql, args)
        finally:
            with self._readers_lock:
                reader.busy -= 1

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None, query_type: str = "generic",
                                     table: type[Table] | None = None) -> Any:
        if query_type == "generic" and _is_read(query):
            try:
                return await self.read(query, args or [])
            except sqlite3.OperationalError as error:
                if "readonly" not in str(error):
                    raise
        return await super()._run_in_new_connection(query, args, query_type, table)

    def close_readers(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
            inline, self._inline_all = self._inline_all, []
            self._inline = _Inline()
        for conn in inline:
            conn.close()
        for reader in readers:
            reader.close()


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


def use_engine(new: Engine, *, close_previous: bool = True) -> None:
    """Point every table (and Piccolo's migrations) at `new`; used by the CLI and tests. The replaced
    engine closes its kept read connections, unless close_previous=False (the pages bench's turns)."""
    global _engine
    if close_previous and isinstance(_engine, ReadReusingSQLiteEngine) and _engine is not new:
        _engine.close_readers()
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


# ---------------------------------------------------------------- raw reads
# A raw read is a QueryString: SQL text with `{}` placeholders, one value for each, a value maybe a
# fragment (reports are composed of such); every value is bound by the driver. `fetch` runs it like
# any ORM query (SQLite: reads outside a transaction on the kept connections; PostgreSQL: the pool),
# compiled by conference.sqlcompile (Piccolo's SQL and values, a shorter walk).
async def fetch(query: QueryString | str, *params: Any) -> list[dict[str, Any]]:
    """Rows of a read-only statement: a QueryString, or a constant template with `{}` placeholders
    and its values (the same thing written as SQL(template, *params)). SQLite's rows come as new
    dicts (_fetch_all), asyncpg's as Records."""
    if isinstance(query, str):
        query = SQL(query, *params)
    elif params:
        raise TypeError("fetch: a QueryString carries its own values")
    rows = await engine().run_querystring(compiled(query))
    return cast(list[dict[str, Any]], rows) if not rows or type(rows[0]) is dict else [dict(row) for row in rows]


def joined(parts: Iterable[QueryString], separator: str = ", ") -> QueryString:
    """Fragments one after the other, `separator` (constant SQL such as " AND ") between them."""
    items = list(parts)
    return SQL(separator.join(["{}"] * len(items)), *items)


def listed(values: Iterable[Any]) -> QueryString:
    """Values for an SQL `IN ({})` list (at least one), each one bound."""
    items = list(values)
    return SQL(", ".join(["{}"] * len(items)), *items)


# Up to this many ids are bound one by one (`IN (?, ?, ...)`, what the planners serve best); a
# longer list (an audit export names thousands of records) is one parameter, so no list reaches the
# drivers' limits on parameters per statement (32,766 SQLite, 32,767 PostgreSQL).
MANY_IDS = 500


def ids(values: Iterable[Any]) -> QueryString:
    """Ids for an SQL `IN ({})` list, each one int()-converted and bound. An empty set is the id 0,
    which matches no row (so `NOT IN` keeps every row, as it would for an empty list). A long list
    is one bound value: a JSON array read by json_each on SQLite, a bigint[] on PostgreSQL; the same
    rows either way."""
    found = sorted({int(v) for v in values}) or [0]
    if len(found) <= MANY_IDS:
        return listed(found)
    if isinstance(engine(), PostgresEngine):
        return SQL("SELECT unnest({}::bigint[])", found)
    return SQL("SELECT value FROM json_each({})", json.dumps(found))


def identifier(name: str) -> QueryString:
    """A table, column or schema name as a quoted SQL identifier: the one place where a name, not a
    value, enters SQL text. Only for names the program itself holds (an outbox's table and columns,
    constants of its sender; a table listed by the database's own catalog and the schema of the
    configured DATABASE_URL, for backups), never for input: quoted, with any `"` doubled, a name can
    only ever name something (or fail to), never end the identifier and add SQL."""
    quoted = '"' + name.replace('"', '""') + '"'
    return SQL(quoted.replace("{", "{{").replace("}", "}}"))  # braces: literal, not placeholders


def as_datetime(value: Any) -> dt.datetime | None:
    """A timestamp read by raw SQL, as an aware datetime on both databases. PostgreSQL (and SQLite
    for a column declared TIMESTAMPTZ) gives a datetime; SQLite gives the stored text for anything
    computed (MIN(), a UNION ALL column, COALESCE). Text without an offset is UTC, as stored.
    None, or text that is not a timestamp, is None."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        try:
            value = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def as_date(value: Any) -> dt.date:
    """A date read by raw SQL: PostgreSQL gives a date, SQLite a date for a column declared DATE
    and the text otherwise (a computed or UNION ALL column); a timestamp gives its date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


async def close_readers() -> None:
    if isinstance(db := engine(), ReadReusingSQLiteEngine):
        db.close_readers()

