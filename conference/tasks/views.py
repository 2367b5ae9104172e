"""Read side of supervision: the scoped task list (filters, alerts, sort, pages), the counts that
link to it and the calendar's deadlines. Every list runs a fixed number of queries whatever the
number of tasks: joins bring the names of resolution, unit, item and meeting along, and alerts are
computed in Python from the row. The meeting page's resolutions are in resolution_views, a task's
page in detail_views (both re-exported here for the routes)."""

from __future__ import annotations

import datetime as dt
import functools
import urllib.parse
from collections.abc import Mapping
from typing import Any

from piccolo.querystring import QueryString

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import read_once, subtree, visible_conference_ids
from conference.i18n import gettext as _
from conference.roles import OFFICE_ROLES, Role
from conference.settings import get_settings
from conference.sqlcompile import SQL

# The other read modules of tasks, under the names the routes and the API use (views.task_detail, ...).
from conference.tasks.detail_views import ATTACHMENT_NOT_FOUND as ATTACHMENT_NOT_FOUND
from conference.tasks.detail_views import allowed_actions as allowed_actions
from conference.tasks.detail_views import attachment_for as attachment_for
from conference.tasks.detail_views import task_detail as task_detail
from conference.tasks.detail_views import task_label as task_label
from conference.tasks.forms import PAGE_FIELDS
from conference.tasks.resolution_views import cn_numeral as cn_numeral
from conference.tasks.resolution_views import meeting_resolutions as meeting_resolutions
from conference.tasks.services import ALERT_LABELS, alert, yellow_until
from conference.tasks.states import EXTENSION_LABELS, OPEN, RATING_LABELS, ROLE_LABELS, TASK_STATUS_LABELS
from conference.tasks.tables import Task
from conference.tasks.urging import DEFAULT_MESSAGE, URGEABLE, urge_counts
from conference.tasks.visibility import can_open as can_open
from conference.tasks.visibility import visible_tasks
from conference.timefmt import today
from conference.visibility import scoped
from conference.web.listing import PER_PAGE, Page, escape_like, page_size, paging, parse_day, parse_id

ALERT_FILTERS = {"red": ALERT_LABELS["red"], "yellow": ALERT_LABELS["yellow"], "unack": ALERT_LABELS["unack"]}
# To-do views of the status filter, the targets of the workbench's counts (conference.workbench).
WORK_FILTERS = {"extension_requested": _("延期申请中"), "extension_decided": _("延期已答复"), "to_rate": _("待评价")}
STATUS_FILTERS = {"open": _("全部在办"), **TASK_STATUS_LABELS, **WORK_FILTERS}
SORTS = {"deadline": _("办结期限"), "assigned_at": _("交办时间"), "status": _("状态")}
# Conditions and orders as QueryStrings (conference.db.fetch): fixed SQL with every value bound.
_OPEN_SQL = SQL("t.status IN ({})", db.listed(OPEN))
_STATUS_RANK = SQL("CASE t.status " + " ".join("WHEN {} THEN " + str(rank) for rank in range(7)) + " END",
                   "assigned", "acknowledged", "in_progress", "returned", "reported_done", "closed", "cancelled")
_SORT_SQL = {"deadline": SQL("t.deadline"), "assigned_at": SQL("t.assigned_at"), "status": _STATUS_RANK}
_EVERY = SQL("1 = 1")


# ---------------------------------------------------------------- the task list


async def scope_sql(actor: Actor) -> QueryString:
    """The tasks the actor may see (visibility.visible_tasks) as a derived table for SQL
    (`FROM {} t`)."""
    return scoped(Task, await visible_tasks(actor))


async def _filter_options(actor: Actor) -> dict[str, list[tuple[str, str]]]:
    """Conferences and member units the actor may filter by (two queries; none for a unit)."""
    if actor.role == Role.UNIT:
        return {"conferences": [], "units": []}
    visible = await visible_conference_ids(actor)
    every = visible is None
    conferences = await db.fetch(SQL(
        "SELECT c.id, c.name FROM conference c WHERE {} ORDER BY c.sort_key, c.name",
        _EVERY if every else SQL("c.id IN ({})", db.ids(visible or ()))))
    members = await db.fetch(SQL(
        "SELECT u.id, u.name FROM membership ms LEFT JOIN member_unit u ON u.id = ms.unit WHERE {}",
        _EVERY if every else SQL("ms.conference IN ({})", db.ids(visible or ()))))
    units = sorted({(str(r["id"]), r["name"]) for r in members}, key=lambda o: o[1])
    return {"conferences": [(str(r["id"]), r["name"]) for r in conferences], "units": units}


