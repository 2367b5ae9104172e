"""Supervision dashboard throughput with 500,000 tasks, against a bare Litestar page that runs
today's SQL over `task` (the statements of conference.supervision.views and .alerts with
from_rollup=False, as the dashboard ran them before the rollup) with plain sqlite3 and renders the same
table with Jinja, in the same run; and against a bare page running the dashboard's own statements
(the rollup's). Also prints the number of queries per dashboard page and the time of each statement.
The tasks are loaded like any bulk load: indexes and the rollup's triggers dropped, rows inserted,
indexes built and the rollup back-filled (the migration's statements), triggers created again.

BENCH_WITHOUT_SUPERVISION_INDEXES=1 leaves out the covering indexes of the supervision migration,
to see what they bring."""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import shutil
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from jinja2 import Environment
from litestar import Litestar, MediaType, Response, get

from tests.bench.common import client, fresh_database, login, report, throughput

ROLLUP_MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "conference_2026_12_05t03_00_00_000000.py"


def rollup_migration() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("rollup_migration", ROLLUP_MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the dataclasses of a module loaded from a path look themselves up there
    spec.loader.exec_module(module)
    return module

TASKS = 500_000
ITEMS = 5_000
YEARS = 6  # tasks assigned over the last six years, so the current year holds about a sixth of them
UTC = dt.UTC


def populate(path: Path, today: dt.date, tz: Any) -> None:
    """Bulk rows straight through sqlite3: the benchmark measures reading, not loading."""
    rnd = random.Random(11)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conferences = [r[0] for r in conn.execute("SELECT id FROM conference")]
    units = [r[0] for r in conn.execute("SELECT id FROM member_unit")]
    streets = [r[0] for r in conn.execute("SELECT id FROM street")]
    created = str(dt.datetime(2020, 1, 1, tzinfo=UTC))
    conn.executemany(
        "INSERT INTO meeting (conference, kind, title, starts_at, ends_at, location, status, uid, sequence, notes,"
        " cancel_reason, version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(c, "plenary", f"压测会议{c}", created, created, "会议室", "held", f"{uuid.uuid4()}@bench", 0, "", "", 1, created)
         for c in conferences])
    meeting_of = {c: m for m, c in conn.execute("SELECT id, conference FROM meeting WHERE title LIKE '压测会议%'")}
    items = []
    for i in range(ITEMS):
        conf = rnd.choice(conferences)
        items.append((conf, rnd.choice(streets) if i % 10 else None, f"压测议题{i}", "说明", "other", "normal", "resolved", "",
                      None, 0, 0, created, 1, created))
    conn.executemany(
        "INSERT INTO agenda_item (conference, street, title, description, category, urgency, status, return_reason,"
        " meeting, position, meetings_waited, submitted_at, version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", items)
    item_rows = list(conn.execute("SELECT id, conference, street FROM agenda_item WHERE title LIKE '压测议题%'"))
    conn.executemany(
        "INSERT INTO resolution (meeting, item, conference, number, text, lead_unit, deadline, deadline_workdays,"
        " adopted_by, adopted_at, version) VALUES (?,?,?,?,?,?,?,NULL,NULL,?,1)",  # numbers unique per meeting
        [(meeting_of[conf], item, conf, n, f"压测议定事项{item}", rnd.choice(units), "2024-06-30", created)
         for n, (item, conf, _street) in enumerate(item_rows, start=1)])
    resolutions = list(conn.execute(
        "SELECT r.id, r.conference, a.street FROM resolution r JOIN agenda_item a ON a.id = r.item WHERE r.text LIKE '压测%'"))
    first = dt.datetime.combine(today.replace(year=today.year - YEARS + 1, month=1, day=1), dt.time(), tz).astimezone(UTC)
    span = (dt.datetime.now(UTC) - first).total_seconds()
    open_states = ("acknowledged", "in_progress", "reported_done", "returned")
    ratings = ("satisfied",) * 12 + ("basically_satisfied",) * 5 + ("dissatisfied",) * 3
    horizon = today - dt.timedelta(days=30)

    def rows() -> Any:
        for _i in range(TASKS):
            resolution, conf, street = rnd.choice(resolutions)
            assigned = first + dt.timedelta(seconds=rnd.random() * span)
            day = assigned.astimezone(tz).date()
            ack_due = day + dt.timedelta(days=2 + rnd.random() * 2)
            deadline = day + dt.timedelta(days=10 + int(rnd.random() * 80))
            acknowledged = closed = rated = None
            rating, status = "", "assigned"
            if rnd.random() < 0.92:
                acknowledged = assigned + dt.timedelta(hours=rnd.random() * 100)
                status = rnd.choice(open_states)
            if deadline < horizon and acknowledged is not None and rnd.random() < 0.88:
                status = "closed"
                closed = assigned + dt.timedelta(days=rnd.random() * ((deadline - day).days + 20))
                if rnd.random() < 0.8:
                    rating = rnd.choice(ratings)
                    rated = closed + dt.timedelta(days=1 + rnd.random() * 4)
            if rnd.random() < 0.02:
                status = "cancelled"
            yield (resolution, rnd.choice(units), conf, street, "lead", status, str(assigned), deadline.isoformat(),
                   ack_due.isoformat(), str(acknowledged) if acknowledged else None, str(closed) if closed else None,
                   rating, str(rated) if rated else None)

    # Like any bulk load: drop the task table's indexes and the rollup's triggers, insert, build the
    # indexes again (about 3x faster) and back-fill the rollup.
    rollup = rollup_migration()
    dialect = rollup.Dialect(postgres=False, zone=str(tz))
    for sql in rollup.drop_trigger_statements(postgres=False):
        conn.execute(sql)
    indexes = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'task' AND sql IS NOT NULL")]
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'task' AND sql IS NOT NULL").fetchall():
        conn.execute(f'DROP INDEX "{name}"')
    conn.executemany(
        "INSERT INTO task (resolution, unit, conference, street, role, status, assigned_at, deadline, ack_due, acknowledged_at,"
        " reported_done_at, closed_at, evidence, extension_status, extension_deadline, extension_reason, rating,"
        " rating_comment, rated_at, reopened, version)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,NULL,?,'','',NULL,'',?,'',?,0,1)", rows())
    for sql in indexes:
        if os.environ.get("BENCH_WITHOUT_SUPERVISION_INDEXES") and "task_supervision_" in sql:
            continue  # to measure what the migration's covering indexes bring
        conn.execute(sql)
    for sql in rollup.backfill_statements(dialect) + rollup.trigger_statements(dialect):
        conn.execute(sql)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


