"""Read side of supervision (督办统计): the four rates per unit, street or conference for a period,
their monthly trend, overdue and unacknowledged tasks, the annual assessment (考核) and the
ledgers (台账). Raw SQL on the fast read path (`conference.db.fetch`); the same statements run on
SQLite and PostgreSQL, with the one dialect difference (the end of a local day) in `_end_of_day`.

The rates (domain.md), counted over tasks that are not cancelled, for a period [start, end] of
local dates (TIME_ZONE, Asia/Shanghai), as of `day` (today). A task counts in a rate only once its
outcome is settled, so no unit is marked down before its time is up:

- response rate 响应率 = tasks acknowledged in time / tasks whose acknowledgement is settled in the
  period. "In time" means acknowledged_at is before the end (local midnight) of the task's ack_due
  day; such a task counts in the period of its acknowledgement (possibly before ack_due). A task
  not acknowledged in time counts, as a miss, in the period of its ack_due day once that day has
  ended (ack_due < day). Each task counts in exactly one period.
- resolution rate 解决率 = tasks closed / tasks due in the period; on-time rate 按期办结率 = tasks
  closed by the end of their deadline day / the same tasks due in the period. "Due in the period":
  deadline (the current one: an approved extension moves `task.deadline` itself, see
  tasks.services.decide_extension) falls in the period, and either the deadline day has ended
  (deadline < day) or the task is closed.
- satisfaction rate 满意率 = (satisfied + basically satisfied) / tasks rated in the period (rated_at).

An empty denominator has no rate (shown "—", and left out of the assessment score). Every table is
one statement over `task`: UNION ALL branches, each restricted by its own period column (a range on
a covering index) and grouped by the table's key (unit, street, conference, or month). The rate
table also counts the tasks assigned and closed in the period. The number of queries of a page
never depends on the amount of data.

Scope: `visible_conference_ids` (a higher-level office sees the conferences below it, a convenor
the conferences he or she convenes); choosing a conference narrows to it and the conferences
below it.
"""

# SQL is assembled from fixed fragments, int()-converted ids and a validated zone name; every user value is bound.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from conference.accounts.actor import Actor
from conference.accounts.scope import subtree, visible_conference_ids
from conference.db import engine, fetch, int_list
from conference.errors import DomainError, NotFound
from conference.i18n import gettext as _
from conference.settings import get_settings
from conference.tasks.services import workdays_after
from conference.workdays import workdays_between

MEASURES = ("response", "resolution", "on_time", "satisfaction")
MEASURE_LABELS = {"response": _("响应率"), "resolution": _("解决率"), "on_time": _("按期办结率"), "satisfaction": _("满意率")}
OPEN_STATES = ("assigned", "acknowledged", "in_progress", "reported_done", "returned")
# How each rate is counted, in the words shown under the dashboard's table and in the 督办通报's
# summary: one text per rule, so the two documents can never state them differently.
RATE_RULES = {
    "response": _("响应率 = 按时签收 ÷ 应签收。在签收时限当日结束前签收的任务，按签收日期计入统计期间，算作按时签收（提前签收的同样计入）；"
                  "未按时签收的任务（至今未签收或超时才签收），在签收时限当日结束后，按签收时限日期计入统计期间，算作未按时签收。"
                  "签收时限未到、也还没有签收的任务不计。"),
    "resolution": _("解决率 = 已销号 ÷ 到期。“到期”指办结期限在统计期间内，并且期限当日已结束或任务已经销号的任务；"
                    "经批准延期的任务按延期后的期限计算。期限未到且未销号的任务不计。"),
    "on_time": _("按期办结率 = 按期销号 ÷ 到期（分母与解决率相同）。按期销号指在办结期限当日结束前销号。"),
    "satisfaction": _("满意率 =（满意 + 基本满意）÷ 统计期间内街道评价的任务。"),
    "counts": _("“本期交办”和“本期销号”是统计期间内交办、销号的任务数，仅供参考，不参与计算。"),
}
GROUPS = {"unit": _("成员单位"), "street": _("街道"), "conference": _("联席会议")}
_GROUP_SQL = {"unit": ("t.unit", "member_unit"), "street": ("t.street", "street"), "conference": ("t.conference", "conference")}
_OPEN_SQL = "(" + ", ".join(f"'{s}'" for s in OPEN_STATES) + ")"
_ZONE_RE = re.compile(r"^[A-Za-z0-9_+\-/]+$")
NO_RATE = "—"


