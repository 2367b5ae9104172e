"""Read side of supervision: the resolutions shown on a meeting page (with the adoption form's
options), the scoped task list (filters, alerts, sort, pages) and a task's detail page with the
actions its state and the viewer's role allow.

Every page runs a fixed number of queries whatever the number of tasks: joins bring the names of
resolution, unit, item and meeting along, and alerts are computed in Python from the row."""

from __future__ import annotations

import datetime as dt
import math
import urllib.parse
from collections.abc import Mapping
from typing import Any

from conference.accounts.actor import Actor
from conference.accounts.scope import subtree, visible_conference_ids
from conference.collation import sort_key
from conference.db import fetch, int_list
from conference.errors import NotFound
from conference.forms import safe_filename
from conference.i18n import gettext as _
from conference.registry.tables import Conference, Membership
from conference.settings import get_settings
from conference.tasks.services import ALERT_LABELS, alert, task_for, workdays_after
from conference.tasks.states import (
    EXTENSION_LABELS,
    OPEN,
    RATING_LABELS,
    REPORT_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    WORKING,
)
from conference.tasks.tables import Task, TaskAttachment, TaskReport
from conference.tasks.urging import DEFAULT_MESSAGE, URGEABLE, can_urge, urge_counts
from conference.timefmt import today
from conference.web.files import preview_kind
from conference.web.listing import PER_PAGE, Page, escape_like, page_number, page_size, parse_day, parse_id

OFFICE = ("admin", "office")
ADOPTABLE = ("held", "minutes_in_review")  # as services.adopt_resolution requires
ALERT_FILTERS = {"red": ALERT_LABELS["red"], "yellow": ALERT_LABELS["yellow"], "unack": ALERT_LABELS["unack"]}
# To-do views of the status filter, the targets of the workbench's counts (conference.workbench).
WORK_FILTERS = {"extension_requested": _("延期申请中"), "extension_decided": _("延期已答复"), "to_rate": _("待评价")}
STATUS_FILTERS = {"open": _("全部在办"), **STATUS_LABELS, **WORK_FILTERS}
SORTS = {"deadline": _("办结期限"), "assigned_at": _("交办时间"), "status": _("状态")}
DEADLINE_MODES = {"date": _("指定日期"), "workdays": _("会后工作日数")}
_OPEN_SQL = "(" + ",".join(f"'{s}'" for s in OPEN) + ")"
_STATUS_RANK = "CASE t.status " + " ".join(
    f"WHEN '{s}' THEN {i}" for i, s in enumerate(("assigned", "acknowledged", "in_progress", "returned",
                                                   "reported_done", "closed", "cancelled"))) + " END"
_SORT_SQL = {"deadline": "t.deadline", "assigned_at": "t.assigned_at", "status": _STATUS_RANK}
_DIGITS = "零一二三四五六七八九"


def cn_numeral(n: int) -> str:
    """一, 二, ... 十一, 二十三: how resolutions are numbered in minutes (一、二、三、)."""
    if n < 0 or n >= 100:
        return str(n)
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")




def can_open(actor: Actor, task: Mapping[str, Any]) -> bool:
    """Whether the viewer of a page that lists `task` may follow its link (services.task_for
    decides for real; this only avoids links that would answer 404)."""
    if actor.role == "unit":
        return task["unit"] == actor.unit_id
    if actor.role == "street":
        return task["street"] is not None and task["street"] == actor.street_id
    return True


# ---------------------------------------------------------------- the meeting page


async def _unit_options(conference_id: int) -> list[tuple[str, str]]:
    """Current member units of the meeting's conference."""
    day = today()
    rows = await Membership.select(Membership.unit.id.as_alias("id"), Membership.unit.name.as_alias("name")).where(
        (Membership.conference == conference_id) & (Membership.start_date <= day)
        & (Membership.end_date.is_null() | (Membership.end_date >= day)) & Membership.unit.ended_on.is_null())
    return sorted({(str(r["id"]), r["name"]) for r in rows}, key=lambda o: (sort_key(o[1]), o[1]))


