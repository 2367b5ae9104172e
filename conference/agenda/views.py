"""Presentation of agenda items: the scoped list (search, filters, sort, pages in a constant number
of queries), the form's options, and the detail page's context (history, meetings, actions)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup
from piccolo.columns.combination import And, Or, Where, WhereRaw
from piccolo.query.methods.select import Select
from piccolo.querystring import QueryString

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda.attachments import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, TOO_LARGE
from conference.agenda.forms import PAGE_FIELDS
from conference.agenda.services import ITEM_FORM, check_editable, item_for
from conference.agenda.states import CATEGORY_LABELS, ITEM_STATUS_LABELS, OUTCOME_LABELS, URGENCY_LABELS
from conference.agenda.tables import AgendaItem, AgendaItemUnit, AgendaSlot, Attachment
from conference.agenda.visibility import item_conditions
from conference.audit.tables import AuditEvent
from conference.collation import sort_key
from conference.db import engine, fetch, ids, listed
from conference.errors import DomainError
from conference.forms import safe_filename
from conference.i18n import gettext as _
from conference.meetings.states import MEETING_STATUS_LABELS
from conference.meetings.tables import Meeting
from conference.registry.tables import Conference, Membership, MemberUnit
from conference.roles import ITEM_WRITERS, OFFICE_ROLES, Role
from conference.sqlcompile import SQL
from conference.timefmt import cn_date, local, now, today
from conference.web.files import preview_kind
from conference.web.listing import PER_PAGE, Page, page_size, paging, parse_id, piccolo_sql

OPEN_STATES = ("submitted", "accepted", "scheduled", "deferred")  # items another can be merged into
HELD_STATES = ("held", "minutes_in_review", "minutes_published")
ACTION_LABELS = {
    "create": _("新建"), "update": _("修改"), "submit": _("提交"), "accept": _("受理"), "return": _("退回"),
    "merge": _("合并"), "schedule": _("列入议程"), "move": _("调整议程顺序"), "attach": _("上传附件"),
    "unschedule": _("会议取消，撤出议程"),
    "discussed": _("记为已研究"), "resolved": _("记为已解决"), "deferred": _("记为暂缓"), "not_discussed": _("记为未及研究"),
}
SORTS = {"submitted_at": _("提交时间"), "age": _("已等待天数"), "urgency": _("紧急程度"), "title": _("议题名称")}

Condition = Where | And | Or | WhereRaw
# The columns of the list and of the filter options, joins included, made once: Piccolo copies the
# joined table's columns on every `AgendaItem.conference.name`, and a select only reads them.
LIST_COLUMNS = (
    AgendaItem.id, AgendaItem.title, AgendaItem.status, AgendaItem.urgency, AgendaItem.category,
    AgendaItem.submitted_at, AgendaItem.created_at, AgendaItem.meetings_waited,
    AgendaItem.conference.name.as_alias("conference_name"), AgendaItem.street.name.as_alias("street_name"),
    AgendaItem.meeting.id.as_alias("meeting_id"), AgendaItem.meeting.title.as_alias("meeting_title"),
)
FILTER_COLUMNS = (Conference.id, Conference.name, Conference.street.id.as_alias("street_id"),
                  Conference.street.name.as_alias("street_name"))
# The SQL Piccolo makes for those selects (columns and joins, no values), made once per kind of
# database and used as the first fragment of the list's query: building a joined select anew costs
# ~0.3 ms a request. The conditions, order and page are added as fragments with their values bound.
_CONSTANT_SQL: dict[tuple[str, str], QueryString] = {}
_DIRECTION = {True: SQL("ASC"), False: SQL("DESC")}
_CONSTANT_QUERIES: dict[str, Callable[[], Select]] = {
    "list": lambda: AgendaItem.select(*LIST_COLUMNS),
    "filters": lambda: Conference.select(*FILTER_COLUMNS),
    "bulk": lambda: Meeting.select(Meeting.id, Meeting.title, Meeting.starts_at,
                                   Meeting.conference.name.as_alias("conference_name")),
}


def _constant_select(name: str) -> QueryString:
    kind = engine().engine_type
    found = _CONSTANT_SQL.get((name, kind))
    if found is None:
        found = _CONSTANT_SQL[(name, kind)] = piccolo_sql(_CONSTANT_QUERIES[name](), kind)
    return found


def age_days(submitted_at: dt.datetime | None, day: dt.date | None = None) -> int | None:
    """Whole days since submission up to `day` (today), counted in calendar days of the configured zone."""
    if submitted_at is None:
        return None
    return max(0, ((day or today()) - local(submitted_at).date()).days)



async def _visible(actor: Actor) -> set[int] | None:
    """The conferences whose items the actor lists (None: all); a street's items go by its street."""
    return await visible_conference_ids(actor) if actor.role != Role.STREET else None


