"""The supervision figures (督办统计) counted over the task table: the four rates per unit, street or
conference for a period, their monthly trend and the annual assessment's rates, by the rules of
conference.supervision.rates. Every table is one statement over `task`: UNION ALL branches, each
restricted by its own period column (a range on a covering index) and grouped by the table's key
(unit, street, conference, or month). The rate table also counts the tasks assigned and closed in
the period. The number of queries of a page never depends on the amount of data.

The dashboard reads the same figures from the per-day rollup instead (conference.supervision.rollup,
kept by triggers in the transaction of every task change); these statements stay the reference it is
tested against, and serve what the rollup cannot answer (a 督办通报's closings before an instant).

Statements are Piccolo QueryStrings composed of nested fragments (conference.supervision.sqlparts):
constant SQL text, every value bound."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from piccolo.querystring import QueryString as Q

from conference import db
from conference.db import fetch
from conference.i18n import gettext as _
from conference.supervision import rollup
from conference.supervision.alerts import alerts
from conference.supervision.rates import Figures, Period, local_midnight, next_month, score, total_of, weight_for
from conference.supervision.scope import figure_scope
from conference.supervision.sqlparts import FALSE, NOTHING, TRUE, end_of_day, scope_sql

# Read by the JSON API (conference.supervision.api) and the tests under these names.
__all__ = ["Figures", "Period", "alerts", "assessment_rows", "figure_scope", "rate_rows", "total_of", "trend", "weight_for"]

_GROUP_SQL = {"unit": (Q("t.unit"), Q("member_unit")), "street": (Q("t.street"), Q("street")),
              "conference": (Q("t.conference"), Q("conference"))}


Key = Callable[[Q, str], Q]  # (period column, "ts" | "date") -> SQL of the group key


def _figures(scope: Q, period: Period, key: Key, day: dt.date, *, counts: bool = False,
             as_of: dt.datetime | None = None) -> Q:
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
    base = Q("t.status <> 'cancelled' AND {}", scope)
    in_time = Q("t.acknowledged_at < {}", end_of_day(Q("t.ack_due")))
    closed = Q("t.status = 'closed'") if as_of is None else Q("t.status = 'closed' AND t.closed_at < {}", as_of)
    closed_in_time = Q("{} AND t.closed_at < {}", closed, end_of_day(Q("t.deadline")))

    def branch(measure: Q, column: Q, kind: str, hit: Q, hit2: Q, condition: Q, last: dt.date | None = None) -> Q:
        if kind == "ts":  # [start, local midnight after end)
            within = Q("{} >= {} AND {} < {}", column, lo, column, hi)
        else:  # [start date, end date]
            within = Q("{} >= {} AND {} <= {}", column, period.start, column, last or period.end)
        return Q("SELECT {} AS measure, s.k, COUNT(*) AS d, SUM(s.hit) AS n, SUM(s.hit2) AS n2 "
                 "FROM (SELECT {} AS k, CASE WHEN {} THEN 1 ELSE 0 END AS hit, CASE WHEN {} THEN 1 ELSE 0 END AS hit2"
                 " FROM task t WHERE {}{} AND {}) s GROUP BY s.k",
                 measure, key(column, kind), hit, hit2, base, condition, within)

    branches = []
    if counts:
        branches.append(branch(Q("'assigned'"), Q("t.assigned_at"), "ts", FALSE, FALSE, NOTHING))
    branches += [
        branch(Q("'response'"), Q("t.acknowledged_at"), "ts", TRUE, FALSE, Q(" AND {}", in_time)),
        # Not acknowledged in time: a miss once the ack_due day has ended (before today).
        branch(Q("'response'"), Q("t.ack_due"), "date", FALSE, FALSE,
               Q(" AND (t.acknowledged_at IS NULL OR NOT ({}))", in_time), min(period.end, day - dt.timedelta(days=1))),
        branch(Q("'due'"), Q("t.deadline"), "date", closed, closed_in_time, Q(" AND (t.deadline < {} OR ({}))", day, closed)),
    ]
    if counts:
        # The status test is counted (n), not filtered on, so the range on closed_at picks the index.
        branches.append(branch(Q("'closed'"), Q("t.closed_at"), "ts", Q("t.status = 'closed'"), FALSE, NOTHING))
    branches.append(branch(Q("'satisfaction'"), Q("t.rated_at"), "ts", Q("t.rating IN ('satisfied', 'basically_satisfied')"),
                           FALSE, Q(" AND t.rating <> ''")))
    return db.joined(branches, " UNION ALL ")


def _column(name: Q) -> Key:
    return lambda _column, _kind: name


async def rate_rows(ids: set[int] | None, period: Period, group: str, day: dt.date,
                    as_of: dt.datetime | None = None, *, from_rollup: bool = True) -> list[dict[str, Any]]:
    """The four rates per unit, street or conference as of `day` (one statement), with the tasks
    assigned and closed in the period, sorted by name; tasks of items the office raised itself have
    no street and form their own group. A group with tasks in the period but nothing due yet is
    listed, its rates "—". `as_of`: closings after that instant do not count (see _figures), read
    from `task`; otherwise the figures come from the rollup (`from_rollup`, the default)."""
    key, table = _GROUP_SQL[group]
    if from_rollup and as_of is None:
        figures = rollup.figures(ids, period, group, rollup.group_key(group), day, counts=True)
    else:
        figures = _figures(scope_sql(ids), period, _column(key), day, counts=True, as_of=as_of)
    kind = Q(", x.kind AS kind") if group == "unit" else NOTHING
    rows = await fetch(Q("""
        SELECT g.k, g.measure, g.d, g.n, g.n2, x.name AS name{}
        FROM ({}) g LEFT JOIN {} x ON x.id = g.k""", kind, figures, table))
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



_WHEN = "WHEN {} < {} THEN CAST({} AS INTEGER) "  # one constant text per month boundary (not a fragment each)


async def trend(ids: set[int] | None, months: list[dt.date], day: dt.date, *, from_rollup: bool = True) -> list[dict[str, Any]]:
    """The four rates per month as of `day` (one statement): each task lands in the month of its own
    period column, bucketed by bound month boundaries (local midnight), so the zone's rules apply."""
    boundaries = [next_month(m) for m in months[:-1]]

    def bucket(column: Q, kind: str) -> Q:  # the month's index (an integer: a bare bound value would be text on PostgreSQL)
        values = [v for i, b in enumerate(boundaries) for v in (column, local_midnight(b) if kind == "ts" else b, i)]
        return Q("CASE " + _WHEN * len(boundaries) + "ELSE CAST({} AS INTEGER) END", *values, len(months) - 1)

    period = Period(months[0], next_month(months[-1]) - dt.timedelta(days=1))
    if from_rollup:
        rows = await fetch(rollup.figures(ids, period, "", bucket, day, years=False))
    else:
        rows = await fetch(_figures(scope_sql(ids), period, bucket, day))
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
    if from_rollup:
        figures = rollup.figures(ids, period, "unit", rollup.group_key("unit"), day)
    else:
        figures = _figures(scope_sql(ids), period, _column(Q("t.unit")), day)
    membership = Q("SELECT m.unit FROM membership m WHERE {} AND m.start_date <= {} AND (m.end_date IS NULL OR m.end_date >= {})",
                   scope_sql(ids, Q("m.conference")), period.end, period.start)
    rows = await fetch(Q("""
        WITH g AS ({})
        SELECT u.id, u.name, u.kind, g.measure, g.d, g.n, g.n2
        FROM member_unit u LEFT JOIN g ON g.k = u.id
        WHERE u.id IN (SELECT g.k FROM g) OR u.id IN ({})
        ORDER BY u.sort_key, u.name""", figures, membership))
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
