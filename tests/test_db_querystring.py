"""Raw reads as Piccolo QueryStrings (conference.db.fetch and its helpers): nested fragments keep
their values bound and in order, id lists give the same rows short or long, empty or not, and
timestamps and dates read by raw SQL come back as the same types on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.querystring import QueryString

from conference import db
from conference.meetings.tables import Meeting
from conference.registry.tables import Conference


async def test_nested_fragments_bind_their_values_in_order(database_url: str) -> None:
    conferences = await Conference.select(Conference.id, Conference.name).order_by(Conference.id)
    first = conferences[0]
    name = QueryString("c.name = {}", first["name"])
    both = db.joined([QueryString("c.id = {}", first["id"]), name, QueryString("{} = c.id", first["id"])], " AND ")
    rows = await db.fetch(QueryString("SELECT c.id, {} AS quoted FROM conference c WHERE {}", "it's {}", both))
    assert rows == [{"id": first["id"], "quoted": "it's {}"}]  # a value is never read as SQL or a placeholder
    assert await db.fetch("SELECT id FROM conference WHERE id = {}", first["id"]) == [{"id": first["id"]}]


async def test_id_lists_match_the_same_rows_short_long_and_empty(database_url: str) -> None:
    every = sorted(r["id"] for r in await Conference.select(Conference.id))
    some = every[:2]

    async def found(ids: list[Any], negate: bool = False) -> list[int]:
        sql = "SELECT id FROM conference WHERE id NOT IN ({}) ORDER BY id" if negate else \
            "SELECT id FROM conference WHERE id IN ({}) ORDER BY id"
        return [r["id"] for r in await db.fetch(sql, db.ids(ids))]

    assert await found(some) == some
    assert await found([str(i) for i in reversed(some)]) == some  # int()-converted, order and repeats ignored
    assert await found([]) == []
    assert await found([], negate=True) == every  # none excludes nothing
    # Past MANY_IDS the list is one parameter (json_each / bigint[]): the same rows.
    long = [*some, *range(10**6, 10**6 + db.MANY_IDS + 10)]
    assert len(db.ids(long).compile_string("sqlite")[1]) == 1
    assert await found(long) == some
    assert await found(long, negate=True) == [i for i in every if i not in some]


async def test_timestamps_and_dates_read_by_raw_sql_are_the_same_types_on_both_databases(database_url: str) -> None:
    row = (await db.fetch("SELECT MIN(starts_at) AS first, MIN(starts_at) AS again FROM meeting"))[0]
    stored = await Meeting.select(Meeting.starts_at).order_by(Meeting.starts_at).first()
    assert stored is not None
    first = db.as_datetime(row["first"])  # SQLite: the text of an aggregate; PostgreSQL: a datetime
    assert isinstance(first, dt.datetime) and first.tzinfo is not None
    assert first == stored["starts_at"]
    assert db.as_date(row["again"]) == first.astimezone(dt.UTC).date()
    assert db.as_datetime(None) is None and db.as_datetime("not a time") is None
    assert db.as_datetime("2026-12-04 08:00:00") == dt.datetime(2026, 12, 4, 8, tzinfo=dt.UTC)  # stored UTC
    assert db.as_date("2026-12-04") == db.as_date(dt.datetime(2026, 12, 4, 23, 0)) == dt.date(2026, 12, 4)