async def meeting_resolutions(actor: Actor, meeting: Mapping[str, Any]) -> dict[str, Any]:
    """The resolutions adopted at the meeting (numbered 一、二、三、) with their lead and cooperating
    units and links to the tasks the viewer may open; for the office of a held meeting, the options
    of the adoption form. At most five queries, whatever the number of resolutions and tasks."""
    meeting_id = int(meeting["id"])
    rows = await fetch(
        """SELECT r.id, r.number, r.text, r.deadline, r.deadline_workdays, r.deadline_provisional, r.item, r.lead_unit,
                  r.note, r.version, a.title AS item_title, a.street AS item_street, lu.name AS lead_name
           FROM resolution r JOIN agenda_item a ON a.id = r.item JOIN member_unit lu ON lu.id = r.lead_unit
           WHERE r.meeting = {} ORDER BY r.number, r.id""", meeting_id)
    tasks = await fetch(
        """SELECT t.id, t.resolution, t.unit, t.street, t.role, t.status, t.deadline, t.deadline_provisional,
                  t.extension_status, u.name AS unit_name
           FROM task t JOIN resolution r ON r.id = t.resolution JOIN member_unit u ON u.id = t.unit
           WHERE r.meeting = {} ORDER BY t.id""", meeting_id)
    named = await fetch(
        """SELECT ru.resolution, ru.unit, ru.role FROM resolution_unit ru JOIN resolution r ON r.id = ru.resolution
           WHERE r.meeting = {}""", meeting_id)
    attachments = await fetch(
        """SELECT ra.id, ra.resolution, ra.filename, ra.size FROM resolution_attachment ra
           JOIN resolution r ON r.id = ra.resolution WHERE r.meeting = {} ORDER BY ra.id""", meeting_id)
    if actor.role == "street":
        # A street reaches a meeting of another conference only through its own items on it.
        visible = await visible_conference_ids(actor)
        if visible is not None and meeting["conference"] not in visible:
            rows = [r for r in rows if r["item_street"] == actor.street_id]
    by_resolution: dict[int, list[dict[str, Any]]] = {}
    for task in tasks:
        task["role_label"] = ROLE_LABELS.get(task["role"], task["role"])
        task["status_label"] = STATUS_LABELS.get(task["status"], task["status"])
        task["link"] = can_open(actor, task)
        by_resolution.setdefault(task["resolution"], []).append(task)
    cooperating_ids: dict[int, list[str]] = {}
    for unit in named:
        if unit["role"] == "cooperate":
            cooperating_ids.setdefault(unit["resolution"], []).append(str(unit["unit"]))
    files_of: dict[int, list[dict[str, Any]]] = {}
    for f in attachments:
        f["filename"] = safe_filename(f["filename"])
        files_of.setdefault(f["resolution"], []).append(f)
    for row in rows:
        row["numeral"] = cn_numeral(int(row["number"])) + "、"
        own = sorted(by_resolution.get(row["id"], []), key=lambda t: (t["role"] != "lead", t["id"]))
        for task in own:  # the task's own deadline where it differs (an approved extension, a reopening)
            task["own_deadline"] = task["deadline"] != row["deadline"] and task["status"] != "cancelled"
        row["tasks"] = own
        # The units named now (a unit removed by a correction keeps its cancelled task in the list).
        row["cooperating_ids"] = cooperating_ids.get(row["id"], [])
        current = set(row["cooperating_ids"])
        names = {str(t["unit"]): t["unit_name"] for t in own}
        row["cooperating_names"] = sorted({names[u] for u in current if u in names})
        row["files"] = files_of.get(row["id"], [])
    editable, correction = False, ""
    if actor.role in OFFICE and (meeting["status"] in ADOPTABLE or meeting["status"] == "minutes_published"):
        from conference.tasks.amend import editable_state

        editable, correction = await editable_state(meeting)  # before sign-off, or during a minutes correction
    context: dict[str, Any] = {
        "resolutions": rows, "can_adopt": actor.role in OFFICE and meeting["status"] in ADOPTABLE,
        "can_edit_resolutions": editable, "resolutions_correction": correction,
        "resolutions_signed": actor.role in OFFICE and meeting["status"] == "minutes_published" and not editable,
        "resolution_items": [], "resolution_units": [], "resolution_selected": set(), "deadline_modes": DEADLINE_MODES,
    }
    if context["can_adopt"]:
        context["resolution_items"] = await fetch(
            """SELECT a.id, a.title, sl.outcome FROM agenda_slot sl JOIN agenda_item a ON a.id = sl.item
               WHERE sl.meeting = {} ORDER BY sl.id""", meeting_id)
    if context["can_adopt"] or editable:
        context["resolution_units"] = await _unit_options(int(meeting["conference"]))
    return context


