"""Read side of the ledgers (台账: agenda items, resolutions, tasks): the filter, the page of rows in
the ledger's order and their count, and the filters' options. Raw SQL on the fast read path (see
conference.supervision.sqlparts); presenting and exporting the rows: conference.supervision.ledgers.
Statements are QueryStrings of constant text, every value bound."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from piccolo.querystring import QueryString as Q

from conference import db
from conference.db import fetch
from conference.supervision.rates import local_midnight
from conference.supervision.sqlparts import OPEN_SQL, is_postgres, scope_sql


@dataclass(frozen=True)
class LedgerFilter:
    kind: str = "tasks"  # items | resolutions | tasks
    status: str = ""
    conference_id: int | None = None
    unit_id: int | None = None
    street_id: int | None = None
    start: dt.date | None = None  # local dates, on the ledger's own date (submitted, adopted, assigned)
    end: dt.date | None = None


def _names() -> Q:
    """The names `x.name` joined with 、 in the units' order (sort key, then name)."""
    if is_postgres():
        return Q("string_agg(x.name, '、' ORDER BY x.sort_key, x.name)")
    return Q("group_concat(x.name, '、')")  # fed by a subquery ordered by sort key and name


@dataclass(frozen=True)
class _Ledger:
    alias: Q  # the row's table alias: `{alias}.id` is the row's id
    source: Q  # FROM clause
    where: Q  # WHERE condition
    order: Q  # ORDER BY


_SOURCES = {  # (alias, FROM, conference, street, the ledger's date, ORDER BY)
    "items": (Q("a"), Q("agenda_item a"), Q("a.conference"), Q("a.street"), Q("a.submitted_at"), Q("a.submitted_at DESC, a.id DESC")),
    "resolutions": (Q("r"), Q("resolution r JOIN agenda_item a ON a.id = r.item"), Q("r.conference"), Q("a.street"),
                    Q("r.adopted_at"), Q("r.adopted_at DESC, r.id DESC")),
    "tasks": (Q("t"), Q("task t"), Q("t.conference"), Q("t.street"), Q("t.assigned_at"), Q("t.assigned_at DESC, t.id DESC")),
}


def _ledger_where(ids: set[int] | None, flt: LedgerFilter) -> _Ledger:
    """The FROM clause, WHERE condition and ORDER BY choosing the ledger's rows."""
    kind = flt.kind if flt.kind in ("items", "resolutions") else "tasks"
    alias, source, conf, street, stamp, order = _SOURCES[kind]
    where = [scope_sql(ids, conf)]
    if kind == "items":
        where.append(Q("a.status <> 'draft'"))
        if flt.status:
            where.append(Q("a.status = {}", flt.status))
        if flt.unit_id:
            where.append(Q("EXISTS (SELECT 1 FROM agenda_item_unit iu WHERE iu.item = a.id AND iu.unit = {})", int(flt.unit_id)))
    elif kind == "resolutions":
        open_task = Q("EXISTS (SELECT 1 FROM task t WHERE t.resolution = r.id AND t.status IN {})", OPEN_SQL)
        if flt.status == "open":
            where.append(open_task)
        elif flt.status == "done":
            where.append(Q("NOT {}", open_task))
        if flt.unit_id:
            where.append(Q("EXISTS (SELECT 1 FROM resolution_unit ru WHERE ru.resolution = r.id AND ru.unit = {})", int(flt.unit_id)))
    else:
        if flt.status:
            where.append(Q("t.status = {}", flt.status))
        if flt.unit_id:
            where.append(Q("t.unit = {}", int(flt.unit_id)))
    if flt.street_id:
        where.append(Q("{} = {}", street, int(flt.street_id)))
    if flt.start:
        where.append(Q("{} >= {}", stamp, local_midnight(flt.start)))
    if flt.end:
        where.append(Q("{} < {}", stamp, local_midnight(flt.end + dt.timedelta(days=1))))
    return _Ledger(alias, source, db.joined(where, " AND "), order)


# The page of rows (`page`) joined with their names; `{}`: the names joined (_names), then OPEN_SQL.
_LEDGER_SELECT = {
    "items": """
        SELECT a.id, a.title, a.category, a.urgency, a.status, a.submitted_at, a.meetings_waited,
               c.name AS conference_name, s.name AS street_name, iu.names AS units
        FROM page JOIN agenda_item a ON a.id = page.id
        JOIN conference c ON c.id = a.conference
        LEFT JOIN street s ON s.id = a.street
        LEFT JOIN (SELECT x.item, {} AS names
                   FROM (SELECT iu.item, u.name, u.sort_key FROM agenda_item_unit iu JOIN member_unit u ON u.id = iu.unit
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
        LEFT JOIN (SELECT x.resolution, {} AS names
                   FROM (SELECT ru.resolution, u.name, u.sort_key FROM resolution_unit ru JOIN member_unit u ON u.id = ru.unit
                         WHERE ru.role = 'cooperate' AND ru.resolution IN (SELECT id FROM page) ORDER BY u.sort_key, u.name) x
                   GROUP BY x.resolution) co ON co.resolution = r.id
        LEFT JOIN (SELECT t.resolution, COUNT(*) AS total,
                          SUM(CASE WHEN t.status = 'closed' THEN 1 ELSE 0 END) AS closed,
                          SUM(CASE WHEN t.status IN {} THEN 1 ELSE 0 END) AS open_n
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
    ledger = _ledger_where(ids, flt)
    fills = {"items": (_names(),), "resolutions": (_names(), OPEN_SQL)}.get(flt.kind, ())
    select = Q(_LEDGER_SELECT[flt.kind], *fills)
    return await fetch(Q("""
        WITH page AS (SELECT {}.id FROM {} WHERE {} ORDER BY {} LIMIT {} OFFSET {})
        {}
        ORDER BY {}""", ledger.alias, ledger.source, ledger.where, ledger.order, int(limit), int(offset), select, ledger.order))


async def ledger_count(ids: set[int] | None, flt: LedgerFilter) -> int:
    ledger = _ledger_where(ids, flt)
    rows = await fetch(Q("SELECT COUNT(*) AS n FROM {} WHERE {}", ledger.source, ledger.where))
    return int(rows[0]["n"])


async def filter_options() -> dict[str, list[dict[str, Any]]]:
    """Units and streets for the ledger's filters (two statements)."""
    units = await fetch("SELECT u.id, u.name FROM member_unit u ORDER BY u.sort_key, u.name")
    streets = await fetch("SELECT s.id, s.name FROM street s ORDER BY s.sort_key, s.name")
    return {"units": units, "streets": streets}
