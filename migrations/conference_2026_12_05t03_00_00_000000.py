"""Per-day rollup of the supervision figures (issue 14 point 7): `task_rollup` holds, per conference
(and for all conferences together: conference 0) and per unit (dim 'u'), street (dim 's', k 0 for
"no street") or in total (dim 't', k 0), how many tasks fall on each day (grain 'd'), month (grain
'm', day = the first of the month) and year (grain 'y', day = 1 January) of each measure, split by
the flags the rates need. The dashboard (conference.supervision.rollup) reads a few thousand of
these rows instead of ~80,000 index entries per branch of the statement over `task`.

Measures, each over tasks that are not cancelled (the rules: conference.supervision.rates):

- assigned: by the local day of assigned_at;
- response: hit = acknowledged before the end of the ack_due day; by the local day of
  acknowledged_at when hit, else by ack_due (the reader takes those only once ack_due has ended);
- due: by deadline; hit = closed, hit2 = closed before the end of the deadline day;
- closed: tasks with closed_at, by its local day; hit = status closed;
- satisfaction: rated tasks (rating <> ''), by the local day of rated_at; hit = satisfied or
  basically satisfied;
- open: open tasks (assigned .. returned), by deadline (the open and overdue counts as of any day);
  in total only (dim 't').

Kept by triggers on `task` (AFTER INSERT, DELETE, UPDATE OF the columns read), in the transaction of
the change, on SQLite and PostgreSQL: an update takes the old row's contributions off and adds the
new row's. Also an index on task (status, deadline, ack_due, conference): the alerts' counts of tasks
not yet due (not acknowledged in time, due soon) read only the tasks whose deadline is still ahead.
Local days use the time zone configured when this migration runs (TIME_ZONE, fixed
offset on SQLite, as conference.supervision.sqlparts.end_of_day); back-filled from existing tasks.
"""

# The SQL is built from the fixed names below and the validated zone, never from data.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-05T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "task_rollup: per-day and per-month supervision counts kept by triggers on task"

COLUMNS = "dim, grain, measure, day, conference, k, hit, hit2"
# The primary key, in the order the dashboard reads: a dimension, the conferences in scope (or 0, all),
# then a range of days of one grain and measure.
KEY = "dim, conference, grain, measure, day, k, hit, hit2"
WATCHED = "status, conference, unit, street, assigned_at, deadline, ack_due, acknowledged_at, closed_at, rating, rated_at"
OPEN = "('assigned', 'acknowledged', 'in_progress', 'reported_done', 'returned')"
DIMS = {"u": "c.unit", "s": "c.street", "t": "0"}
INDEX, INDEX_COLUMNS = "task_supervision_status_deadline", "status, deadline, ack_due, conference"