# ---------------------------------------------------------------- the task list


async def scope_sql(actor: Actor) -> str:
    """SQL condition on task alias `t`: a unit its own tasks, a street the tasks of its items,
    offices and convenors those of their conferences (admins all)."""
    if actor.role == "unit":
        return f"t.unit = {int(actor.unit_id or 0)}"
    if actor.role == "street":
        return f"t.street = {int(actor.street_id or 0)}"
    visible = await visible_conference_ids(actor)
    return "1=1" if visible is None else f"t.conference IN ({int_list(visible)})"


async def _filter_options(actor: Actor) -> dict[str, list[tuple[str, str]]]:
    """Conferences and member units the actor may filter by (two queries; none for a unit)."""
    if actor.role == "unit":
        return {"conferences": [], "units": []}
    query = Conference.select(Conference.id, Conference.name).order_by(Conference.sort_key, Conference.name)
    visible = await visible_conference_ids(actor)
    if visible is not None:
        query = query.where(Conference.id.is_in(sorted(visible) or [0]))
    conferences = await query
    members = Membership.select(Membership.unit.id.as_alias("id"), Membership.unit.name.as_alias("name"))
    if visible is not None:
        members = members.where(Membership.conference.is_in(sorted(visible) or [0]))
    units = sorted({(str(r["id"]), r["name"]) for r in await members}, key=lambda o: o[1])
    return {"conferences": [(str(r["id"]), r["name"]) for r in conferences], "units": units}


def _status_sql(status: str) -> tuple[str, list[Any]] | None:
    """The condition of one value of the status filter (a task state or one of the to-do views of
    WORK_FILTERS), or None for no filter."""
    if status == "open":
        return f"t.status IN {_OPEN_SQL}", []
    if status == "extension_requested":  # as allowed_actions: a decision is possible
        return f"t.status IN {_OPEN_SQL} AND t.extension_status = 'requested'", []
    if status == "extension_decided":  # the unit's open tasks whose extension the office answered
        return f"t.status IN {_OPEN_SQL} AND t.extension_status IN ('approved', 'declined')", []
    if status == "to_rate":  # as allowed_actions: closed and not rated yet
        return "t.status = 'closed' AND t.rating = ''", []
    if status in STATUS_LABELS:
        return "t.status = {}", [status]
    return None


def alert_sql(flag: str, day: dt.date) -> tuple[str, list[Any]] | None:
    """The SQL twin of services.alert for one alert, or None for no filter: the list's alert
    filter and the workbench's counts both use it."""
    if flag == "red":
        return f"t.status IN {_OPEN_SQL} AND t.deadline < {{}}", [day]
    if flag == "unack":
        return "t.status = 'assigned' AND t.ack_due < {} AND t.deadline >= {}", [day, day]
    if flag == "yellow":
        # services.alert: due within N working days (SUPERVISION_YELLOW_WORKDAYS), i.e. before the
        # (N+1)th working day from today; the dashboard's yellow list uses the same date.
        limit = workdays_after(day, get_settings().supervision_yellow_workdays + 1)
        return (f"t.status IN {_OPEN_SQL} AND t.deadline >= {{}} AND t.deadline < {{}} "
                "AND NOT (t.status = 'assigned' AND t.ack_due < {})", [day, limit, day])
    return None