def _status_sql(status: str) -> QueryString | None:
    """The condition of one value of the status filter (a task state or one of the to-do views of
    WORK_FILTERS), or None for no filter."""
    if status == "open":
        return _OPEN_SQL
    if status == "extension_requested":  # as allowed_actions: a decision is possible
        return SQL("{} AND t.extension_status = 'requested'", _OPEN_SQL)
    if status == "extension_decided":  # the unit's open tasks whose extension the office answered
        return SQL("{} AND t.extension_status IN ('approved', 'declined')", _OPEN_SQL)
    if status == "to_rate":  # as allowed_actions: closed and not rated yet
        return SQL("t.status = 'closed' AND t.rating = ''")
    if status in TASK_STATUS_LABELS:
        return SQL("t.status = {}", status)
    return None


def alert_sql(flag: str, day: dt.date, until: dt.date | None = None) -> QueryString | None:
    """The SQL twin of services.alert for one alert, or None for no filter: the list's alert
    filter and the workbench's counts both use it. `until`: yellow_until(day), when known."""
    if flag == "red":
        return SQL("{} AND t.deadline < {}", _OPEN_SQL, day)
    if flag == "unack":
        return SQL("t.status = 'assigned' AND t.ack_due < {} AND t.deadline >= {}", day, day)
    if flag == "yellow":
        # services.alert's "due soon" (yellow_until); the dashboard's yellow list uses the same date.
        return SQL("{} AND t.deadline >= {} AND t.deadline < {} "
                   "AND NOT (t.status = 'assigned' AND t.ack_due < {})", _OPEN_SQL, day, until or yellow_until(day), day)
    return None


async def task_conditions(actor: Actor, query: Mapping[str, str]) -> tuple[QueryString, dict[str, str]]:
    """The WHERE clause of the filters (on `t`, read through scope_sql, joined with resolution `r`)
    and the filters in effect, for the list and for counts that link to it (conference.workbench)."""
    day = today()
    unit = actor.role == Role.UNIT
    if query.get("below") == "1" and (conference := parse_id(query.get("conference"))) is not None:
        # the conference and those below it, as on /supervision: read here, so not kept
        parents = await db.fetch("SELECT c.id, c.parent FROM conference c")
        below = subtree({int(r["id"]): r["parent"] for r in parents}, conference)
        return _filter_conditions.__wrapped__(unit, _filter_items(query), day, None, get_settings().tz, below)
    # Everything the conditions depend on is in the key (the yellow limit follows the holiday
    # calendar, so it is worked out and passed): the workbench asks for the same five each page.
    until = yellow_until(day) if query.get("alert") == "yellow" else None
    items = _filter_items(query)
    try:
        condition, extra = _filter_conditions(unit, items, day, until, get_settings().tz, None)
    except TypeError:  # a value that cannot be a key (not from a query string): worked out, not kept
        condition, extra = _filter_conditions.__wrapped__(unit, items, day, until, get_settings().tz, None)
    return condition, dict(extra)  # a copy: callers add to it


FILTER_KEYS = ("status", "alert", "unit", "conference", "closed_from", "closed_to", "rated_from", "rated_to",
               "deadline_from", "deadline_to", "q")


def _filter_items(query: Mapping[str, str]) -> tuple[tuple[str, Any], ...]:
    """The parameters the conditions read, as query.get gives them (the first of a repeated one)."""
    return tuple((key, value) for key in FILTER_KEYS if (value := query.get(key)) is not None)


