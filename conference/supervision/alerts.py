"""The office's work list (督办提醒) as of a day: counts of open tasks and of each alert, and the
lists of overdue (red), due soon (yellow) and not acknowledged in time, as on the task list
(conference.tasks.services.alert). Raw SQL over `task` (see conference.supervision.sqlparts); the
dashboard's counts of open and overdue tasks come from the rollup (conference.supervision.rollup)."""

# SQL is assembled from fixed fragments and int()-converted ids; every user value is bound.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from typing import Any

from conference.db import fetch
from conference.errors import DomainError
from conference.settings import get_settings
from conference.supervision import rollup
from conference.supervision.sqlparts import OPEN_SQL, Params, as_date, is_postgres, scope_sql
from conference.tasks.services import workdays_after
from conference.workdays import workdays_between

TASK_LIST_SQL = """
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


async def alerts(ids: set[int] | None, day: dt.date, limit: int = 30, as_of: dt.datetime | None = None, *,
                 from_rollup: bool = True) -> dict[str, Any]:
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
            return f"t.status IN {OPEN_SQL}"
        return (f"t.assigned_at < {p(as_of)} AND (t.status IN {OPEN_SQL} OR (t.status = 'closed' AND t.closed_at >= {p(as_of)}))")

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
    if from_rollup and as_of is None:
        # Open and overdue from the rollup; the other two counts read only tasks not yet due (a range
        # on the status and deadline index).
        head = rollup.open_counts(p, ids, day)
        sql = f"""
            SELECT o.open_n, o.overdue, x.unack, y.yellow FROM ({head}) o,
            (SELECT COUNT(*) AS unack FROM task t WHERE {scope} AND {unack(p)}) x,
            (SELECT COUNT(*) AS yellow FROM task t WHERE {scope} AND {open_sql(p)} AND {yellow(p)}) y"""
    else:
        sql = f"""
            SELECT COUNT(*) AS open_n, SUM(CASE WHEN {red(p)} THEN 1 ELSE 0 END) AS overdue,
                   SUM(CASE WHEN {unack(p)} THEN 1 ELSE 0 END) AS unack,
                   SUM(CASE WHEN {yellow(p)} THEN 1 ELSE 0 END) AS yellow
            FROM task t WHERE {scope} AND {open_sql(p)}"""
    counts = await fetch(sql, *p)
    p = Params()
    sql = f"{TASK_LIST_SQL} WHERE {scope} AND {open_sql(p)} AND {red(p)} ORDER BY t.deadline, t.id LIMIT {int(limit)}"
    overdue = await fetch(sql, *p)
    p = Params()
    sql = f"{TASK_LIST_SQL} WHERE {scope} AND {open_sql(p)} AND {yellow(p)} ORDER BY t.deadline, t.id LIMIT {int(limit)}"
    soon = await fetch(sql, *p)
    p = Params()
    still_open = "" if as_of is None else f" AND {open_sql(p)}"  # today: status 'assigned' is open
    if as_of is None and from_rollup:
        # The page of tasks first, from the index on status and deadline (tasks not yet due), then
        # their names. SQLite is kept off the ack_due index (unary +, a no-op on the value), which
        # would read every task ever left unacknowledged to find the few not yet due.
        ack = "t.ack_due" if is_postgres() else "+t.ack_due"
        page = (f"SELECT t.id FROM task t WHERE {scope} AND t.status = 'assigned' AND {ack} < {p(day)} AND t.deadline >= {p(day)} "
                f"ORDER BY {ack}, t.id LIMIT {int(limit)}")
        sql = f"{TASK_LIST_SQL} WHERE t.id IN ({page}) ORDER BY t.ack_due, t.id"
    else:
        sql = f"{TASK_LIST_SQL} WHERE {scope}{still_open} AND {unack(p)} ORDER BY t.ack_due, t.id LIMIT {int(limit)}"
    late = await fetch(sql, *p)
    for row in overdue:
        row["days"] = (day - as_date(row["deadline"])).days
    for row in soon:
        row["workdays"] = _workdays_left(day, as_date(row["deadline"]))
    for row in late:
        row["days"] = (day - as_date(row["ack_due"])).days
    first = counts[0]
    return {"overdue": overdue, "yellow": soon, "unack": late, "open_total": int(first["open_n"] or 0),
            "overdue_total": int(first["overdue"] or 0), "yellow_total": int(first["yellow"] or 0),
            "unack_total": int(first["unack"] or 0), "yellow_until": until,
            "yellow_workdays": get_settings().supervision_yellow_workdays}