async def task_conditions(actor: Actor, query: Mapping[str, str],
                          scope: str | None = None) -> tuple[str, list[Any], dict[str, str]]:
    """The WHERE clause (on `t` joined with resolution `r`), its parameters and the filters in
    effect, for the list and for counts that link to it (conference.workbench). `scope` is
    scope_sql(actor), read here when not given."""
    day = today()
    where = [scope if scope is not None else await scope_sql(actor)]
    params: list[Any] = []
    extra: dict[str, str] = {}

    def add(condition: str, *values: Any) -> None:
        where.append(condition)
        params.extend(values)

    status = query.get("status") or ""
    if (found := _status_sql(status)) is not None:
        add(found[0], *found[1])
    if status in STATUS_FILTERS:
        extra["status"] = status
    flag = query.get("alert") or ""
    if (found := alert_sql(flag, day)) is not None:
        add(found[0], *found[1])
    if flag in ALERT_FILTERS:
        extra["alert"] = flag
    if actor.role != "unit" and (unit := parse_id(query.get("unit"))) is not None:
        add(f"t.unit = {unit}")
        extra["unit"] = str(unit)
    if (conference := parse_id(query.get("conference"))) is not None:
        if query.get("below") == "1":  # the conference and those below it, as on /supervision
            parents = await fetch("SELECT c.id, c.parent FROM conference c")
            add(f"t.conference IN ({int_list(subtree({int(r['id']): r['parent'] for r in parents}, conference))})")
            extra["below"] = "1"
        else:
            add(f"t.conference = {conference}")
        extra["conference"] = str(conference)
    # Closed / rated between two local dates (the /supervision KPI cards link here with its period).
    for name, column in (("closed", "t.closed_at"), ("rated", "t.rated_at")):
        if (first := parse_day(query.get(f"{name}_from"))) is not None:
            add(f"{column} >= {{}}", dt.datetime.combine(first, dt.time(), get_settings().tz))
            extra[f"{name}_from"] = first.isoformat()
        if (last := parse_day(query.get(f"{name}_to"))) is not None:
            add(f"{column} < {{}}", dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), get_settings().tz))
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
    return " AND ".join(where), params, extra


async def count_tasks(actor: Actor, queries: Mapping[str, Mapping[str, str]]) -> dict[str, int]:
    """How many rows the task list shows for each of several filter sets, in one query."""
    if not queries:
        return {}
    parts: list[str] = []
    params: list[Any] = []
    scope = await scope_sql(actor)
    for query in queries.values():
        condition, values, _extra = await task_conditions(actor, query, scope)
        parts.append(f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) AS n_{len(parts)}")
        params.extend(values)
    row = (await fetch(f"SELECT {', '.join(parts)} FROM task t JOIN resolution r ON r.id = t.resolution",  # noqa: S608 - fixed fragments, values bound
                       *params))[0]
    return {name: int(row[f"n_{i}"]) for i, name in enumerate(queries)}


