"""The SQLite engine's kept read connections (conference.db.ReadReusingSQLiteEngine): reads see every
commit made before they start, on any connection; many reads at once are answered correctly; a read
that writes after all still writes (on a new connection); transactions read their own writes."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from conference import db
from conference.registry.tables import Conference
from tests import dbsetup

pytestmark = pytest.mark.skipif(dbsetup.backend() != "sqlite", reason="the kept read connections are SQLite's")


async def test_reads_run_on_kept_connections_and_see_each_commit_at_once(database_url: str) -> None:
    engine = db.engine()
    assert isinstance(engine, db.ReadReusingSQLiteEngine)
    first = await Conference.select(Conference.id, Conference.name).order_by(Conference.id).first()
    assert first is not None
    # The connections kept for reads: the event loop thread's own (inline reads), and the reader
    # threads' (a read too long for inline; whether one ran yet depends on the machine's speed).
    kept = set(engine._inline_all) | {r.conn for r in engine._readers}
    assert kept and None not in kept
    for n in range(5):
        # A commit on a connection of its own (another process would do the same) ...
        with sqlite3.connect(engine.path) as other:
            other.execute("UPDATE conference SET name = ? WHERE id = ?", (f"改名{n}", first["id"]))
        # ... is seen by the very next read, through the ORM and through fetch.
        row = await Conference.select(Conference.name).where(Conference.id == first["id"]).first()
        assert row == {"name": f"改名{n}"}
        assert await db.fetch("SELECT name FROM conference WHERE id = {}", first["id"]) == [{"name": f"改名{n}"}]
    # The same connections were kept, none opened per statement.
    assert set(engine._inline_all) | {r.conn for r in engine._readers} >= kept
    assert len(engine._inline_all) == 1 and len(engine._readers) <= db.READ_CONNECTIONS
    await Conference.update({Conference.name: first["name"]}).where(Conference.id == first["id"])


async def test_many_reads_at_once_each_get_their_own_rows(database_url: str) -> None:
    ids = [row["id"] for row in await Conference.select(Conference.id)]
    answers = await asyncio.gather(*(
        db.fetch("SELECT id, {} AS asked FROM conference WHERE id = {}", n, ids[n % len(ids)]) for n in range(200)))
    assert [a[0]["asked"] for a in answers] == list(range(200))
    assert [a[0]["id"] for a in answers] == [ids[n % len(ids)] for n in range(200)]


async def test_a_long_read_is_stopped_inline_and_answered_from_a_reader_thread(database_url: str) -> None:
    engine = db.engine()
    assert isinstance(engine, db.ReadReusingSQLiteEngine)
    long_read = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000)"
                 " SELECT COUNT(*) AS c, SUM(i) AS s FROM n")
    assert engine._read_inline(long_read, []) is None  # stopped after INLINE_SECONDS
    assert await db.fetch(long_read) == [{"c": 2_000_000, "s": 2_000_000 * 2_000_001 // 2}]
    assert engine._read_inline("SELECT 1 AS one", []) == [{"one": 1}]  # the inline connection goes on


async def test_a_write_in_read_clothing_still_writes_and_transactions_see_their_own_writes(database_url: str) -> None:
    engine = db.engine()
    first = await Conference.select(Conference.id, Conference.name).order_by(Conference.id).first()
    assert first is not None
    await engine.run_ddl(f"WITH x AS (SELECT 1) UPDATE conference SET name = '写入' WHERE id = {int(first['id'])}")
    assert await db.fetch("SELECT name FROM conference WHERE id = {}", first["id"]) == [{"name": "写入"}]
    async with db.atomic():
        await Conference.update({Conference.name: "事务内"}).where(Conference.id == first["id"])
        inside = await Conference.select(Conference.name).where(Conference.id == first["id"]).first()
        assert inside == {"name": "事务内"}
        # Outside the transaction (the kept connections) the change is not visible before the commit.
        outside = await asyncio.create_task(_name_outside(first["id"]))
        assert outside == "写入"
    assert await db.fetch("SELECT name FROM conference WHERE id = {}", first["id"]) == [{"name": "事务内"}]
    await Conference.update({Conference.name: first["name"]}).where(Conference.id == first["id"])


async def _name_outside(conference_id: int) -> str:
    engine = db.engine()
    assert isinstance(engine, db.ReadReusingSQLiteEngine)
    engine.current_transaction.set(None)  # this task's copy of the context only
    rows = await db.fetch("SELECT name FROM conference WHERE id = {}", conference_id)
    return str(rows[0]["name"])