@dataclass(frozen=True)
class Dialect:
    postgres: bool
    zone: str

    def local_day(self, ts: str) -> str:
        if self.postgres:
            return f"(({ts}) AT TIME ZONE '{self.zone}')::date"
        return f"date({ts}, '{self.offset_minutes():+d} minutes')"

    def end_of_day(self, column: str) -> str:
        """The instant the local day in date `column` ends, compared as the statements over `task`
        compare it (conference.supervision.sqlparts.end_of_day)."""
        if self.postgres:
            return f"(({column} + 1)::timestamp AT TIME ZONE '{self.zone}')"
        minutes = -self.offset_minutes()
        if -24 * 60 < minutes < 0:
            at = 24 * 60 + minutes
            return f"({column} || ' {at // 60:02d}:{at % 60:02d}:00')"
        return f"datetime({column}, '+1 day', '{minutes:+d} minutes')"

    def month(self, day: str) -> str:
        return f"date_trunc('month', ({day})::timestamp)::date" if self.postgres else f"date({day}, 'start of month')"

    def year(self, day: str) -> str:
        return f"date_trunc('year', ({day})::timestamp)::date" if self.postgres else f"date({day}, 'start of year')"

    def offset_minutes(self) -> int:
        from zoneinfo import ZoneInfo

        offset = dt.datetime.now(ZoneInfo(self.zone)).utcoffset() or dt.timedelta()
        return int(offset.total_seconds() // 60)


def dialect(postgres: bool) -> Dialect:
    from conference.settings import get_settings

    zone = get_settings().time_zone
    if not re.match(r"^[A-Za-z0-9_+\-/]+$", zone):
        raise ValueError(f"unexpected time zone name {zone!r}")
    return Dialect(postgres, zone)


def contributions(d: Dialect, x: str, source: str = "") -> str:
    """(conference, unit, street, measure, day, hit, hit2) for each measure row `x` counts in: `x` is
    NEW or OLD in a trigger, or an alias of `source` ("FROM task t") when back-filling."""
    live = f"{x}.status <> 'cancelled'"
    in_time = f"{x}.acknowledged_at < {d.end_of_day(f'{x}.ack_due')}"
    closed = f"{x}.status = 'closed'"
    closed_in_time = f"{closed} AND {x}.closed_at < {d.end_of_day(f'{x}.deadline')}"

    def flag(condition: str) -> str:
        return f"CASE WHEN {condition} THEN 1 ELSE 0 END"

    def part(measure: str, day: str, hit: str, hit2: str, where: str) -> str:
        return (f"SELECT {x}.conference AS conference, {x}.unit AS unit, COALESCE({x}.street, 0) AS street, "
                f"'{measure}' AS measure, {day} AS day, {hit} AS hit, {hit2} AS hit2 {source} "
                f"WHERE {where} AND {day} IS NOT NULL")

    response_day = f"CASE WHEN {in_time} THEN {d.local_day(f'{x}.acknowledged_at')} ELSE {x}.ack_due END"
    return " UNION ALL ".join([
        part("assigned", d.local_day(f"{x}.assigned_at"), "0", "0", live),
        part("response", response_day, flag(in_time), "0", live),
        part("due", f"{x}.deadline", flag(closed), flag(closed_in_time), live),
        part("closed", d.local_day(f"{x}.closed_at"), flag(closed), "0", live),
        part("satisfaction", d.local_day(f"{x}.rated_at"), flag(f"{x}.rating IN ('satisfied', 'basically_satisfied')"), "0",
             f"{live} AND {x}.rating <> ''"),
        part("open", f"{x}.deadline", "0", "0", f"{x}.status IN {OPEN}"),
    ])


def apply(d: Dialect, x: str, sign: int | None = None) -> str:
    """Adds (sign 1) or takes off (-1) the contributions of trigger row `x`: per day, month and year,
    by unit, street and in total, for its conference and for all (0). Without a sign: an update,
    OLD taken off and NEW added in one statement, only the rows whose count changes written."""
    if sign is None:
        source = (f"SELECT o.*, -1 AS sign FROM ({contributions(d, 'OLD')}) o "
                  f"UNION ALL SELECT w.*, 1 AS sign FROM ({contributions(d, 'NEW')}) w")
        net, group = "SUM(c.sign)", " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING SUM(c.sign) <> 0"
    else:
        source, net, group = contributions(d, x), str(sign), ""
    return f"""INSERT INTO task_rollup ({COLUMNS}, n)
        SELECT dims.dim, grains.grain, c.measure,
               CASE WHEN grains.grain = 'd' THEN c.day WHEN grains.grain = 'm' THEN {d.month('c.day')} ELSE {d.year('c.day')} END,
               CASE WHEN whole.whole = 1 THEN 0 ELSE c.conference END,
               CASE WHEN dims.dim = 'u' THEN c.unit WHEN dims.dim = 's' THEN c.street ELSE 0 END, c.hit, c.hit2, {net}
        FROM ({source}) c
        CROSS JOIN (SELECT 'u' AS dim UNION ALL SELECT 's' UNION ALL SELECT 't') dims
        CROSS JOIN (SELECT 'd' AS grain UNION ALL SELECT 'm' UNION ALL SELECT 'y') grains
        CROSS JOIN (SELECT 0 AS whole UNION ALL SELECT 1) whole
        WHERE c.measure <> 'open' OR dims.dim = 't'{group}
        ON CONFLICT ({KEY}) DO UPDATE SET n = task_rollup.n + excluded.n"""


def table_statements(postgres: bool) -> list[str]:
    day = "DATE" if postgres else "TEXT"
    without_rowid = "" if postgres else " WITHOUT ROWID"
    return [f"""CREATE TABLE task_rollup (
        dim VARCHAR(1) NOT NULL, grain VARCHAR(1) NOT NULL, measure VARCHAR(16) NOT NULL, day {day} NOT NULL,
        conference INTEGER NOT NULL, k INTEGER NOT NULL, hit INTEGER NOT NULL, hit2 INTEGER NOT NULL,
        n INTEGER NOT NULL, PRIMARY KEY ({KEY})){without_rowid}""",
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON task ({INDEX_COLUMNS})"]


def trigger_statements(d: Dialect) -> list[str]:
    if d.postgres:
        return [
            f"""CREATE OR REPLACE FUNCTION task_rollup_sync() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF TG_OP = 'UPDATE' THEN {apply(d, 'NEW')};
                  ELSIF TG_OP = 'INSERT' THEN {apply(d, 'NEW', 1)};
                  ELSE {apply(d, 'OLD', -1)};
                  END IF;
                  RETURN NULL;
                END $$""",
            f"""CREATE TRIGGER task_rollup_sync AFTER INSERT OR DELETE OR UPDATE OF {WATCHED} ON task
                FOR EACH ROW EXECUTE FUNCTION task_rollup_sync()""",
        ]
    return [
        f"CREATE TRIGGER task_rollup_insert AFTER INSERT ON task BEGIN {apply(d, 'NEW', 1)}; END",
        f"CREATE TRIGGER task_rollup_delete AFTER DELETE ON task BEGIN {apply(d, 'OLD', -1)}; END",
        f"CREATE TRIGGER task_rollup_update AFTER UPDATE OF {WATCHED} ON task BEGIN {apply(d, 'NEW')}; END",
    ]


def drop_trigger_statements(postgres: bool) -> list[str]:
    if postgres:
        return ["DROP TRIGGER IF EXISTS task_rollup_sync ON task", "DROP FUNCTION IF EXISTS task_rollup_sync()"]
    return [f"DROP TRIGGER IF EXISTS task_rollup_{op}" for op in ("insert", "delete", "update")]


def backfill_statements(d: Dialect) -> list[str]:
    """Day rows from the tasks, per conference; then the rows of all conferences (0) from them; then
    month rows from the day rows and year rows from the month rows."""
    statements = ["DELETE FROM task_rollup"]
    for dim, column in DIMS.items():
        only = "" if dim == "t" else "WHERE c.measure <> 'open'"
        statements.append(f"""INSERT INTO task_rollup ({COLUMNS}, n)
            SELECT '{dim}', 'd', c.measure, c.day, c.conference, {column}, c.hit, c.hit2, COUNT(*)
            FROM ({contributions(d, 't', 'FROM task t')}) c {only}
            GROUP BY c.measure, c.day, c.conference, {column + ", " if dim != "t" else ""}c.hit, c.hit2""")
    statements.append(f"""INSERT INTO task_rollup ({COLUMNS}, n)
        SELECT r.dim, 'd', r.measure, r.day, 0, r.k, r.hit, r.hit2, SUM(r.n) FROM task_rollup r
        GROUP BY r.dim, r.measure, r.day, r.k, r.hit, r.hit2""")
    for grain, source, start in (("m", "d", d.month("r.day")), ("y", "m", d.year("r.day"))):
        statements.append(f"""INSERT INTO task_rollup ({COLUMNS}, n)
            SELECT r.dim, '{grain}', r.measure, {start}, r.conference, r.k, r.hit, r.hit2, SUM(r.n)
            FROM task_rollup r WHERE r.grain = '{source}'
            GROUP BY r.dim, r.measure, {start}, r.conference, r.k, r.hit, r.hit2""")
    return statements


async def forwards():
    from piccolo.engine.finder import engine_finder
    from piccolo.engine.postgres import PostgresEngine

    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def create():
        engine = engine_finder()
        d = dialect(isinstance(engine, PostgresEngine))
        for sql in table_statements(d.postgres) + backfill_statements(d) + trigger_statements(d):
            await engine.run_ddl(sql)

    async def drop():
        engine = engine_finder()
        for sql in [*drop_trigger_statements(isinstance(engine, PostgresEngine)), "DROP TABLE IF EXISTS task_rollup",
                    f"DROP INDEX IF EXISTS {INDEX}"]:
            await engine.run_ddl(sql)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
