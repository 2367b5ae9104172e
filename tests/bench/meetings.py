"""Meeting list and calendar throughput with 5,000 meetings and 50,000 agenda items, against a bare
Litestar page that runs the same SQL with plain sqlite3 and renders the same rows with Jinja."""

from __future__ import annotations

import datetime as dt
import logging
import random
import sqlite3
import statistics
import uuid
from pathlib import Path
from typing import Any

from jinja2 import Environment
from litestar import Litestar, MediaType, Response, get

from tests.bench.common import client, fresh_database, login, report
from tests.bench.pages import paired_rounds, round_ratio

MEETINGS = 5_000
ITEMS = 50_000
INVITES_PER_MEETING = 10


def populate(path: Path) -> None:
    """Bulk rows straight through sqlite3: the benchmark measures reading, not loading."""
    rnd = random.Random(7)
    conn = sqlite3.connect(path)
    conferences = [r[0] for r in conn.execute("SELECT id FROM conference")]
    units = [r[0] for r in conn.execute("SELECT id FROM member_unit")]
    streets = [r[0] for r in conn.execute("SELECT id FROM street")]
    start = dt.datetime(2020, 1, 1, 1, 0, tzinfo=dt.UTC)
    # Invitations and items go to the benchmark's own meetings (the demo's already invite units).
    first_new = conn.execute("SELECT COALESCE(MAX(id), 0) FROM meeting").fetchone()[0] + 1
    meetings = []
    for i in range(MEETINGS):
        at = start + dt.timedelta(hours=9 * i)
        meetings.append((rnd.choice(conferences), rnd.choice(["plenary", "special"]), f"压测会议{i}", str(at),
                         str(at + dt.timedelta(hours=2)), "会议室", rnd.choice(["draft", "notified", "held", "cancelled"]),
                         f"{uuid.uuid4()}@bench", 0, "", "", 1, str(start)))
    conn.executemany(
        "INSERT INTO meeting (conference, kind, title, starts_at, ends_at, location, status, uid, sequence, notes,"
        " cancel_reason, version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", meetings)
    meeting_ids = [r[0] for r in conn.execute("SELECT id FROM meeting WHERE id >= ?", (first_new,))]
    conn.executemany(
        "INSERT INTO invitation (meeting, unit, role, token_hash, token_revoked, reply, attendee_name, attendee_title,"
        " leave_reason, attendance, notified_sequence, version) VALUES (?,?,?,?,0,?,'','','',?,0,1)",
        [(m, u, "member", uuid.uuid4().hex, rnd.choice(["pending", "attending"]), rnd.choice(["", "present"]))
         for m in meeting_ids for u in rnd.sample(units, INVITES_PER_MEETING)])
    conn.executemany(
        "INSERT INTO agenda_item (conference, street, title, description, category, urgency, status, return_reason,"
        " meeting, position, meetings_waited, submitted_at, version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1,?)",
        [(rnd.choice(conferences), rnd.choice(streets), f"压测议题{i}", "说明", "other", "normal", "scheduled", "",
          meeting_ids[i % len(meeting_ids)], i // len(meeting_ids) + 1, 0, str(start), str(start)) for i in range(ITEMS)])
    conn.commit()
    conn.close()


BARE_TEMPLATE = Environment(autoescape=True).from_string(
    "<table>{% for m in rows %}<tr><td>{{ m.starts_at }}</td><td><a href='/meetings/{{ m.id }}'>{{ m.title }}</a></td>"
    "<td>{{ m.conference_name }}</td><td>{{ m.kind }}</td><td>{{ m.status }}</td><td>{{ m['items'] }}</td>"
    "<td>{{ m.replied }}/{{ m.invited }}</td></tr>{% endfor %}</table><p>{{ total }}</p>")


Statement = tuple[str, tuple[Any, ...]]


def bare_app(path: Path, list_sql: Statement, count_sql: Statement, calendar_sql: Statement) -> Litestar:
    """The baseline: one connection, the same SQL, the same rows rendered, no ORM, no auth."""
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.row_factory = sqlite3.Row

    @get("/bare/meetings", media_type=MediaType.HTML)
    async def bare_list() -> Response[str]:
        rows = [dict(r) for r in conn.execute(*list_sql)]
        total = conn.execute(*count_sql).fetchone()[0]
        return Response(BARE_TEMPLATE.render(rows=rows, total=total), media_type=MediaType.HTML)

    @get("/bare/calendar", media_type=MediaType.HTML)
    async def bare_calendar() -> Response[str]:
        rows = [dict(r) for r in conn.execute(*calendar_sql)]
        return Response(BARE_TEMPLATE.render(rows=rows, total=len(rows)), media_type=MediaType.HTML)

    return Litestar([bare_list, bare_calendar])


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    path = await fresh_database()
    populate(path)
    from conference import db
    from conference.app import create_app, settle_memory
    from conference.db import ReadReusingSQLiteEngine
    from conference.meetings import views

    await db.start()
    app = create_app()
    settle_memory()  # what the server's lifespan does after db.start (the bench runs no lifespan)
    http = client(app)
    await login(http, "admin")
    # The same statements the app runs, with their parameters, captured from the engine (every read
    # passes its `read`, as in pages.capture); the parameters go to sqlite3 through the adapters
    # Piccolo registered, as the app's do.
    captured: list[Statement] = []
    original = ReadReusingSQLiteEngine.read

    async def recording(self: Any, sql: str, args: Any) -> Any:
        captured.append((sql, tuple(args)))
        return await original(self, sql, args)

    ReadReusingSQLiteEngine.read = recording  # type: ignore[method-assign]
    from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
    from conference.accounts.tables import User

    admin_row = await User.select(*ACTOR_COLUMNS).where(User.username == "admin").first()
    assert admin_row is not None
    admin = actor_from_row(admin_row)
    await views.meeting_rows(admin, views.MeetingFilter(), order="m.starts_at DESC", limit=20, offset=0)
    month_start = dt.date(2024, 6, 1)
    await views.meeting_rows(admin, views.MeetingFilter(start=month_start - dt.timedelta(days=5),
                                                        end=month_start + dt.timedelta(days=35)), order="m.starts_at ASC")
    ReadReusingSQLiteEngine.read = original  # type: ignore[method-assign]
    # meeting_rows' statements: the page with its count, then the calendar's month (no count).
    list_sql, calendar_sql = [s for s in captured if "WITH page AS" in s[0]]
    (count_sql,) = [s for s in captured if s[0].lstrip().startswith("SELECT COUNT(*) AS n FROM")]
    bare = client(bare_app(path, list_sql, count_sql, calendar_sql))

    async def app_list() -> None:
        assert (await http.get("/meetings")).status_code == 200

    async def bare_list() -> None:
        assert (await bare.get("/bare/meetings")).status_code == 200

    async def app_calendar() -> None:
        assert (await http.get("/meetings/calendar?date=2024-06-01")).status_code == 200

    async def bare_calendar() -> None:
        assert (await bare.get("/bare/calendar")).status_code == 200

    # In alternating turns, per CPU second of this process (see pages.paired: the machine is shared).
    rows = []
    for name, app_call, bare_call in (("/meetings (20 of 5,000)", app_list, bare_list),
                                      ("/meetings/calendar (a month)", app_calendar, bare_calendar)):
        app_rounds, bare_rounds = await paired_rounds((None, app_call), (None, bare_call))
        rows.append((name, statistics.median(app_rounds), statistics.median(bare_rounds), round_ratio(app_rounds, bare_rounds)))
    report(f"meetings: {MEETINGS:,} meetings, {ITEMS:,} agenda items, SQLite (requests per CPU second)", rows)
    await http.aclose()
    await bare.aclose()
    await db.stop()
