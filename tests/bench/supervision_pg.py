"""The supervision dashboard bench on PostgreSQL (TEST_POSTGRES_URL, a schema of its own): 500,000
tasks generated in SQL with the distribution of tests.bench.supervision (six years, 92% acknowledged,
older tasks mostly closed and rated, 2% cancelled), the rollup back-filled by the migration's
statements; the app's /supervision against a bare Litestar + asyncpg + Jinja page running today's
SQL over `task` (from_rollup=False), and against one running the dashboard's own (rollup) SQL, in the
same run. Prints the time of each statement (best of three)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar, MediaType, Response, get

from tests.bench.common import client, login, report, throughput
from tests.bench.supervision import BARE_TEMPLATE, ITEMS, TASKS, YEARS, dashboard_statements, rollup_migration

SCHEMA = f"bench_supervision_{os.getpid()}"


async def fresh_postgres() -> str:
    from tests import dbsetup

    url = await dbsetup.fresh_postgres_schema(SCHEMA)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("PICCOLO_CONF", "conference.piccolo_conf")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    from conference import db
    from conference.cli import migrate_forwards
    from conference.demo import load_demo
    from conference.settings import reset_settings

    db.configure(reset_settings())
    await migrate_forwards()
    await load_demo()
    return url


def _pg(sql: str) -> str:
    parts = sql.split("{}")
    return "".join(p + (f"${i}" if i < len(parts) else "") for i, p in enumerate(parts, start=1))


async def populate(conn: Any, today: dt.date, zone: str) -> None:
    created = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    first = dt.datetime.combine(today.replace(year=today.year - YEARS + 1, month=1, day=1), dt.time(),
                                ZoneInfo(zone)).astimezone(dt.UTC)
    await conn.execute("""
        INSERT INTO meeting (conference, kind, title, starts_at, ends_at, location, status, uid, sequence, notes,
                             cancel_reason, version, created_at)
        SELECT c.id, 'plenary', '压测会议' || c.id, $1, $1, '会议室', 'held', md5(random()::text) || '@bench', 0, '', '', 1, $1
        FROM conference c""", created)
    await conn.execute("""
        INSERT INTO agenda_item (conference, street, title, description, category, urgency, status, return_reason,
                                 meeting, position, meetings_waited, submitted_at, version, created_at)
        SELECT x.conf, CASE WHEN g % 10 = 0 THEN NULL ELSE x.street END, '压测议题' || g, '说明', 'other', 'normal', 'resolved', '',
               NULL, 0, 0, $1, 1, $1
        FROM generate_series(0, $2 - 1) g,
             LATERAL (SELECT (SELECT id FROM conference ORDER BY random() + g * 0 LIMIT 1) AS conf,
                             (SELECT id FROM street ORDER BY random() + g * 0 LIMIT 1) AS street) x""", created, ITEMS)
    await conn.execute("""
        INSERT INTO resolution (meeting, item, conference, number, text, lead_unit, deadline, deadline_workdays,
                                adopted_by, adopted_at, version)
        SELECT m.id, a.id, a.conference, row_number() OVER (PARTITION BY a.conference ORDER BY a.id), '压测议定事项' || a.id,
               (SELECT id FROM member_unit ORDER BY random() + a.id * 0 LIMIT 1), DATE '2024-06-30', NULL, NULL, $1, 1
        FROM agenda_item a JOIN meeting m ON m.conference = a.conference AND m.title LIKE '压测会议%'
        WHERE a.title LIKE '压测议题%'""", created)
    await conn.execute("""CREATE TEMP TABLE bench_res AS
        SELECT row_number() OVER (ORDER BY r.id) AS i, r.id, r.conference, a.street
        FROM resolution r JOIN agenda_item a ON a.id = r.item WHERE r.text LIKE '压测%'""")
    await conn.execute("CREATE TEMP TABLE bench_unit AS SELECT row_number() OVER (ORDER BY id) AS i, id FROM member_unit")
    rollup = rollup_migration()
    dialect = rollup.Dialect(postgres=True, zone=zone)
    for sql in rollup.drop_trigger_statements(postgres=True):
        await conn.execute(sql)
    span = (dt.datetime.now(dt.UTC) - first).total_seconds()
    horizon = today - dt.timedelta(days=30)
    await conn.execute(f"""
        INSERT INTO task (resolution, unit, conference, street, role, status, assigned_at, deadline, ack_due, acknowledged_at,
                          reported_done_at, closed_at, evidence, extension_status, extension_deadline, extension_reason, rating,
                          rating_comment, rated_at, reopened, version)
        SELECT z.res, z.unit, z.conf, z.street, 'lead',
               CASE WHEN z.r_cancel < 0.02 THEN 'cancelled' WHEN z.closed THEN 'closed'
                    WHEN z.acked THEN (ARRAY['acknowledged', 'in_progress', 'reported_done', 'returned'])[1 + floor(z.r_state * 4)::int]
                    ELSE 'assigned' END,
               z.assigned, z.deadline, z.ack_due, CASE WHEN z.acked THEN z.acknowledged END, NULL,
               CASE WHEN z.closed THEN z.closed_at END, '', '', NULL, '',
               CASE WHEN z.closed AND z.r_rated < 0.8 THEN z.rating ELSE '' END, '',
               CASE WHEN z.closed AND z.r_rated < 0.8 THEN z.closed_at + (1 + z.r_rated_at * 4) * interval '1 day' END, 0, 1
        FROM (SELECT y.*, y.acked AND y.deadline < $3 AND y.r_close < 0.88 AS closed,
                     y.assigned + y.r_closed_at * ((y.deadline - y.day) + 20) * interval '1 day' AS closed_at
              FROM (SELECT x.*, (x.assigned AT TIME ZONE '{zone}')::date AS day,
                           (x.assigned AT TIME ZONE '{zone}')::date + 2 + floor(x.r_ack_due * 2)::int AS ack_due,
                           (x.assigned AT TIME ZONE '{zone}')::date + 10 + floor(x.r_deadline * 80)::int AS deadline,
                           x.r_acked < 0.92 AS acked, x.assigned + x.r_ack_at * 100 * interval '1 hour' AS acknowledged
                    FROM (SELECT r.id AS res, r.conference AS conf, r.street, u.id AS unit,
                                 $1::timestamptz + w.r_assigned * $2 * interval '1 second' AS assigned, w.*
                          FROM (SELECT g, 1 + floor(random() * (SELECT count(*) FROM bench_res))::int AS ri,
                                       1 + floor(random() * (SELECT count(*) FROM bench_unit))::int AS ui,
                                       random() AS r_assigned, random() AS r_ack_due, random() AS r_deadline, random() AS r_acked,
                                       random() AS r_ack_at, random() AS r_state, random() AS r_close, random() AS r_closed_at,
                                       random() AS r_rated, random() AS r_rated_at, random() AS r_cancel,
                                       CASE WHEN random() < 0.6 THEN 'satisfied' ELSE
                                            CASE WHEN random() < 0.625 THEN 'basically_satisfied' ELSE 'dissatisfied' END END AS rating
                                FROM generate_series(1, $4) g) w
                          JOIN bench_res r ON r.i = w.ri JOIN bench_unit u ON u.i = w.ui) x) y) z""",
        first, span, horizon, TASKS)
    for sql in rollup.backfill_statements(dialect) + rollup.trigger_statements(dialect):
        await conn.execute(sql)
    await conn.execute("ANALYZE")


def bare_app(conn: Any, statements: list[tuple[str, tuple[Any, ...]]]) -> Litestar:
    prepared = [(_pg(sql), args) for sql, args in statements]

    @get("/bare/supervision", media_type=MediaType.HTML)
    async def bare_dashboard() -> Response[str]:
        results = [[dict(r) for r in await conn.fetch(sql, *args)] for sql, args in prepared]
        _conferences, rates, trend, counts, *lists = results
        tasks = [t for rows in lists for t in rows]
        return Response(BARE_TEMPLATE.render(rows=rates, trend=trend, counts=counts, tasks=tasks), media_type=MediaType.HTML)

    return Litestar([bare_dashboard])


async def main() -> None:
    import asyncpg

    from tests import dbsetup

    logging.getLogger("httpx").setLevel(logging.WARNING)
    if reason := await dbsetup.postgres_available():
        print(f"\nsupervision (PostgreSQL): skipped, {reason}")
        return
    url = await fresh_postgres()
    from conference import db
    from conference.settings import get_settings
    from conference.timefmt import today

    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    await populate(conn, today(), get_settings().time_zone)
    print(f"\nsupervision (PostgreSQL): {TASKS:,} tasks generated in {time.perf_counter() - started:.1f} s")
    from conference.app import create_app

    await db.start()
    app = create_app()
    http = client(app)
    await login(http, "admin")
    page = "/supervision"
    rollup_statements, task_statements = await dashboard_statements(http, page)
    for title, statements in (("the dashboard's statements (rollup)", rollup_statements), ("today's statements over task", task_statements)):
        print(f" {title}:")
        for sql, args in statements:
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                await conn.fetch(_pg(sql), *args)
                best = min(best, time.perf_counter() - start)
            print(f"  {1000 * best:8.1f} ms  {' '.join(sql.split())[:70]}")

    bare = client(bare_app(conn, task_statements))
    bare_conn = await asyncpg.connect(url)
    bare_rollup = client(bare_app(bare_conn, rollup_statements))

    async def app_page() -> None:
        assert (await http.get(page)).status_code == 200

    async def bare_page() -> None:
        assert (await bare.get("/bare/supervision")).status_code == 200

    async def bare_rollup_page() -> None:
        assert (await bare_rollup.get("/bare/supervision")).status_code == 200

    app_rps = await throughput(app_page, seconds=6)
    bare_rps = await throughput(bare_page, seconds=6)
    bare_rollup_rps = await throughput(bare_rollup_page, seconds=6)
    report(f"supervision: {TASKS:,} tasks, {ITEMS:,} items, PostgreSQL",
           [(f"/supervision ({TASKS:,} tasks)", app_rps, bare_rps), ("  vs bare page, rollup SQL", app_rps, bare_rollup_rps)])
    print(f"ms/page: app {1000 / app_rps:.1f}, bare page with today's SQL {1000 / bare_rps:.1f} "
          f"(app is {app_rps / bare_rps:.1f}x as fast), bare page with the rollup SQL {1000 / bare_rollup_rps:.1f}")
    for c in (http, bare, bare_rollup):
        await c.aclose()
    await conn.close()
    await bare_conn.close()
    await db.stop()
    admin = await asyncpg.connect(dbsetup.POSTGRES_URL)
    await admin.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    await admin.close()