async def task_list(actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    """One page of the actor's tasks: scope, filter options, a count and one joined select."""
    day = today()
    condition, params, extra = await task_conditions(actor, query)
    q = (query.get("q") or "").replace("\x00", "").strip()[:100]
    sort = query.get("sort") or "deadline"
    if sort not in SORTS:
        sort = "deadline"
    desc = query.get("desc") == "1"
    per_page = page_size(query.get("per_page"))
    if per_page != PER_PAGE:
        extra["per_page"] = str(per_page)

    counted = await fetch(
        f"SELECT COUNT(*) AS n FROM task t JOIN resolution r ON r.id = t.resolution WHERE {condition}",  # noqa: S608 - fixed fragments, values bound
        *params)
    total = int(counted[0]["n"])
    pages = max(1, math.ceil(total / per_page))
    page = page_number(query.get("page"), pages)
    direction = "DESC" if desc else "ASC"
    rows = await fetch(
        f"""SELECT t.id, t.unit, t.street, t.status, t.role, t.deadline, t.deadline_provisional, t.ack_due, t.assigned_at,
                   t.extension_status,
                   t.rating, t.reopened, r.text AS resolution_text, r.number AS resolution_number, u.name AS unit_name,
                   a.title AS item_title, m.id AS meeting_id, m.title AS meeting_title, c.name AS conference_name,
                   s.name AS street_name
            FROM task t JOIN resolution r ON r.id = t.resolution JOIN member_unit u ON u.id = t.unit
            JOIN agenda_item a ON a.id = r.item JOIN meeting m ON m.id = r.meeting
            JOIN conference c ON c.id = t.conference LEFT JOIN street s ON s.id = t.street
            WHERE {condition} ORDER BY {_SORT_SQL[sort]} {direction}, t.id {direction}
            LIMIT {per_page} OFFSET {(page - 1) * per_page}""",  # noqa: S608 - fixed fragments, values bound
        *params)
    urges = await urge_counts(r["id"] for r in rows)
    for row in rows:
        row["alert"] = alert(row, day)
        row["urges"] = urges.get(int(row["id"]), 0)
    listing = Page(rows=rows, total=total, page=page, per_page=per_page, q=q, sort=sort, desc=desc, extra=extra)
    return {
        "page": listing, "filters": extra, "options": await _filter_options(actor),
        "title": _("我的任务") if actor.role == "unit" else _("督办任务"),
        "status_filters": STATUS_FILTERS, "status_labels": STATUS_LABELS, "alert_filters": ALERT_FILTERS,
        "alert_labels": ALERT_LABELS, "role_labels": ROLE_LABELS, "rating_labels": RATING_LABELS,
        "extension_labels": EXTENSION_LABELS,
        "can_urge": actor.role in OFFICE, "urgeable": URGEABLE, "urge_message": DEFAULT_MESSAGE,
        "query_string": urllib.parse.urlencode({k: v for k, v in query.items() if isinstance(v, str)}),
    }


# ---------------------------------------------------------------- the detail page


def allowed_actions(actor: Actor, task: Mapping[str, Any]) -> dict[str, bool]:
    """The actions the viewer may take now, mirroring the checks of conference.tasks.services."""
    status = task["status"]
    own = actor.role == "unit" and actor.unit_id == task["unit"]
    office = actor.role in OFFICE
    street = actor.role == "street" and task["street"] is not None and task["street"] == actor.street_id
    return {
        "acknowledge": own and status == "assigned",
        "progress": own and status in WORKING,
        "done": own and status in WORKING,
        "extension": own and status in ("assigned", *WORKING) and task["extension_status"] != "requested",
        "decision": office and status in OPEN and task["extension_status"] == "requested",
        "close": office and status == "reported_done",
        "return": office and status == "reported_done",
        "cancel": office and status in OPEN,
        "reopen": office and status == "closed" and task["rating"] == "dissatisfied",
        "rate": street and status == "closed" and not task["rating"],
        "urge": can_urge(actor, task),
    }


async def task_detail(actor: Actor, task_id: int) -> dict[str, Any]:
    """Everything the task page shows (five queries); NotFound when the actor may not see it."""
    await task_for(actor, task_id)
    task = await Task.select(
        *Task.all_columns(),
        Task.resolution.text.as_alias("resolution_text"), Task.resolution.number.as_alias("resolution_number"),
        Task.resolution.deadline.as_alias("resolution_deadline"),
        Task.resolution.deadline_workdays.as_alias("deadline_workdays"),
        Task.resolution.meeting.as_alias("meeting_id"), Task.resolution._.meeting._.title.as_alias("meeting_title"),
        Task.resolution._.meeting._.starts_at.as_alias("meeting_starts_at"),
        Task.resolution.item.as_alias("item_id"), Task.resolution._.item._.title.as_alias("item_title"),
        Task.unit.name.as_alias("unit_name"), Task.street.name.as_alias("street_name"),
        Task.conference.name.as_alias("conference_name"),
    ).where(Task.id == task_id).first()
    assert task is not None
    day = today()
    task["alert"] = alert(task, day)
    task["numeral"] = cn_numeral(int(task["resolution_number"])) + "、"
    reports = await TaskReport.select(
        TaskReport.id, TaskReport.kind, TaskReport.text, TaskReport.author_name, TaskReport.created_at,
    ).where(TaskReport.task == task_id).order_by(TaskReport.created_at).order_by(TaskReport.id)
    files = await TaskAttachment.select(
        TaskAttachment.id, TaskAttachment.report, TaskAttachment.filename, TaskAttachment.content_type,
        TaskAttachment.size, TaskAttachment.created_at,
    ).where(TaskAttachment.task == task_id).order_by(TaskAttachment.id)
    by_report: dict[int, list[dict[str, Any]]] = {}
    for f in files:
        f["filename"] = safe_filename(f["filename"])  # also names stored before the rule
        f["preview"] = preview_kind(f["content_type"])  # image / pdf: shown in the browser
        by_report.setdefault(f["report"], []).append(f)
    for report in reports:
        report["label"] = REPORT_LABELS.get(report["kind"], report["kind"])
        report["files"] = by_report.get(report["id"], [])
    siblings = await Task.select(
        Task.id, Task.unit, Task.street, Task.role, Task.status, Task.unit.name.as_alias("unit_name"),
    ).where(Task.resolution == task["resolution"]).order_by(Task.id)
    for sibling in siblings:
        sibling["link"] = sibling["id"] != task_id and can_open(actor, sibling)
    siblings.sort(key=lambda s: (s["role"] != "lead", s["id"]))
    return {
        "task": task, "reports": reports, "siblings": siblings, "can": allowed_actions(actor, task),
        "status_labels": STATUS_LABELS, "role_labels": ROLE_LABELS, "rating_labels": RATING_LABELS,
        "extension_labels": EXTENSION_LABELS, "alert_labels": ALERT_LABELS, "today": day,
        "posted": "", "anchors": {}, "urge_count": sum(1 for r in reports if r["kind"] == "urge"),
        "urge_message": DEFAULT_MESSAGE,
    }


async def open_deadlines(actor: Actor, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """The open tasks the viewer may see (the task list's scope) whose deadline falls from start to
    end, with unit, resolution and alert, for the meeting calendar: one query."""
    rows = await fetch(
        f"""SELECT t.id, t.unit, t.street, t.status, t.deadline, t.ack_due, u.name AS unit_name,
                   r.text AS resolution_text
            FROM task t JOIN resolution r ON r.id = t.resolution JOIN member_unit u ON u.id = t.unit
            WHERE {await scope_sql(actor)} AND t.status IN {_OPEN_SQL} AND t.deadline >= {{}} AND t.deadline <= {{}}
            ORDER BY t.deadline, u.sort_key, u.name, t.id""",  # noqa: S608 - fixed fragments, values bound
        start, end)
    day = today()
    for row in rows:
        row["alert"] = alert(row, day)
        row["link"] = can_open(actor, row)
    return rows


ATTACHMENT_NOT_FOUND = _("没有找到该附件，或您无权查看。")


async def task_label(actor: Actor, task_id: int) -> str:
    """How a bulk result names a task: unit and resolution (NotFound out of scope)."""
    await task_for(actor, task_id)
    row = await Task.select(Task.unit.name.as_alias("unit_name"), Task.resolution.text.as_alias("text")).where(
        Task.id == task_id).first()
    assert row is not None
    text = row["text"] if len(row["text"]) <= 40 else row["text"][:40] + "…"
    return f"{row['unit_name']}：{text}"


async def attachment_for(actor: Actor, attachment_id: int) -> dict[str, Any]:
    """The attachment with its content, when the actor may see its task; else 404 (no data)."""
    row = await TaskAttachment.select().where(TaskAttachment.id == attachment_id).first()
    if row is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    try:
        await task_for(actor, row["task"])
    except NotFound:
        raise NotFound(ATTACHMENT_NOT_FOUND) from None
    return row