# ---------------------------------------------------------------- small pieces


class Params(list[Any]):
    """Collects bound values in the order their `{}` placeholders appear in the SQL text:
    `f"... t.deadline >= {p(day)} ..."` appends `day` and writes `{}`."""

    def __call__(self, value: Any) -> str:
        self.append(value)
        return "{}"



def scope_sql(ids: set[int] | None, column: str = "t.conference") -> str:
    return "1=1" if ids is None else f"{column} IN ({int_list(ids)})"


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


def _end_of_day(column: str) -> str:
    """SQL for the instant (UTC) at which the local day in date `column` ends, i.e. local midnight
    of the next day. PostgreSQL applies the zone's rules; SQLite stores timestamps as UTC text
    ('2026-11-29 01:25:15.450222+00:00'), so the boundary is built as text of the same shape with the
    zone's current UTC offset (fixed for Asia/Shanghai) and compared as text. East of UTC that
    instant falls on the same UTC date, so it is the date followed by the time of day ('2026-11-29'
    || ' 16:00:00' for +08:00): plain text, no date function evaluated on every row of a range (the
    rate statement's branches read some 80,000 index entries each on the 500,000-task bench; the
    concatenation took the statement from about 240 to 195 ms). The text equals what datetime()
    gives, so the comparisons are unchanged."""
    settings = get_settings()
    if is_postgres():
        if not _ZONE_RE.match(settings.time_zone):
            raise ValueError(f"unexpected time zone name {settings.time_zone!r}")
        return f"(({column} + 1)::timestamp AT TIME ZONE '{settings.time_zone}')"
    offset = dt.datetime.now(settings.tz).utcoffset() or dt.timedelta()
    minutes = -int(offset.total_seconds() // 60)
    if -24 * 60 < minutes < 0:  # east of UTC: local midnight is at 24:00 + minutes UTC, the same date
        at = 24 * 60 + minutes
        return f"({column} || ' {at // 60:02d}:{at % 60:02d}:00')"
    return f"datetime({column}, '+1 day', '{minutes:+d} minutes')"


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), get_settings().tz)


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def rate_text(value: float | None) -> str:
    """66.7% (one decimal), or "—" when there is nothing to divide by."""
    return NO_RATE if value is None else f"{value * 100:.1f}%"


@dataclass(frozen=True)
class Period:
    """Local dates, both included."""

    start: dt.date
    end: dt.date

    def instants(self) -> tuple[dt.datetime, dt.datetime]:
        """[local midnight of start, local midnight after end) as aware datetimes."""
        return local_midnight(self.start), local_midnight(self.end + dt.timedelta(days=1))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))


COUNTS = ("assigned", "closed")  # tasks assigned / closed in the period, beside the rates


@dataclass
class Figures:
    """Numerators and denominators of the four rates for one group, and the counts of tasks
    assigned and closed in the period."""

    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def add(self, measure: str, hits: int, total: int) -> None:
        self.hits[measure] += int(hits or 0)
        self.totals[measure] += int(total or 0)

    def add_row(self, row: dict[str, Any]) -> None:
        """One row of `_figures`: the "due" branch feeds both the resolution and the on-time rate."""
        measure = row["measure"]
        if measure == "due":
            self.add("resolution", row["n"], row["d"])
            self.add("on_time", row["n2"], row["d"])
        elif measure == "assigned":
            self.counts[measure] += int(row["d"] or 0)
        elif measure == "closed":
            self.counts[measure] += int(row["n"] or 0)
        else:
            self.add(measure, row["n"], row["d"])

    def rate(self, measure: str) -> float | None:
        return rate(self.hits[measure], self.totals[measure])

    def as_dict(self) -> dict[str, Any]:
        """Plain values for templates and exports: counts, rates (0..1 or None) and their text."""
        return {
            "hits": dict(self.hits), "totals": dict(self.totals), "counts": dict(self.counts),
            "rates": {m: self.rate(m) for m in MEASURES},
            "texts": {m: rate_text(self.rate(m)) for m in MEASURES},
        }