_WHEN = SQL('COALESCE("agenda_item"."submitted_at", "agenda_item"."created_at")')
_RANK = SQL("""CASE "agenda_item"."urgency" WHEN 'critical' THEN 3 WHEN 'urgent' THEN 2 ELSE 1 END""")
_TITLE = SQL('"agenda_item"."title"')


def _order(sort: str, desc: bool) -> tuple[QueryString, bool]:
    """(expression, ascending) for a sort key; drafts sort by their creation time."""
    if sort == "age":  # the longest waiting first when descending
        return _WHEN, desc
    if sort == "urgency":
        return _RANK, not desc
    if sort == "title":
        return _TITLE, not desc
    return _WHEN, not desc


async def filter_options(actor: Actor, visible: set[int] | None = None) -> dict[str, list[tuple[str, str]]]:
    """The conferences and streets the actor may filter by (one query, given `visible`)."""
    if visible is None:
        visible = await _visible(actor)
    where = SQL("1 = 1")
    if actor.role == Role.STREET:
        where = SQL('"conference"."street" = {}', actor.street_id or 0)
    elif visible is not None:
        where = SQL('"conference"."id" IN ({})', ids(visible))
    rows = await fetch(SQL('{} WHERE {} ORDER BY "conference"."sort_key" ASC, "conference"."name" ASC',
                           _constant_select("filters"), where))
    streets = sorted({(str(r["street_id"]), r["street_name"]) for r in rows if r["street_id"]}, key=lambda s: s[1])
    return {"conferences": [(str(r["id"]), r["name"]) for r in rows], "streets": streets}


