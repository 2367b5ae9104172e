"""The office's work list (督办提醒) as of a day: counts of open tasks and of each alert, and the
lists of overdue (red), due soon (yellow) and not acknowledged in time, as on the task list
(conference.tasks.services.alert). Raw SQL over `task` (see conference.supervision.sqlparts); the
dashboard's counts of open and overdue tasks come from the rollup (conference.supervision.rollup).
Statements are QueryStrings of constant text, every value bound."""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.querystring import QueryString as Q

from conference.db import as_date, fetch
from conference.errors import DomainError
from conference.settings import get_settings
from conference.supervision import rollup
from conference.supervision.sqlparts import NOTHING, OPEN_SQL, is_postgres, scope_sql
from conference.tasks.services import yellow_until as yellow_until  # the task alerts' limit, read from here by the API
from conference.workdays import workdays_between

TASK_LIST_SQL = Q("""
    SELECT t.id, t.deadline, t.ack_due, t.assigned_at, t.status, t.role, t.extension_status, t.acknowledged_at,
           u.name AS unit_name, c.name AS conference_name, s.name AS street_name, a.title AS item_title
    FROM task t
    JOIN member_unit u ON u.id = t.unit
    JOIN conference c ON c.id = t.conference
    LEFT JOIN street s ON s.id = t.street
    JOIN resolution r ON r.id = t.resolution
    JOIN agenda_item a ON a.id = r.item
""")


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

    if as_of is None:
        open_sql = Q("t.status IN {}", OPEN_SQL)
        not_acked = Q("t.status = 'assigned'")
    else:
        open_sql = Q("t.assigned_at < {} AND (t.status IN {} OR (t.status = 'closed' AND t.closed_at >= {}))", as_of, OPEN_SQL, as_of)
        not_acked = Q("(t.acknowledged_at IS NULL OR t.acknowledged_at >= {})", as_of)
    red = Q("t.deadline < {}", day)
    unack = Q("{} AND t.ack_due < {} AND t.deadline >= {}", not_acked, day, day)
    yellow = Q("t.deadline >= {} AND t.deadline < {} AND NOT ({} AND t.ack_due < {})", day, until, not_acked, day)

    if from_rollup and as_of is None:
        # Open and overdue from the rollup; the other two counts read only tasks not yet due (a range
        # on the status and deadline index).
        sql = Q("""
            SELECT o.open_n, o.overdue, x.unack, y.yellow FROM ({}) o,
            (SELECT COUNT(*) AS unack FROM task t WHERE {} AND {}) x,
            (SELECT COUNT(*) AS yellow FROM task t WHERE {} AND {} AND {}) y""",
                rollup.open_counts(ids, day), scope, unack, scope, open_sql, yellow)
    else:
        sql = Q("""
            SELECT COUNT(*) AS open_n, SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS overdue,
                   SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS unack,
                   SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS yellow
            FROM task t WHERE {} AND {}""", red, unack, yellow, scope, open_sql)
    counts = await fetch(sql)
    overdue = await fetch(Q("{} WHERE {} AND {} AND {} ORDER BY t.deadline, t.id LIMIT {}", TASK_LIST_SQL, scope, open_sql, red, int(limit)))
    soon = await fetch(Q("{} WHERE {} AND {} AND {} ORDER BY t.deadline, t.id LIMIT {}", TASK_LIST_SQL, scope, open_sql, yellow, int(limit)))
    if as_of is None and from_rollup:
        # The page of tasks first, from the index on status and deadline (tasks not yet due), then
        # their names. SQLite is kept off the ack_due index (unary +, a no-op on the value), which
        # would read every task ever left unacknowledged to find the few not yet due.
        ack = Q("t.ack_due") if is_postgres() else Q("+t.ack_due")
        page = Q("SELECT t.id FROM task t WHERE {} AND t.status = 'assigned' AND {} < {} AND t.deadline >= {} ORDER BY {}, t.id LIMIT {}",
                 scope, ack, day, day, ack, int(limit))
        sql = Q("{} WHERE t.id IN ({}) ORDER BY t.ack_due, t.id", TASK_LIST_SQL, page)
    else:
        still_open = NOTHING if as_of is None else Q(" AND {}", open_sql)  # today: status 'assigned' is open
        sql = Q("{} WHERE {}{} AND {} ORDER BY t.ack_due, t.id LIMIT {}", TASK_LIST_SQL, scope, still_open, unack, int(limit))
    late = await fetch(sql)
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