@functools.lru_cache(maxsize=512)
def _filter_conditions(unit_actor: bool, items: tuple[tuple[str, Any], ...], day: dt.date, until: dt.date | None,
                       tz: dt.tzinfo, below: set[int] | None) -> tuple[QueryString, dict[str, str]]:
    query = dict(items)
    # One QueryString of the conditions joined by AND, their values (and fragments) in order: the
    # SQL a QueryString per condition joined would give, without building one per condition.
    where = ["1 = 1"]
    values: list[Any] = []
    extra: dict[str, str] = {}

    def add(condition: str | QueryString, *bound: Any) -> None:
        if isinstance(condition, QueryString):
            where.append("{}")
            values.append(condition)
        else:
            where.append(condition)
            values.extend(bound)

    status = query.get("status") or ""
    if (found := _status_sql(status)) is not None:
        add(found)
    if status in STATUS_FILTERS:
        extra["status"] = status
    flag = query.get("alert") or ""
    if (found := alert_sql(flag, day, until)) is not None:
        add(found)
    if flag in ALERT_FILTERS:
        extra["alert"] = flag
    if not unit_actor and (unit := parse_id(query.get("unit"))) is not None:
        add("t.unit = {}", unit)
        extra["unit"] = str(unit)
    if (conference := parse_id(query.get("conference"))) is not None:
        if below is not None:
            add("t.conference IN ({})", db.ids(below))
            extra["below"] = "1"
        else:
            add("t.conference = {}", conference)
        extra["conference"] = str(conference)
    # Closed / rated between two local dates (the /supervision KPI cards link here with its period).
    for name, column in (("closed", "t.closed_at"), ("rated", "t.rated_at")):
        if (first := parse_day(query.get(f"{name}_from"))) is not None:
            add(column + " >= {}", dt.datetime.combine(first, dt.time(), tz))
            extra[f"{name}_from"] = first.isoformat()
        if (last := parse_day(query.get(f"{name}_to"))) is not None:
            add(column + " < {}", dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz))
            extra[f"{name}_to"] = last.isoformat()
    if "rated_from" in extra or "rated_to" in extra:
        add("t.rating <> ''")
    if (start := parse_day(query.get("deadline_from"))) is not None:
        add("t.deadline >= {}", start)
        extra["deadline_from"] = start.isoformat()
    if (end := parse_day(query.get("deadline_to"))) is not None:
        add("t.deadline <= {}", end)
        extra["deadline_to"] = end.isoformat()
    q = (query.get("q") or "").replace("\x00", "").strip()[:100]
    if term := escape_like(q):
        add("r.text LIKE {}", f"%{term}%")
    return SQL(" AND ".join(where), *values), extra


@functools.cache  # one per (number of counts, prefix): a handful, constants of the callers
def _count_columns(count: int, prefix: str) -> str:
    return ", ".join("COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0) AS " + prefix + str(i) for i in range(count))


async def task_counts_sql(actor: Actor, queries: Mapping[str, Mapping[str, str]], prefix: str = "n_") -> QueryString:
    """The one-row statement of count_tasks: column prefix + 0, 1, ... in the order of `queries` (a
    constant prefix, so that the workbench can run it beside other counts in one statement). The
    columns are one QueryString, the conditions its values."""
    conditions = [(await task_conditions(actor, query))[0] for query in queries.values()]
    return SQL("SELECT {} FROM {} t JOIN resolution r ON r.id = t.resolution",
               SQL(_count_columns(len(conditions), prefix), *conditions), await scope_sql(actor))


def task_counts(row: Mapping[str, Any], queries: Mapping[str, Mapping[str, str]], prefix: str = "n_") -> dict[str, int]:
    """count_tasks' answer from the row of task_counts_sql."""
    return {name: int(row[prefix + str(i)]) for i, name in enumerate(queries)}


async def count_tasks(actor: Actor, queries: Mapping[str, Mapping[str, str]]) -> dict[str, int]:
    """How many rows the task list shows for each of several filter sets, in one query."""
    if not queries:
        return {}
    # Result columns n_0, n_1, ... in the order of `queries` (names made here, not from input).
    return task_counts((await db.fetch(await task_counts_sql(actor, queries)))[0], queries)