async def count_items(actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    """How many items the list shows for a query, and the earliest submission among them
    (`oldest`), in one query (plus the scope's)."""
    return item_counts((await fetch(await count_items_sql(actor, query)))[0])


async def count_items_sql(actor: Actor, query: Mapping[str, str], prefix: str = "") -> QueryString:
    """The one-row statement of count_items: columns prefix + n and prefix + oldest (a constant
    prefix: the workbench runs it beside its other counts)."""
    where, _extra = await item_conditions(actor, query)
    columns = SQL(f'COUNT("agenda_item"."id") AS "{prefix}n", MIN("agenda_item"."submitted_at") AS "{prefix}oldest"')
    return SQL('SELECT {} FROM "agenda_item" WHERE {}', columns, where.querystring)


def item_counts(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """count_items' answer from the row of count_items_sql."""
    return {"count": int(row[prefix + "n"]), "oldest": row[prefix + "oldest"]}


# The list's "5 天" and "2 次", as the template's `_("%(n)s 天", n=...)` makes them: the translation
# taken as markup, a whole number put in (its digits need no escaping).
DAYS, TIMES = _("%(n)s 天"), _("%(n)s 次")


def _labelled(rows: list[dict[str, Any]]) -> None:
    """What the list shows of each row beside its columns, made here once rather than by calls and
    formatting in the template (~0.1 ms a page): the age in days (age_days, with today read once)
    and its text, the submission date (cn_date), the urgency and status labels (the code itself
    for one without a label), the meetings waited as text."""
    day = today()
    for row in rows:
        submitted = row["submitted_at"]
        if submitted is None:
            row["age_days"], row["age_text"], row["submitted_on"] = None, "—", ""
        else:
            age = row["age_days"] = age_days(submitted, day)
            row["age_text"], row["submitted_on"] = Markup(DAYS % {"n": age}), cn_date(local(submitted).date())  # noqa: S704 - our catalogue, an int
        row["urgency_label"] = URGENCY_LABELS.get(row["urgency"], row["urgency"])
        row["status_label"] = ITEM_STATUS_LABELS.get(row["status"], row["status"])
        row["waited_text"] = Markup(TIMES % {"n": row["meetings_waited"]})  # noqa: S704 - our catalogue, an int


async def item_list(actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    """One page of the actor's items. Runs the same queries whatever the number of rows: scope,
    filter options, a count and one joined select."""
    visible = await _visible(actor)  # read once, for the scope and the filter options
    where, extra = await item_conditions(actor, query, visible)
    q = (query.get("q") or "").replace("\x00", "").strip()[:100]
    sort = query.get("sort") or "submitted_at"
    if sort not in SORTS:
        sort = "submitted_at"
    desc = query.get("desc", "1" if "sort" not in query else "") == "1"  # newest first by default
    per_page = page_size(query.get("per_page"))
    if per_page != PER_PAGE:
        extra["per_page"] = str(per_page)

    condition = where.querystring
    counted = await fetch(SQL('SELECT COUNT(*) AS "count" FROM "agenda_item" WHERE {}', condition))
    at = paging(int(counted[0]["count"]), query.get("page"), per_page)
    expression, ascending = _order(sort, desc)
    direction = _DIRECTION[ascending]
    rows = await fetch(SQL('{} WHERE {} ORDER BY {} {}, "agenda_item"."id" {} LIMIT {} OFFSET {}',
                           _constant_select("list"), condition, expression, direction, direction,
                           at.limit, at.offset))
    _labelled(rows)
    listing = Page(rows=rows, total=at.total, page=at.page, per_page=at.per_page, q=q, sort=sort, desc=desc, extra=extra)
    return {
        "page": listing, "filters": extra, "options": await filter_options(actor, visible), "sorts": SORTS,
        "status_labels": ITEM_STATUS_LABELS, "urgency_labels": URGENCY_LABELS, "category_labels": CATEGORY_LABELS,
        "can_create": actor.role in ITEM_WRITERS,
    }


async def bulk_meetings(conference_ids: list[int]) -> list[dict[str, Any]]:
    """Meetings not yet held of the office's conferences, for "列入会议" on the list (soonest first)."""
    return await fetch(SQL(
        '{} WHERE ("meeting"."status" IN ({}) AND "meeting"."conference" IN ({})) ORDER BY "meeting"."starts_at" ASC LIMIT {}',
        _constant_select("bulk"), listed(["draft", "notified"]), ids(conference_ids), 100))


# ---------------------------------------------------------------- the form


async def _unit_options(conference_ids: list[int] | None, selected: list[int]) -> list[tuple[str, str]]:
    """Current members of the conferences (all active units for an admin), plus units already chosen."""
    day = today()
    query = Membership.select(Membership.unit.id.as_alias("id"), Membership.unit.name.as_alias("name")).where(
        (Membership.start_date <= day) & (Membership.end_date.is_null() | (Membership.end_date >= day))
        & Membership.unit.ended_on.is_null())
    if conference_ids is not None:
        query = query.where(Membership.conference.is_in(conference_ids or [0]))
    found = {r["id"]: r["name"] for r in await query}
    missing = [u for u in selected if u not in found]
    if missing:
        found.update({r["id"]: r["name"] for r in await MemberUnit.select(MemberUnit.id, MemberUnit.name).where(
            MemberUnit.id.is_in(missing))})
    return sorted(((str(k), v) for k, v in found.items()), key=lambda o: (sort_key(o[1]), o[1]))


async def form_context(actor: Actor, item: Mapping[str, Any] | None, selected: list[str]) -> dict[str, Any]:
    """Fields of the item form. A street's conference is implied; an office chooses among its own."""
    chosen = [n for n in (parse_id(s) for s in selected) if n is not None]
    fields = ITEM_FORM.page_fields(skip=("conference",))
    conference_ids: list[int] | None
    if item is not None:
        conference_ids = [item["conference"]]
    elif actor.role == Role.STREET:
        rows = await Conference.select(Conference.id).where(Conference.street == (actor.street_id or 0))
        conference_ids = [r["id"] for r in rows]
    else:
        options = (await filter_options(actor))["conferences"]
        fields.insert(0, ITEM_FORM["conference"].page_field([("", _("请选择")), *options]))
        conference_ids = None if actor.role == Role.ADMIN else [int(v) for v, _l in options]
    return {
        "fields": fields, "unit_options": await _unit_options(conference_ids, chosen),
        "selected_units": {str(u) for u in chosen}, "item": item,
        "can_submit": item is None or allowed_actions(actor, item, None)["submit"],
        "max_attachment_bytes": MAX_ATTACHMENT_BYTES, "max_attachment_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "max_attachments": MAX_ATTACHMENTS, "too_large": TOO_LARGE,
    }


async def requested_unit_ids(item_id: int) -> list[int]:
    return [r["unit"] for r in await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item == item_id)]


# ---------------------------------------------------------------- the detail page


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


async def status_history(item_id: int) -> list[dict[str, Any]]:
    events = await AuditEvent.select(
        AuditEvent.id, AuditEvent.at, AuditEvent.actor_name, AuditEvent.action, AuditEvent.before, AuditEvent.after,
    ).where((AuditEvent.entity == "agenda_item") & (AuditEvent.entity_id == item_id)).order_by(AuditEvent.at).order_by(
        AuditEvent.id)
    history = []
    for event in events:
        before, after = _json(event["before"]), _json(event["after"])
        detail = ""
        if after.get("return_reason"):
            detail = _("退回理由：{reason}").format(reason=after["return_reason"])
        elif event["action"] == "attach":
            detail = safe_filename(after.get("filename", ""), "")
        elif event["action"] == "move":
            detail = _("第{a}项 → 第{b}项").format(a=before.get("position", ""), b=after.get("position", ""))
        history.append({
            "at": event["at"], "actor_name": event["actor_name"],
            "action": ACTION_LABELS.get(event["action"], event["action"]),
            "from": ITEM_STATUS_LABELS.get(before.get("status", ""), ""), "to": ITEM_STATUS_LABELS.get(after.get("status", ""), ""),
            "detail": detail,
        })
    return history


async def meeting_history(item_id: int) -> list[dict[str, Any]]:
    """Every meeting the item was put on, in meeting order, with the decision taken there."""
    rows = await AgendaSlot.select(
        AgendaSlot.id, AgendaSlot.outcome, AgendaSlot.note, AgendaSlot.decided_at,
        AgendaSlot.meeting.id.as_alias("meeting_id"), AgendaSlot.meeting.title.as_alias("meeting_title"),
        AgendaSlot.meeting.starts_at.as_alias("starts_at"), AgendaSlot.meeting.status.as_alias("meeting_status"),
    ).where(AgendaSlot.item == item_id).order_by(AgendaSlot.meeting.starts_at).order_by(AgendaSlot.id)
    for row in rows:
        row["outcome_label"] = OUTCOME_LABELS.get(row["outcome"], row["outcome"])
        row["meeting_status_label"] = MEETING_STATUS_LABELS.get(row["meeting_status"], row["meeting_status"])
    return rows


async def _schedulable_meetings(conference_id: int) -> list[dict[str, Any]]:
    """The conference's meetings not yet held: coming ones first (soonest first), then overdue ones."""
    rows = await Meeting.select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.status).where(
        (Meeting.conference == conference_id) & Meeting.status.is_in(["draft", "notified"])).order_by(Meeting.starts_at)
    moment = now()
    return [r for r in rows if r["starts_at"] >= moment] + [r for r in reversed(rows) if r["starts_at"] < moment]


def allowed_actions(actor: Actor, item: Mapping[str, Any], meeting_status: str | None) -> dict[str, bool]:
    status, office = item["status"], actor.role in OFFICE_ROLES
    try:
        check_editable(actor, item)
        editable = True
    except DomainError:
        editable = False
    return {
        "edit": editable,
        "submit": status in ("draft", "returned") and (actor.role == Role.STREET or (office and item["street"] is None)),
        "accept": office and status == "submitted",
        "return": office and status in ("submitted", "accepted"),
        "merge": office and status in ("submitted", "accepted"),
        "schedule": office and status in ("accepted", "deferred"),
        "outcome": office and ((status == "scheduled" and meeting_status in HELD_STATES) or status == "discussed"),
        "move": office and status == "scheduled",
        "upload": (actor.role == Role.STREET and status in ("draft", "submitted", "returned")) or office,
    }


async def item_detail(actor: Actor, item_id: int) -> dict[str, Any]:
    """Everything the detail page shows; NotFound when the actor may not see the item."""
    await item_for(actor, item_id)
    item = await AgendaItem.select(
        *AgendaItem.all_columns(), AgendaItem.conference.name.as_alias("conference_name"),
        AgendaItem.street.name.as_alias("street_name"), AgendaItem.submitted_by.display_name.as_alias("submitted_by_name"),
        AgendaItem.meeting.title.as_alias("meeting_title"), AgendaItem.meeting.starts_at.as_alias("meeting_starts_at"),
        AgendaItem.meeting.status.as_alias("meeting_status"), AgendaItem.merged_into.title.as_alias("merged_into_title"),
    ).where(AgendaItem.id == item_id).first()
    assert item is not None
    item["age_days"] = age_days(item["submitted_at"])
    units = await AgendaItemUnit.select(AgendaItemUnit.unit.id.as_alias("id"), AgendaItemUnit.unit.name.as_alias("name")).where(
        AgendaItemUnit.item == item_id).order_by(AgendaItemUnit.unit.sort_key, AgendaItemUnit.unit.name)
    attachments = await Attachment.select(
        Attachment.id, Attachment.filename, Attachment.content_type, Attachment.size, Attachment.created_at,
        Attachment.uploaded_by.display_name.as_alias("uploaded_by_name"),
    ).where(Attachment.item == item_id).order_by(Attachment.id)
    for attachment in attachments:
        attachment["filename"] = safe_filename(attachment["filename"])  # also names stored before the rule
        attachment["preview"] = preview_kind(attachment["content_type"])  # image / pdf: shown in the browser
    merged_from_query = AgendaItem.select(AgendaItem.id, AgendaItem.title, AgendaItem.street.name.as_alias("street_name")).where(
        AgendaItem.merged_into == item_id)
    if actor.role == Role.STREET:
        merged_from_query = merged_from_query.where(AgendaItem.street == (actor.street_id or 0))
    can = allowed_actions(actor, item, item["meeting_status"])
    context: dict[str, Any] = {
        "item": item, "units": units, "attachments": attachments, "merged_from": await merged_from_query,
        "history": await status_history(item_id), "meetings": await meeting_history(item_id), "can": can,
        "status_labels": ITEM_STATUS_LABELS, "urgency_labels": URGENCY_LABELS, "category_labels": CATEGORY_LABELS,
        "outcome_choices": [], "merge_targets": [], "schedule_meetings": [],
        "fields": PAGE_FIELDS,  # the action forms' labels and limits (conference.agenda.forms)
    }
    if can["outcome"]:
        keys = ("discussed", "resolved", "deferred", "not_discussed") if item["status"] == "scheduled" else (
            "resolved", "deferred")
        context["outcome_choices"] = [(k, OUTCOME_LABELS[k]) for k in keys]
    if can["merge"]:
        context["merge_targets"] = await AgendaItem.select(AgendaItem.id, AgendaItem.title, AgendaItem.status).where(
            (AgendaItem.conference == item["conference"]) & AgendaItem.status.is_in(list(OPEN_STATES))
            & (AgendaItem.id != item_id)).order_by(AgendaItem.id, ascending=False).limit(200)
    if can["schedule"]:
        context["schedule_meetings"] = await _schedulable_meetings(item["conference"])
    return context