BARE_TEMPLATE = Environment(autoescape=True).from_string(
    "<table>{% for r in rows %}<tr><th>{{ r.name }}</th><td>{{ r.measure }}</td><td>{{ r.n }}/{{ r.d }}</td>"
    "<td>{{ '%.1f%%'|format(100 * r.n / r.d) if r.d else '—' }}</td></tr>{% endfor %}</table>"
    "<table>{% for r in trend %}<tr><td>{{ r.k }}</td><td>{{ r.measure }}</td><td>{{ r.n }}/{{ r.d }}</td></tr>{% endfor %}</table>"
    "<p>{{ counts }}</p><table>{% for t in tasks %}<tr><td><a href='/tasks/{{ t.id }}'>{{ t.item_title }}</a></td>"
    "<td>{{ t.unit_name }}</td><td>{{ t.deadline }}</td></tr>{% endfor %}</table>")


def _bare_param(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return str(value.astimezone(UTC))
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def bare_app(path: Path, statements: list[tuple[str, tuple[Any, ...]]]) -> Litestar:
    """The baseline: one connection, the same statements, the same rows rendered, no ORM, no auth."""
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    prepared = [(sql.replace("{}", "?"), [_bare_param(a) for a in args]) for sql, args in statements]

    @get("/bare/supervision", media_type=MediaType.HTML)
    async def bare_dashboard() -> Response[str]:
        # In the page's order: conferences, rates, trend, alert counts, then the task lists (red, yellow,
        # not acknowledged).
        _conferences, rates, trend, counts, *lists = [[dict(r) for r in conn.execute(sql, args)] for sql, args in prepared]
        tasks = [t for rows in lists for t in rows]
        return Response(BARE_TEMPLATE.render(rows=rates, trend=trend, counts=counts, tasks=tasks), media_type=MediaType.HTML)

    return Litestar([bare_dashboard])



def _template(sql: Any, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """A statement as text with `{}` placeholders and its values: a QueryString (the supervision
    statements) is flattened, its nested fragments written out."""
    from piccolo.querystring import QueryString

    if not isinstance(sql, QueryString):
        return sql, args
    _next, fragments, values = sql.bundle(start_index=1, bundled=[], combined_args=[])
    return "".join(f.prefix + ("" if f.no_arg else "{}") for f in fragments), tuple(values)


async def dashboard_statements(http: Any, url: str) -> tuple[list[tuple[str, tuple[Any, ...]]], list[tuple[str, tuple[Any, ...]]]]:
    """The statements the dashboard page runs (on the rollup), captured from the view functions, and
    today's statements over `task` (from_rollup=False) that the bare page runs, on either database."""
    from conference.supervision import alerts, rates, scope, views  # after the bench has set the database up
    from conference.timefmt import today

    captured: list[tuple[str, tuple[Any, ...]]] = []
    modules = (scope, views, alerts)
    originals = [m.fetch for m in modules]

    async def capture(sql: Any, *args: Any) -> Any:
        captured.append(_template(sql, args))
        return await originals[0](sql, *args)

    for m in modules:
        m.fetch = capture  # type: ignore[assignment]
    try:
        assert (await http.get(url)).status_code == 200
        rollup_statements = list(captured)
        captured.clear()
        day = today()
        await capture("SELECT c.id, c.name, c.level, c.parent FROM conference c ORDER BY c.sort_key, c.name")
        await views.rate_rows(None, rates.Period(dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)), "unit", day,
                              from_rollup=False)
        await views.trend(None, rates.months_ending(day), day, from_rollup=False)
        await alerts.alerts(None, day, from_rollup=False)
    finally:
        for m, original in zip(modules, originals, strict=True):
            m.fetch = original  # type: ignore[assignment]
    return rollup_statements, list(captured)

async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    path = await fresh_database()
    from conference.settings import get_settings
    from conference.timefmt import today

    started = time.perf_counter()
    populate(path, today(), get_settings().tz)
    print(f"\nsupervision: {TASKS:,} tasks generated in {time.perf_counter() - started:.1f} s")
    from conference import db
    from conference.app import create_app
    from tests.querycount import count_queries

    await db.start()
    app = create_app()
    http = client(app)
    await login(http, "admin")
    url = "/supervision"  # the current year, every conference, grouped by unit

    rollup_statements, task_statements = await dashboard_statements(http, url)
    with count_queries() as seen:
        assert (await http.get(url)).status_code == 200
    print(f"queries per dashboard page: {len(seen)} ({len(rollup_statements)} supervision statements, the rest session and scope)")
    conn = sqlite3.connect(path)
    for title, statements in (("the dashboard's statements (rollup)", rollup_statements), ("today's statements over task", task_statements)):
        print(f" {title}:")
        for sql, args in statements:  # best of three, plain sqlite3
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                conn.execute(sql.replace("{}", "?"), [_bare_param(a) for a in args]).fetchall()
                best = min(best, time.perf_counter() - start)
            first_line = " ".join(sql.split())[:70]
            print(f"  {1000 * best:8.1f} ms  {first_line}")
    conn.close()

    bare = client(bare_app(path, task_statements))
    bare_rollup = client(bare_app(path, rollup_statements))

    async def app_page() -> None:
        assert (await http.get(url)).status_code == 200

    async def bare_page() -> None:
        assert (await bare.get("/bare/supervision")).status_code == 200

    async def bare_rollup_page() -> None:
        assert (await bare_rollup.get("/bare/supervision")).status_code == 200

    app_rps = await throughput(app_page, seconds=6)
    bare_rps = await throughput(bare_page, seconds=6)
    bare_rollup_rps = await throughput(bare_rollup_page, seconds=6)
    rows = [(f"/supervision ({TASKS:,} tasks)", app_rps, bare_rps), ("  vs bare page, rollup SQL", app_rps, bare_rollup_rps)]
    report(f"supervision: {TASKS:,} tasks, {ITEMS:,} items, SQLite", rows)
    print(f"ms/page: app {1000 / app_rps:.1f}, bare page with today's SQL {1000 / bare_rps:.1f} "
          f"(app is {bare_rps and app_rps / bare_rps:.1f}x as fast), bare page with the rollup SQL {1000 / bare_rollup_rps:.1f}")
    await http.aclose()
    await bare.aclose()
    await bare_rollup.aclose()
    await db.stop()
    shutil.rmtree(path.parent, ignore_errors=True)  # about 300 MB