# ---------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    options: list[dict[str, Any]]  # the conferences the actor may choose, by name
    ids: set[int] | None  # conference ids whose records count (None: all)


async def figure_scope(actor: Actor, conference_id: int | None) -> Scope:
    """Two statements whatever the actor. A chosen conference outside the actor's scope is a 404,
    like every out-of-scope id; choosing one counts it and the conferences below it."""
    conferences = await fetch("SELECT c.id, c.name, c.level, c.parent FROM conference c ORDER BY c.sort_key, c.name")
    visible = await visible_conference_ids(actor)
    options = [c for c in conferences if visible is None or c["id"] in visible]
    if conference_id is None:
        return Scope(options, visible)
    parent_of = {int(c["id"]): c["parent"] for c in conferences}
    if conference_id not in parent_of or (visible is not None and conference_id not in visible):
        raise NotFound(_("没有找到该联席会议，或您无权查看。"))
    chosen = subtree(parent_of, conference_id)
    return Scope(options, chosen if visible is None else chosen & visible)


# ---------------------------------------------------------------- the rates


Key = Callable[[Params, str, str], str]  # (params, period column, "ts" | "date") -> SQL of the group key


def _figures(p: Params, scope: str, period: Period, key: Key, day: dt.date, *, counts: bool = False,
             as_of: dt.datetime | None = None) -> str:
    """Rows (measure, k, d, n, n2) per group key `k`: for "response" and "satisfaction" the
    denominator `d` and numerator `n`; for "due" the tasks due (`d`), closed (`n`) and closed by
    their deadline (`n2`); with `counts`, "assigned" (`d`) and "closed" (`n`): tasks assigned / closed
    in the period. Each branch reads only the tasks of its own period column (a range on an index that
    covers the columns it needs, see the supervision indexes migrations) and aggregates them there,
    so no large intermediate result is sorted. The response rate has two branches, each task
    landing in one of them: acknowledged in time (by acknowledged_at) or not (by ack_due, once that
    day has ended). With `as_of` (a past instant, for a document that must read the same whenever it
    is printed), a task counts as closed for the resolution and on-time rates only if it was closed
    before that instant; the other branches are bounded by the period, which ends before it."""
    lo, hi = period.instants()
    base = f"t.status <> 'cancelled' AND {scope}"
    in_time = f"t.acknowledged_at < {_end_of_day('t.ack_due')}"

    def closed() -> str:  # a callable: its bound value is appended where the text is placed
        return "t.status = 'closed'" if as_of is None else f"t.status = 'closed' AND t.closed_at < {p(as_of)}"

    def closed_in_time() -> str:
        return f"{closed()} AND t.closed_at < {_end_of_day('t.deadline')}"

    def branch(measure: str, column: str, kind: str, hit: str | Callable[[], str], hit2: str | Callable[[], str],
               condition: Callable[[], str], last: dt.date | None = None) -> str:
        # Built left to right, so each bound value is appended in the order of its placeholder.
        head = (f"SELECT '{measure}' AS measure, s.k, COUNT(*) AS d, SUM(s.hit) AS n, SUM(s.hit2) AS n2 "
                f"FROM (SELECT {key(p, column, kind)} AS k")
        hit_sql = hit if isinstance(hit, str) else hit()
        hit2_sql = hit2 if isinstance(hit2, str) else hit2()
        values = f", CASE WHEN {hit_sql} THEN 1 ELSE 0 END AS hit, CASE WHEN {hit2_sql} THEN 1 ELSE 0 END AS hit2"
        where = f" FROM task t WHERE {base}{condition()}"
        first, until_value = (lo, hi) if kind == "ts" else (period.start, last or period.end)
        until = "<" if kind == "ts" else "<="  # [start, local midnight after end) or [start date, end date]
        return f"{head}{values}{where} AND {column} >= {p(first)} AND {column} {until} {p(until_value)}) s GROUP BY s.k"

    def nothing() -> str:
        return ""

    branches = []
    if counts:
        branches.append(branch("assigned", "t.assigned_at", "ts", "1=0", "1=0", nothing))
    branches += [
        branch("response", "t.acknowledged_at", "ts", "1=1", "1=0", lambda: f" AND {in_time}"),
        # Not acknowledged in time: a miss once the ack_due day has ended (before today).
        branch("response", "t.ack_due", "date", "1=0", "1=0",
               lambda: f" AND (t.acknowledged_at IS NULL OR NOT ({in_time}))", min(period.end, day - dt.timedelta(days=1))),
        branch("due", "t.deadline", "date", closed, closed_in_time,
               lambda: f" AND (t.deadline < {p(day)} OR ({closed()}))"),
    ]
    if counts:
        # The status test is counted (n), not filtered on, so the range on closed_at picks the index.
        branches.append(branch("closed", "t.closed_at", "ts", "t.status = 'closed'", "1=0", nothing))
    branches.append(branch("satisfaction", "t.rated_at", "ts", "t.rating IN ('satisfied', 'basically_satisfied')", "1=0",
                           lambda: " AND t.rating <> ''"))
    return " UNION ALL ".join(branches)