async def task_list(actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    """One page of the actor's tasks: scope, filter options, a count and one joined select."""
    with read_once():  # the scope and the filter options ask for the same conferences
        return await _task_list(actor, query)


async def _task_list(actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    day = today()
    condition, extra = await task_conditions(actor, query)
    scope = await scope_sql(actor)
    q = (query.get("q") or "").replace("\x00", "").strip()[:100]
    sort = query.get("sort") or "deadline"
    if sort not in SORTS:
        sort = "deadline"
    desc = query.get("desc") == "1"
    per_page = page_size(query.get("per_page"))
    if per_page != PER_PAGE:
        extra["per_page"] = str(per_page)

    counted = await db.fetch(SQL(
        "SELECT COUNT(*) AS n FROM {} t JOIN resolution r ON r.id = t.resolution WHERE {}", scope, condition))
    at = paging(int(counted[0]["n"]), query.get("page"), per_page)
    order = SQL("{} DESC, t.id DESC" if desc else "{} ASC, t.id ASC", _SORT_SQL[sort])
    rows = await db.fetch(SQL(
        """SELECT t.id, t.unit, t.street, t.status, t.role, t.deadline, t.deadline_provisional, t.ack_due, t.assigned_at,
                  t.extension_status,
                  t.rating, t.reopened, r.text AS resolution_text, r.number AS resolution_number, u.name AS unit_name,
                  a.title AS item_title, m.id AS meeting_id, m.title AS meeting_title, c.name AS conference_name,
                  s.name AS street_name
           FROM {} t JOIN resolution r ON r.id = t.resolution JOIN member_unit u ON u.id = t.unit
           JOIN agenda_item a ON a.id = r.item JOIN meeting m ON m.id = r.meeting
           JOIN conference c ON c.id = t.conference LEFT JOIN street s ON s.id = t.street
           WHERE {} ORDER BY {} LIMIT {} OFFSET {}""", scope, condition, order, at.limit, at.offset))
    urges = await urge_counts(r["id"] for r in rows)
    until = yellow_until(day)  # the alerts' "due soon" limit, one walk of the calendar for the page
    for row in rows:  # the alert, and the labels looked up here rather than by calls from the template per row
        row["alert"] = flag = alert(row, day, until)
        row["urges"] = urges.get(int(row["id"]), 0)
        row["alert_label"] = ALERT_LABELS[flag]
        row["role_label"] = ROLE_LABELS.get(row["role"], row["role"])
        row["status_label"] = TASK_STATUS_LABELS.get(row["status"], row["status"])
        row["extension_label"] = EXTENSION_LABELS.get(row["extension_status"], "")
        row["rating_label"] = RATING_LABELS.get(row["rating"], "")
    listing = Page(rows=rows, total=at.total, page=at.page, per_page=at.per_page, q=q, sort=sort, desc=desc, extra=extra)
    return {
        "page": listing, "filters": extra, "options": await _filter_options(actor),
        "title": _("我的任务") if actor.role == Role.UNIT else _("督办任务"),
        "status_filters": STATUS_FILTERS, "status_labels": TASK_STATUS_LABELS, "alert_filters": ALERT_FILTERS,
        "alert_labels": ALERT_LABELS, "role_labels": ROLE_LABELS, "rating_labels": RATING_LABELS,
        "extension_labels": EXTENSION_LABELS,
        "can_urge": actor.role in OFFICE_ROLES, "urgeable": URGEABLE, "urge_message": DEFAULT_MESSAGE,
        "urge_field": PAGE_FIELDS["urge"]["message"],  # the 催办 form's label and limit (conference.tasks.forms)
        "query_string": urllib.parse.urlencode({k: v for k, v in query.items() if isinstance(v, str)}),
    }


async def open_deadlines(actor: Actor, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """The open tasks the viewer may see (the task list's scope) whose deadline falls from start to
    end, with unit, resolution and alert, for the meeting calendar: one query."""
    rows = await db.fetch(SQL(
        """SELECT t.id, t.unit, t.street, t.status, t.deadline, t.ack_due, u.name AS unit_name,
                  r.text AS resolution_text
           FROM {} t JOIN resolution r ON r.id = t.resolution JOIN member_unit u ON u.id = t.unit
           WHERE {} AND t.deadline >= {} AND t.deadline <= {}
           ORDER BY t.deadline, u.sort_key, u.name, t.id""", await scope_sql(actor), _OPEN_SQL, start, end))
    day = today()
    until = yellow_until(day)
    for row in rows:
        row["alert"] = alert(row, day, until)
        row["link"] = True  # every row is in the viewer's scope
    return rows
