"""The supervision figures read from `task_rollup` (migration 2026-12-05T03): per conference and unit
(dim 'u') or street (dim 's', k 0 for none), the number of tasks of each measure on each local day
(grain 'd') and month (grain 'm'), kept by triggers in the transaction of every task change. Same
rows out as the statements over `task` (conference.supervision.views._figures: measure, k, d, n, n2),
so the same Figures add them up.

"As of day D" stays exact: a measure whose tasks count only once a day has ended (a missed
acknowledgement, a task due) is stored by that day, so D cuts its range: missed acknowledgements and
all tasks due are read for days before D, and after that only the closed ones (hit = 1). A range of
days is read as whole months from the month rows and the days at either end from the day rows:
a year's figures are a few hundred rows whatever the number of tasks.

The open-task counts of the alerts (open, overdue as of D) come from the `open` rows, by deadline."""

# SQL is assembled from fixed fragments and int()-converted ids; every value is bound.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from conference.supervision.rates import Period, next_month
from conference.supervision.sqlparts import Params, scope_sql

Key = Callable[[Params, str, str], str]  # as conference.supervision.views.Key: (params, column, kind) -> SQL
DIM_KEYS = {"unit": ("u", "r.k"), "street": ("s", "NULLIF(r.k, 0)"), "conference": ("u", "r.conference")}


def days(p: Params, first: dt.date, last: dt.date) -> str:
    """SQL choosing the rows that add up to the days [first, last]: whole months from the month
    rows, the days at either end from the day rows. "1=0" for an empty range."""
    if first > last:
        return "1=0"
    months_from = first if first.day == 1 else next_month(first)
    months_until = (last + dt.timedelta(days=1)).replace(day=1)  # exclusive
    if months_from >= months_until:
        return f"(r.grain = 'd' AND r.day >= {p(first)} AND r.day <= {p(last)})"
    parts = []
    if first < months_from:
        parts.append(f"(r.grain = 'd' AND r.day >= {p(first)} AND r.day < {p(months_from)})")
    parts.append(f"(r.grain = 'm' AND r.day >= {p(months_from)} AND r.day < {p(months_until)})")
    if months_until <= last:
        parts.append(f"(r.grain = 'd' AND r.day >= {p(months_until)} AND r.day <= {p(last)})")
    return "(" + " OR ".join(parts) + ")"


def figures(p: Params, ids: set[int] | None, period: Period, dim: str, key: Key, day: dt.date, *, counts: bool = False) -> str:
    """Rows (measure, k, d, n, n2) per group key `k`, as views._figures gives them (one row per
    measure and group rather than per branch; Figures adds them up alike)."""
    settled_until = min(period.end, day - dt.timedelta(days=1))  # days that have ended
    closed_from = max(period.start, day)
    group = key(p, "r.day", "date")
    every = ("'assigned', 'closed', 'satisfaction'" if counts else "'satisfaction'")
    conditions = [
        f"(r.measure IN ({every}) AND {days(p, period.start, period.end)})",
        f"(r.measure = 'response' AND r.hit = 1 AND {days(p, period.start, period.end)})",
        f"(r.measure = 'response' AND r.hit = 0 AND {days(p, period.start, settled_until)})",
        f"(r.measure = 'due' AND {days(p, period.start, settled_until)})",
        f"(r.measure = 'due' AND r.hit = 1 AND {days(p, closed_from, period.end)})",
    ]
    return (f"SELECT s.measure, s.gk AS k, SUM(s.n) AS d, SUM(s.n * s.hit) AS n, SUM(s.n * s.hit2) AS n2 "
            f"FROM (SELECT {group} AS gk, r.measure, r.n, r.hit, r.hit2 FROM task_rollup r "
            f"WHERE r.dim = '{dim}' AND {scope_sql(ids, 'r.conference')} AND ({' OR '.join(conditions)})) s "
            f"GROUP BY s.gk, s.measure HAVING SUM(s.n) <> 0")


def group_key(group: str) -> tuple[str, Key]:
    dim, column = DIM_KEYS[group]
    return dim, lambda _p, _column, _kind: column


def open_counts(p: Params, ids: set[int] | None, day: dt.date) -> str:
    """One row (open_n, overdue): open tasks, and those whose deadline is before `day`: every month
    row, and the day rows of the month of `day` before it."""
    overdue = days(p, dt.date(1900, 1, 1), day - dt.timedelta(days=1))
    return (f"SELECT SUM(CASE WHEN r.grain = 'm' THEN r.n ELSE 0 END) AS open_n, SUM(CASE WHEN {overdue} THEN r.n ELSE 0 END) AS overdue "
            f"FROM task_rollup r WHERE r.dim = 'u' AND r.measure = 'open' AND {scope_sql(ids, 'r.conference')} "
            f"AND (r.grain = 'm' OR (r.day >= {p(day.replace(day=1))} AND r.day < {p(day)}))")