def _column(name: str) -> Key:
    return lambda _p, _column, _kind: name


async def rate_rows(ids: set[int] | None, period: Period, group: str, day: dt.date,
                    as_of: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The four rates per unit, street or conference as of `day` (one statement), with the tasks
    assigned and closed in the period, sorted by name; tasks of items the office raised itself have
    no street and form their own group. A group with tasks in the period but nothing due yet is
    listed, its rates "—". `as_of`: closings after that instant do not count (see _figures)."""
    key, table = _GROUP_SQL[group]
    p = Params()
    figures = _figures(p, scope_sql(ids), period, _column(key), day, counts=True, as_of=as_of)
    kind = ", x.kind AS kind" if group == "unit" else ""
    rows = await fetch(f"""
        SELECT g.k, g.measure, g.d, g.n, g.n2, x.name AS name{kind}
        FROM ({figures}) g LEFT JOIN {table} x ON x.id = g.k""", *p)
    groups: dict[Any, dict[str, Any]] = {}
    for row in rows:
        entry = groups.setdefault(row["k"], {"key": row["k"], "name": row["name"], "kind": row.get("kind"), "figures": Figures()})
        entry["figures"].add_row(row)
    result = []
    for entry in groups.values():
        if entry["key"] is None:
            entry["name"] = _("（办公室提出的议题，无街道）")
        result.append({**entry, **entry.pop("figures").as_dict()})
    result.sort(key=lambda r: (r["key"] is None, r["name"] or ""))
    return result


def total_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The 合计 row: every task belongs to exactly one group, so the counts add up."""
    total = Figures()
    for row in rows:
        for m in MEASURES:
            total.add(m, row["hits"][m], row["totals"][m])
        for c in COUNTS:
            total.counts[c] += row["counts"][c]
    return total.as_dict()


def months_ending(day: dt.date, n: int = 12) -> list[dt.date]:
    """First days of the n months ending with the month of `day`, oldest first."""
    months = [day.replace(day=1)]
    while len(months) < n:
        months.insert(0, (months[0] - dt.timedelta(days=1)).replace(day=1))
    return months


def _next_month(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)


async def trend(ids: set[int] | None, months: list[dt.date], day: dt.date) -> list[dict[str, Any]]:
    """The four rates per month as of `day` (one statement): each task lands in the month of its own
    period column, bucketed by bound month boundaries (local midnight), so the zone's rules apply."""
    boundaries = [_next_month(m) for m in months[:-1]]

    def bucket(p: Params, column: str, kind: str) -> str:  # the month's index
        whens = " ".join(
            f"WHEN {column} < {p(local_midnight(b) if kind == 'ts' else b)} THEN {i}" for i, b in enumerate(boundaries))
        return f"CASE {whens} ELSE {len(months) - 1} END"

    period = Period(months[0], _next_month(months[-1]) - dt.timedelta(days=1))
    p = Params()
    rows = await fetch(_figures(p, scope_sql(ids), period, bucket, day), *p)
    figures = [Figures() for _m in months]
    for row in rows:
        figures[int(row["k"])].add_row(row)
    return [{"month": m, "label": _("{y}年{m}月").format(y=m.year, m=m.month), **f.as_dict()}
            for m, f in zip(months, figures, strict=True)]


# ---------------------------------------------------------------- alerts


_TASK_LIST_SQL = """
    SELECT t.id, t.deadline, t.ack_due, t.assigned_at, t.status, t.role, t.extension_status, t.acknowledged_at,
           u.name AS unit_name, c.name AS conference_name, s.name AS street_name, a.title AS item_title
    FROM task t
    JOIN member_unit u ON u.id = t.unit
    JOIN conference c ON c.id = t.conference
    LEFT JOIN street s ON s.id = t.street
    JOIN resolution r ON r.id = t.resolution
    JOIN agenda_item a ON a.id = r.item
"""


def yellow_until(day: dt.date) -> dt.date:
    """The first deadline that is no longer "due soon" (yellow): due within N working days
    (SUPERVISION_YELLOW_WORKDAYS) means before the (N+1)th working day after `day`; the same date the
    task list's yellow filter and the task alerts use (conference.tasks)."""
    return workdays_after(day, get_settings().supervision_yellow_workdays + 1)


def _workdays_left(day: dt.date, deadline: dt.date) -> int:
    try:
        return workdays_between(day, deadline)
    except DomainError:  # a year without a holiday calendar: weekdays
        return sum(1 for i in range(1, (deadline - day).days + 1) if (day + dt.timedelta(days=i)).weekday() < 5)


async def alerts(ids: set[int] | None, day: dt.date, limit: int = 30, as_of: dt.datetime | None = None) -> dict[str, Any]:
    """The office's work list as of `day`, whatever the period: the counts of open tasks and of
    each alert, and the lists of overdue (red), due soon (yellow) and not acknowledged in time.
    Each open task has at most one alert, as on the task list (conference.tasks.services.alert):
    red (deadline passed) comes first, then not acknowledged (ack_due passed), then yellow (due
    within N working days). Four statements, all on the open-task index.

    With `as_of` (the start of `day`, in the past: a 督办通报 for a period that has ended), the lists
    are those of that instant: tasks assigned before it and not closed before it (tasks closed
    since were still open then), acknowledged only if before it. Cancellations and deadlines are
    read as they stand."""
    scope = scope_sql(ids)
    until = yellow_until(day)

    def open_sql(p: Params) -> str:
        if as_of is None:
            return f"t.status IN {_OPEN_SQL}"
        return (f"t.assigned_at < {p(as_of)} AND (t.status IN {_OPEN_SQL} OR (t.status = 'closed' AND t.closed_at >= {p(as_of)}))")

    def not_acked(p: Params) -> str:
        if as_of is None:
            return "t.status = 'assigned'"
        return f"(t.acknowledged_at IS NULL OR t.acknowledged_at >= {p(as_of)})"

    def red(p: Params) -> str:
        return f"t.deadline < {p(day)}"

    def unack(p: Params) -> str:
        return f"{not_acked(p)} AND t.ack_due < {p(day)} AND t.deadline >= {p(day)}"

    def yellow(p: Params) -> str:
        return f"t.deadline >= {p(day)} AND t.deadline < {p(until)} AND NOT ({not_acked(p)} AND t.ack_due < {p(day)})"

    p = Params()
    sql = f"""
        SELECT COUNT(*) AS open_n, SUM(CASE WHEN {red(p)} THEN 1 ELSE 0 END) AS overdue,
               SUM(CASE WHEN {unack(p)} THEN 1 ELSE 0 END) AS unack,
               SUM(CASE WHEN {yellow(p)} THEN 1 ELSE 0 END) AS yellow
        FROM task t WHERE {scope} AND {open_sql(p)}"""
    counts = await fetch(sql, *p)
    p = Params()
    sql = f"{_TASK_LIST_SQL} WHERE {scope} AND {open_sql(p)} AND {red(p)} ORDER BY t.deadline, t.id LIMIT {int(limit)}"
    overdue = await fetch(sql, *p)
    p = Params()
    sql = f"{_TASK_LIST_SQL} WHERE {scope} AND {open_sql(p)} AND {yellow(p)} ORDER BY t.deadline, t.id LIMIT {int(limit)}"
    soon = await fetch(sql, *p)
    p = Params()
    still_open = "" if as_of is None else f" AND {open_sql(p)}"  # today: status 'assigned' is open
    sql = f"{_TASK_LIST_SQL} WHERE {scope}{still_open} AND {unack(p)} ORDER BY t.ack_due, t.id LIMIT {int(limit)}"
    late = await fetch(sql, *p)
    for row in overdue:
        row["days"] = (day - _as_date(row["deadline"])).days
    for row in soon:
        row["workdays"] = _workdays_left(day, _as_date(row["deadline"]))
    for row in late:
        row["days"] = (day - _as_date(row["ack_due"])).days
    first = counts[0]
    return {"overdue": overdue, "yellow": soon, "unack": late, "open_total": int(first["open_n"] or 0),
            "overdue_total": int(first["overdue"] or 0), "yellow_total": int(first["yellow"] or 0),
            "unack_total": int(first["unack"] or 0), "yellow_until": until,
            "yellow_workdays": get_settings().supervision_yellow_workdays}


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# ---------------------------------------------------------------- assessment


def score(figures: dict[str, Any]) -> float | None:
    """街道评价得分, 0–100: the mean of the unit's available rates (those with a non-empty
    denominator: response, resolution, on-time, satisfaction) × 100, rounded to one decimal. A rate
    with nothing due is left out of the mean, never counted as 0; a unit with no rate at all (e.g.
    every task assigned recently, nothing due yet) has no score."""
    available = [v for v in figures["rates"].values() if v is not None]
    if not available:
        return None
    return round(sum(available) / len(available) * 100, 1)


def weight_for(kind: str | None) -> float | None:
    """Share of the unit's annual assessment given by the streets' evaluation, from settings;
    only departments and dispatched agencies have one."""
    settings = get_settings()
    return {"department": settings.assessment_weight_department,
            "dispatched_agency": settings.assessment_weight_agency}.get(kind or "")


async def assessment_rows(ids: set[int] | None, year: int, day: dt.date) -> list[dict[str, Any]]:
    """Per unit, for one year: the rates, the score, the weight and the weighted contribution
    (score × weight: the points the evaluation brings to a 100-point annual assessment). Units
    that are members of a conference in scope during the year appear even without tasks. Rates as of
    `day` (see the module's rules)."""
    period = Period.year(year)
    p = Params()
    figures = _figures(p, scope_sql(ids), period, _column("t.unit"), day)
    membership = (f"SELECT m.unit FROM membership m WHERE {scope_sql(ids, 'm.conference')} "
                  f"AND m.start_date <= {p(period.end)} AND (m.end_date IS NULL OR m.end_date >= {p(period.start)})")
    rows = await fetch(f"""
        WITH g AS ({figures})
        SELECT u.id, u.name, u.kind, g.measure, g.d, g.n, g.n2
        FROM member_unit u LEFT JOIN g ON g.k = u.id
        WHERE u.id IN (SELECT g.k FROM g) OR u.id IN ({membership})
        ORDER BY u.sort_key, u.name""", *p)
    units: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = units.setdefault(row["id"], {"id": row["id"], "name": row["name"], "kind": row["kind"], "figures": Figures()})
        if row["measure"]:
            entry["figures"].add_row(row)
    result = []
    for entry in units.values():
        figures = entry.pop("figures").as_dict()
        value = score(figures)
        weight = weight_for(entry["kind"])
        contribution = round(value * weight, 2) if value is not None and weight is not None else None
        result.append({**entry, **figures, "score": value, "weight": weight, "contribution": contribution})
    kind_order = {"department": 0, "dispatched_agency": 1}
    result.sort(key=lambda r: (kind_order.get(r["kind"], 2), r["name"]))
    return result


# ---------------------------------------------------------------- ledgers


@dataclass(frozen=True)
class LedgerFilter:
    kind: str = "tasks"  # items | resolutions | tasks
    status: str = ""
    conference_id: int | None = None
    unit_id: int | None = None
    street_id: int | None = None
    start: dt.date | None = None  # local dates, on the ledger's own date (submitted, adopted, assigned)
    end: dt.date | None = None


def _names(column: str) -> str:
    """Names joined with 、 in name order."""
    if is_postgres():
        return f"string_agg({column}, '、' ORDER BY {column})"
    return f"group_concat({column}, '、')"  # fed by a subquery ordered by name


def _ledger_where(p: Params, ids: set[int] | None, flt: LedgerFilter) -> tuple[str, str, str]:
    """(FROM clause, WHERE condition, ORDER BY) choosing the ledger's rows."""
    kind = flt.kind
    if kind == "items":
        source, conf, street, stamp, order = "agenda_item a", "a.conference", "a.street", "a.submitted_at", "a.submitted_at DESC, a.id DESC"
        where = [scope_sql(ids, conf), "a.status <> 'draft'"]
        if flt.status:
            where.append(f"a.status = {p(flt.status)}")
        if flt.unit_id:
            where.append(f"EXISTS (SELECT 1 FROM agenda_item_unit iu WHERE iu.item = a.id AND iu.unit = {int(flt.unit_id)})")
    elif kind == "resolutions":
        source = "resolution r JOIN agenda_item a ON a.id = r.item"
        conf, street, stamp, order = "r.conference", "a.street", "r.adopted_at", "r.adopted_at DESC, r.id DESC"
        where = [scope_sql(ids, conf)]
        open_task = f"EXISTS (SELECT 1 FROM task t WHERE t.resolution = r.id AND t.status IN {_OPEN_SQL})"
        if flt.status == "open":
            where.append(open_task)
        elif flt.status == "done":
            where.append("NOT " + open_task)
        if flt.unit_id:
            where.append(f"EXISTS (SELECT 1 FROM resolution_unit ru WHERE ru.resolution = r.id AND ru.unit = {int(flt.unit_id)})")
    else:
        source, conf, street, stamp, order = "task t", "t.conference", "t.street", "t.assigned_at", "t.assigned_at DESC, t.id DESC"
        where = [scope_sql(ids, conf)]
        if flt.status:
            where.append(f"t.status = {p(flt.status)}")
        if flt.unit_id:
            where.append(f"t.unit = {int(flt.unit_id)}")
    if flt.street_id:
        where.append(f"{street} = {int(flt.street_id)}")
    if flt.start:
        where.append(f"{stamp} >= {p(local_midnight(flt.start))}")
    if flt.end:
        where.append(f"{stamp} < {p(local_midnight(flt.end + dt.timedelta(days=1)))}")
    return source, " AND ".join(where), order


_LEDGER_SELECT = {
    "items": """
        SELECT a.id, a.title, a.category, a.urgency, a.status, a.submitted_at, a.meetings_waited,
               c.name AS conference_name, s.name AS street_name, iu.names AS units
        FROM page JOIN agenda_item a ON a.id = page.id
        JOIN conference c ON c.id = a.conference
        LEFT JOIN street s ON s.id = a.street
        LEFT JOIN (SELECT x.item, {names} AS names
                   FROM (SELECT iu.item, u.name FROM agenda_item_unit iu JOIN member_unit u ON u.id = iu.unit
                         WHERE iu.item IN (SELECT id FROM page) ORDER BY u.sort_key, u.name) x
                   GROUP BY x.item) iu ON iu.item = a.id
    """,
    "resolutions": """
        SELECT r.id, r.number, r.text, r.deadline, r.deadline_provisional, r.adopted_at, m.title AS meeting_title,
               m.starts_at AS meeting_at,
               a.title AS item_title, s.name AS street_name, c.name AS conference_name, lu.name AS lead_unit_name,
               co.names AS cooperating, COALESCE(tk.total, 0) AS tasks, COALESCE(tk.closed, 0) AS closed_tasks,
               COALESCE(tk.open_n, 0) AS open_tasks
        FROM page JOIN resolution r ON r.id = page.id
        JOIN agenda_item a ON a.id = r.item
        JOIN meeting m ON m.id = r.meeting
        JOIN conference c ON c.id = r.conference
        JOIN member_unit lu ON lu.id = r.lead_unit
        LEFT JOIN street s ON s.id = a.street
        LEFT JOIN (SELECT x.resolution, {names} AS names
                   FROM (SELECT ru.resolution, u.name FROM resolution_unit ru JOIN member_unit u ON u.id = ru.unit
                         WHERE ru.role = 'cooperate' AND ru.resolution IN (SELECT id FROM page) ORDER BY u.sort_key, u.name) x
                   GROUP BY x.resolution) co ON co.resolution = r.id
        LEFT JOIN (SELECT t.resolution, COUNT(*) AS total,
                          SUM(CASE WHEN t.status = 'closed' THEN 1 ELSE 0 END) AS closed,
                          SUM(CASE WHEN t.status IN {open} THEN 1 ELSE 0 END) AS open_n
                   FROM task t WHERE t.resolution IN (SELECT id FROM page) AND t.status <> 'cancelled'
                   GROUP BY t.resolution) tk ON tk.resolution = r.id
    """,
    "tasks": """
        SELECT t.id, t.role, t.status, t.assigned_at, t.ack_due, t.acknowledged_at, t.deadline, t.deadline_provisional,
               t.closed_at, t.rating, t.rating_comment, t.extension_status, t.extension_deadline,
               r.number AS resolution_number, m.title AS meeting_title,
               a.title AS item_title, r.text AS resolution_text, u.name AS unit_name, c.name AS conference_name,
               s.name AS street_name, lr.text AS progress_text, lr.created_at AS progress_at
        FROM page JOIN task t ON t.id = page.id
        JOIN resolution r ON r.id = t.resolution
        JOIN meeting m ON m.id = r.meeting
        JOIN agenda_item a ON a.id = r.item
        JOIN member_unit u ON u.id = t.unit
        JOIN conference c ON c.id = t.conference
        LEFT JOIN street s ON s.id = t.street
        LEFT JOIN task_report lr ON lr.id = (
            SELECT x.id FROM task_report x WHERE x.task = t.id AND x.kind IN ('progress', 'done')
            ORDER BY x.created_at DESC, x.id DESC LIMIT 1)
    """,
}


async def ledger_rows(ids: set[int] | None, flt: LedgerFilter, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """The ledger's rows in its order (newest first): the page is chosen first, then only its
    rows are joined and aggregated. One statement."""
    p = Params()
    source, where, order = _ledger_where(p, ids, flt)
    select = _LEDGER_SELECT[flt.kind].format(names=_names("x.name"), open=_OPEN_SQL)
    alias = source.split()[1]
    return await fetch(f"""
        WITH page AS (SELECT {alias}.id FROM {source} WHERE {where} ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)})
        {select}
        ORDER BY {order}""", *p)


async def ledger_count(ids: set[int] | None, flt: LedgerFilter) -> int:
    p = Params()
    source, where, _order = _ledger_where(p, ids, flt)
    rows = await fetch(f"SELECT COUNT(*) AS n FROM {source} WHERE {where}", *p)
    return int(rows[0]["n"])


async def filter_options() -> dict[str, list[dict[str, Any]]]:
    """Units and streets for the ledger's filters (two statements)."""
    units = await fetch("SELECT u.id, u.name FROM member_unit u ORDER BY u.sort_key, u.name")
    streets = await fetch("SELECT s.id, s.name FROM street s ORDER BY s.sort_key, s.name")
    return {"units": units, "streets": streets}
