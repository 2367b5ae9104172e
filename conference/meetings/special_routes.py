"""Special-meeting requests (专题会议提请): a street asks its conference's convenor for a special
meeting; the convenor approves (a draft special meeting is created) or declines with a comment.

Thin handlers over conference.meetings.services; every by-id lookup goes through
`special_request_for`, so out-of-scope requests answer 404 exactly like missing ones."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor, CurrentActor
from conference.accounts.tables import User
from conference.agenda.scheduling import request_items, requestable_items
from conference.agenda.states import ITEM_STATUS_LABELS, URGENCY_LABELS
from conference.i18n import gettext as _
from conference.meetings import services, special_requests, views
from conference.meetings.forms import DECISION_FORM
from conference.meetings.states import MEETING_STATUS_LABELS, REQUEST_STATUS_LABELS
from conference.meetings.tables import Meeting, SpecialMeetingRequest
from conference.roles import ITEM_READERS, REQUEST_DECIDERS, Role
from conference.web.fields import Field
from conference.web.forms import submit
from conference.web.listing import paginate
from conference.web.templating import render

BASE = "/special-requests"

SMR = SpecialMeetingRequest
LIST_COLUMNS = [
    SMR.id, SMR.status, SMR.proposed_date, SMR.title, SMR.reason, SMR.created_at, SMR.meeting,
    SMR.street.name.as_alias("street_name"), SMR.conference.name.as_alias("conference_name"),
]


def request_fields() -> list[Field]:
    """The request form's fields above the items to tick (special_requests.REQUEST_FORM)."""
    return special_requests.REQUEST_FORM.page_fields(skip=("proposed_items",))


def note_field() -> Field:
    """The free-text note, below the items."""
    return special_requests.REQUEST_FORM["proposed_items"].page_field()


async def _form_context(actor: Actor, chosen: list[str]) -> dict[str, Any]:
    """The request form: its fields and the street's accepted items not yet on a meeting."""
    items = []
    if actor.street_id is not None:
        items = await requestable_items(actor.street_id, await services.street_conference(actor.street_id))
    return {"fields": request_fields(), "note": note_field(), "items": items, "chosen": set(chosen),
            "urgency_labels": URGENCY_LABELS, "title": _("提请召开专题会议"), "back": BASE}


def _ticked(raw: Any) -> list[str]:
    return [v for v in raw.getall("items", []) if isinstance(v, str)]


@get("/", opt={"roles": ITEM_READERS})
async def request_list(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    query = dict(request.query_params)
    where, status = await views.special_request_conditions(actor, query.get("status", ""))
    if "sort" not in query:  # newest first unless the user sorts otherwise
        query["desc"] = "1"
    page = await paginate(SMR, LIST_COLUMNS, query, search=[SMR.title, SMR.reason, SMR.proposed_items],
                          sorts={"created": SMR.id, "date": SMR.proposed_date}, default_sort="created", where=where)
    page.extra = {"status": status} if status else {}
    return render(request, "special/list.html", page=page, status=status,
                  status_labels=views.REQUEST_FILTERS, can_request=actor.role == Role.STREET)


@get("/new", opt={"roles": (Role.STREET,)})
async def new_request(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    context = await _form_context(actor, [])
    return render(request, "special/form.html", form={}, errors={}, **context)


@post("/new", opt={"roles": (Role.STREET,)})
async def create_request(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    chosen = _ticked(await request.form())
    return await submit(request, template="special/form.html", page=lambda: _form_context(actor, chosen),
                        action=lambda data: special_requests.request_special_meeting(actor, data, chosen),
                        success=lambda new_id: f"{BASE}/{new_id}", flash=_("提请已提交，等待召集人审批。"))


async def _name(table: Any, column: Any, record_id: int | None) -> str:
    if record_id is None:
        return ""
    row = await table.select(column.as_alias("label")).where(table._meta.primary_key == record_id).first()
    return str(row["label"]) if row else ""


async def _detail_context(actor: Actor, req: dict[str, Any]) -> dict[str, Any]:
    row = await SMR.select(SMR.street.name.as_alias("street_name"), SMR.conference.name.as_alias("conference_name")).where(
        SMR.id == req["id"]).first()
    meeting = None
    if req["meeting"] is not None:
        meeting = await Meeting.select(Meeting.id, Meeting.title, Meeting.status).where(Meeting.id == req["meeting"]).first()
    return {
        "req": req,
        "items": await request_items(int(req["id"])),
        "item_status_labels": ITEM_STATUS_LABELS,
        "street_name": row["street_name"] if row else "",
        "conference_name": row["conference_name"] if row else "",
        "requested_by": await _name(User, User.display_name, req["requested_by"]),
        "decided_by": await _name(User, User.display_name, req["decided_by"]),
        "meeting": meeting,
        "status_labels": REQUEST_STATUS_LABELS,
        "meeting_status_labels": MEETING_STATUS_LABELS,
        "can_decide": actor.role in REQUEST_DECIDERS and req["status"] == "requested",
        "comment_field": DECISION_FORM["comment"].page_field(),  # the decision forms' limit (forms.DECISION_FORM)
    }


@get("/{request_id:int}", opt={"roles": ITEM_READERS})
async def request_detail(request: Request[Any, Any, Any], actor: CurrentActor, request_id: FromPath[int]) -> Template:
    req = await special_requests.special_request_for(actor, request_id)
    return render(request, "special/detail.html", form={}, errors={}, decision=None, **await _detail_context(actor, req))


async def _decide(request: Request[Any, Any, Any], actor: Actor, request_id: int, approve: bool) -> Template | Redirect:
    req = await special_requests.special_request_for(actor, request_id)
    return await submit(
        request, template="special/detail.html", decision="approve" if approve else "decline",
        page=lambda: _detail_context(actor, req),
        action=lambda data: special_requests.decide_special_request(actor, request_id, approve, data),
        success=lambda _meeting_id: f"{BASE}/{request_id}",
        flash=_("已同意召开专题会议，会议草稿已生成，请办公室完善时间地点后发送通知。") if approve else _("已答复：不同意召开。"),
    )


@post("/{request_id:int}/approve", opt={"roles": REQUEST_DECIDERS})
async def approve_request(request: Request[Any, Any, Any], actor: CurrentActor, request_id: FromPath[int]) -> Template | Redirect:
    return await _decide(request, actor, request_id, True)


@post("/{request_id:int}/decline", opt={"roles": REQUEST_DECIDERS})
async def decline_request(request: Request[Any, Any, Any], actor: CurrentActor, request_id: FromPath[int]) -> Template | Redirect:
    return await _decide(request, actor, request_id, False)


# Pages, not API operations: kept out of the OpenAPI schema as a group.
ROUTES: list[Any] = [Router(BASE, route_handlers=[request_list, new_request, create_request, request_detail, approve_request, decline_request],
                            include_in_schema=False)]
