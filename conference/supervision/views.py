"""The supervision figures (督办统计) counted over the task table: the four rates per unit, street or
conference for a period, their monthly trend and the annual assessment's rates, by the rules of
conference.supervision.rates. Every table is one statement over `task`: UNION ALL branches, each
restricted by its own period column (a range on a covering index) and grouped by the table's key
(unit, street, conference, or month). The rate table also counts the tasks assigned and closed in
the period. The number of queries of a page never depends on the amount of data.

The dashboard reads the same figures from the per-day rollup instead (conference.supervision.rollup,
kept by triggers in the transaction of every task change); these statements stay the reference it is
tested against, and serve what the rollup cannot answer (a 督办通报's closings before an instant)."""

# SQL is assembled from fixed fragments, int()-converted ids and a validated zone name; every user value is bound.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from conference.db import fetch
from conference.i18n import gettext as _
from conference.supervision import rollup
from conference.supervision.alerts import alerts
from conference.supervision.rates import Figures, Period, local_midnight, next_month, score, total_of, weight_for
from conference.supervision.scope import figure_scope
from conference.supervision.sqlparts import Params, end_of_day, scope_sql

# Read by the JSON API (conference.supervision.api) and the tests under these names.
__all__ = ["Figures", "Period", "alerts", "assessment_rows", "figure_scope", "rate_rows", "total_of", "trend", "weight_for"]

_GROUP_SQL = {"unit": ("t.unit", "member_unit"), "street": ("t.street", "street"), "conference": ("t.conference", "conference")}


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
    in_time = f"t.acknowledged_at < {end_of_day('t.ack_due')}"

    def closed() -> str:  # a callable: its bound value is appended where the text is placed
        return "t.status = 'closed'" if as_of is None else f"t.status = 'closed' AND t.closed_at < {p(as_of)}"

    def closed_in_time() -> str:
        return f"{closed()} AND t.closed_at < {end_of_day('t.deadline')}"

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
                    as_of: dt.datetime | None = None, *, from_rollup: bool = True) -> list[dict[str, Any]]:
    """The four rates per unit, street or conference as of `day` (one statement), with the tasks
    assigned and closed in the period, sorted by name; tasks of items the office raised itself have
    no street and form their own group. A group with tasks in the period but nothing due yet is
    listed, its rates "—". `as_of`: closings after that instant do not count (see _figures), read
    from `task`; otherwise the figures come from the rollup (`from_rollup`, the default)."""
    key, table = _GROUP_SQL[group]
    p = Params()
    if from_rollup and as_of is None:
        figures = rollup.figures(p, ids, period, group, rollup.group_key(group), day, counts=True)
    else:
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



async def trend(ids: set[int] | None, months: list[dt.date], day: dt.date, *, from_rollup: bool = True) -> list[dict[str, Any]]:
    """The four rates per month as of `day` (one statement): each task lands in the month of its own
    period column, bucketed by bound month boundaries (local midnight), so the zone's rules apply."""
    boundaries = [next_month(m) for m in months[:-1]]

    def bucket(p: Params, column: str, kind: str) -> str:  # the month's index
        whens = " ".join(
            f"WHEN {column} < {p(local_midnight(b) if kind == 'ts' else b)} THEN {i}" for i, b in enumerate(boundaries))
        return f"CASE {whens} ELSE {len(months) - 1} END"

    period = Period(months[0], next_month(months[-1]) - dt.timedelta(days=1))
    p = Params()
    if from_rollup:
        rows = await fetch(rollup.figures(p, ids, period, "", bucket, day, years=False), *p)
    else:
        rows = await fetch(_figures(p, scope_sql(ids), period, bucket, day), *p)
    figures = [Figures() for _m in months]
    for row in rows:
        figures[int(row["k"])].add_row(row)
    return [{"month": m, "label": _("{y}年{m}月").format(y=m.year, m=m.month), **f.as_dict()}
            for m, f in zip(months, figures, strict=True)]


async def assessment_rows(ids: set[int] | None, year: int, day: dt.date, *, from_rollup: bool = True) -> list[dict[str, Any]]:
    """Per unit, for one year: the rates, the score, the weight and the weighted contribution
    (score × weight: the points the evaluation brings to a 100-point annual assessment). Units
    that are members of a conference in scope during the year appear even without tasks. Rates as of
    `day` (see the module's rules)."""
    period = Period.year(year)
    p = Params()
    if from_rollup:
        figures = rollup.figures(p, ids, period, "unit", rollup.group_key("unit"), day)
    else:
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
