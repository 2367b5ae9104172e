"""The supervision figures read from `task_rollup` (migration 2026-12-05T03): per conference (0: all
conferences together) and unit (dim 'u'), street (dim 's', k 0 for none) or in total (dim 't'), the
number of tasks of each measure on each local day (grain 'd'), month ('m') and year ('y'), kept by
triggers in the transaction of every task change. Same rows out as the statements over `task`
(conference.supervision.views._figures: measure, k, d, n, n2), so the same Figures add them up.

"As of day D" stays exact: a measure whose tasks count only once a day has ended (a missed
acknowledgement, a task due) is stored by that day, so D cuts its range: missed acknowledgements and
all tasks due are read for days before D, and after that only the closed ones (hit = 1). A range of
days is read as whole years, then whole months, then days at either end: a year's figures are a
few thousand rows whatever the number of tasks; with every conference in scope (an admin, a city
office) the rows of conference 0 are read, so their number does not grow with the conferences.

The open-task counts of the alerts (open, overdue as of D) come from the `open` rows, by deadline.

Statements are QueryStrings (conference.supervision.sqlparts): constant text (dims, grains, measures
are literals, as the rollup's index leads with them), every value bound."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from piccolo.querystring import QueryString as Q

from conference import db
from conference.supervision.rates import Period, next_month
from conference.supervision.sqlparts import FALSE, is_postgres, scope_sql

Key = Callable[[Q, str], Q]  # as conference.supervision.views.Key: (column, kind) -> SQL
DIM_KEYS = {"unit": (Q("r.dim = 'u'"), Q("r.k")), "street": (Q("r.dim = 's'"), Q("NULLIF(r.k, 0)")),
            "conference": (Q("r.dim = 't'"), Q("r.conference"))}
TOTAL = Q("r.dim = 't'")
# The rows of one grain on the days [first, last] (bound): constant text, one per grain.
PIECES = {"y": "(r.grain = 'y' AND r.day >= {} AND r.day <= {})", "m": "(r.grain = 'm' AND r.day >= {} AND r.day <= {})",
          "d": "(r.grain = 'd' AND r.day >= {} AND r.day <= {})"}
# The rollup rows figures() adds up, of a dimension and the conferences in scope (both bound).
ROWS = "SELECT r.day, r.k, r.conference, r.measure, r.n, r.hit, r.hit2 FROM task_rollup r WHERE {} AND {}"


def _pieces(first: dt.date, last: dt.date, years: bool) -> list[tuple[str, dt.date, dt.date]]:
    """(grain, first row day, last row day) covering the days [first, last] exactly."""
    if first > last:
        return []
    if years:
        year_from = first.year + (first != dt.date(first.year, 1, 1))
        year_to = last.year - (last != dt.date(last.year, 12, 31))
        if year_from <= year_to:
            return [*_pieces(first, dt.date(year_from, 1, 1) - dt.timedelta(days=1), False),
                    ("y", dt.date(year_from, 1, 1), dt.date(year_to, 1, 1)),
                    *_pieces(dt.date(year_to + 1, 1, 1), last, False)]
    months_from = first if first.day == 1 else next_month(first)
    months_until = (last + dt.timedelta(days=1)).replace(day=1)  # exclusive
    if months_from >= months_until:
        return [("d", first, last)]
    pieces = [("d", first, months_from - dt.timedelta(days=1))] if first < months_from else []
    pieces.append(("m", months_from, (months_until - dt.timedelta(days=1)).replace(day=1)))
    if months_until <= last:
        pieces.append(("d", months_until, last))
    return pieces


def days(first: dt.date, last: dt.date, *, years: bool = True) -> Q:
    """SQL choosing the rows that add up to the days [first, last]: whole years from the year rows
    (unless `years` is false: a trend bucketed by month), whole months from the month rows, the days
    at either end from the day rows. "1=0" for an empty range."""
    pieces = _pieces(first, last, years)
    if not pieces:
        return FALSE
    # One QueryString of the pieces' constant texts (not one nested fragment each: the dashboard
    # composes some 50 of them a page, and each costs Piccolo's QueryString a few microseconds).
    return Q("(" + " OR ".join(PIECES[g] for g, _lo, _hi in pieces) + ")", *(v for _g, lo, hi in pieces for v in (lo, hi)))


def conferences(ids: set[int] | None, group: str = "") -> Q:
    """Rows of the conferences in scope; every conference: the rows of conference 0, unless the
    figures are grouped by conference."""
    if ids is None:
        return Q("r.conference <> 0") if group == "conference" else Q("r.conference = 0")
    return scope_sql(ids, Q("r.conference"))


def figures(ids: set[int] | None, period: Period, group: str, key: Key, day: dt.date, *, counts: bool = False,
            years: bool = True) -> Q:
    """Rows (measure, k, d, n, n2) per group key `k`, as views._figures gives them (one row per
    measure and group rather than per branch; Figures adds them up alike). `group`: unit, street,
    conference, or "" (in total, e.g. by month with `years` false)."""
    dim = DIM_KEYS[group][0] if group else TOTAL
    settled_until = min(period.end, day - dt.timedelta(days=1))  # days that have ended
    closed_from = max(period.start, day)
    group_sql = key(Q("r.day"), "date")
    every = "r.measure IN ('assigned', 'closed', 'satisfaction')" if counts else "r.measure IN ('satisfaction')"
    # (condition on the measure, first day, last day); the five select disjoint rows (by measure and
    # hit, or by days: settled_until < closed_from), and so do a range's pieces.
    selections = [
        (every, period.start, period.end),
        ("r.measure = 'response' AND r.hit = 1", period.start, period.end),
        ("r.measure = 'response' AND r.hit = 0", period.start, settled_until),
        ("r.measure = 'due'", period.start, settled_until),
        ("r.measure = 'due' AND r.hit = 1", closed_from, period.end),
    ]
    scope = conferences(ids, group)
    if is_postgres():
        # One WHERE with the selections OR-ed: PostgreSQL reads it as one BitmapOr of primary-key
        # ranges (the dashboard's rate table: 1.9 ms); as the UNION ALL below it plans parallel
        # workers (14 ms, more on a busy machine).
        where = db.joined((Q("(" + measure + " AND {})", days(first, last, years=years)) for measure, first, last in selections),
                          " OR ")
        rows = Q(ROWS + " AND ({})", dim, scope, where)
    else:
        # One branch per selection and piece, each a range of the primary key, joined by UNION ALL:
        # the same rows as the OR-ed WHERE, which SQLite reads as a MULTI-INDEX OR keeping a row set
        # to drop duplicates there cannot be (the dashboard's rate table: 2.7 ms against 1.1).
        branches = [Q(ROWS + " AND " + measure + " AND " + PIECES[g], dim, scope, lo, hi)
                    for measure, first, last in selections for g, lo, hi in _pieces(first, last, years)]
        rows = db.joined(branches, " UNION ALL ") if branches else Q(ROWS + " AND 1=0", dim, scope)
    return Q("SELECT s.measure, s.gk AS k, SUM(s.n) AS d, SUM(s.n * s.hit) AS n, SUM(s.n * s.hit2) AS n2 "
             "FROM (SELECT {} AS gk, r.measure, r.n, r.hit, r.hit2 FROM ({}) r) s "
             "GROUP BY s.gk, s.measure HAVING SUM(s.n) <> 0", group_sql, rows)


def group_key(group: str) -> Key:
    column = DIM_KEYS[group][1]
    return lambda _column, _kind: column


def open_counts(ids: set[int] | None, day: dt.date) -> Q:
    """One row (open_n, overdue): open tasks (the year rows), and those whose deadline is before
    `day`."""
    first, last = dt.date(1900, 1, 1), day - dt.timedelta(days=1)
    overdue = days(first, last)
    return Q("SELECT SUM(CASE WHEN r.grain = 'y' THEN r.n ELSE 0 END) AS open_n, SUM(CASE WHEN {} THEN r.n ELSE 0 END) AS overdue "
             "FROM task_rollup r WHERE r.dim = 't' AND r.measure = 'open' AND {} AND (r.grain = 'y' OR {})",
             overdue, conferences(ids), overdue)
