"""Special-meeting requests (专题会议提请): a street asks its conference's convenor for a special
meeting; the convenor approves (a draft special meeting is created) or declines with a comment.

Thin handlers over conference.meetings.services; every by-id lookup goes through
`special_request_for`, so out-of-scope requests answer 404 exactly like missing ones."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.accounts.tables import User
from conference.i18n import gettext as _
from conference.meetings import services
from conference.meetings.tables import Meeting, SpecialMeetingRequest
from conference.web.auth import actor_of
from conference.web.fields import Field
from conference.web.forms import submit
from conference.web.listing import paginate
from conference.web.templating import render

SEE = ("admin", "office", "convenor", "street")
DECIDE = ("admin", "convenor")
BASE = "/special-requests"

SMR = SpecialMeetingRequest
LIST_COLUMNS = [
    SMR.id, SMR.status, SMR.proposed_date, SMR.reason, SMR.created_at, SMR.meeting,
    SMR.street.name.as_alias("street_name"), SMR.conference.name.as_alias("conference_name"),
]


def request_fields() -> list[Field]:
    return [
        Field("reason", _("提请事由"), "textarea", required=True, max_length=2000,
              help=_("说明街道遇到的难题，以及为什么需要召开专题会议。")),
        Field("proposed_items", _("拟议事项"), "textarea", max_length=2000, help=_("拟提交会议研究的事项，每行一项。")),
        Field("proposed_date", _("建议日期"), "date", required=True, help=_("不能早于今天。")),
    ]


async def _scope(actor: Actor) -> Any:
    """The requests the actor may list: a street its own, the others those of visible conferences."""
    if actor.role == "street":
        return SMR.street == (actor.street_id or 0)
    visible = await visible_conference_ids(actor)
    if visible is None:
        return None
    return SMR.conference.is_in(list(visible) or [0])


@get(BASE, opt={"roles": SEE}, include_in_schema=False)
async def request_list(request: Request[Any, Any, Any]) -> Template:
    actor = actor_of(request)
    query = dict(request.query_params)
    where = await _scope(actor)
    status = query.get("status", "")
    if status in services.REQUEST_STATUS_LABELS:
        clause = SMR.status == status
        where = clause if where is None else (where & clause)
    else:
        status = ""
    if "sort" not in query:  # newest first unless the user sorts otherwise
        query["desc"] = "1"
    page = await paginate(SMR, LIST_COLUMNS, query, search=[SMR.reason, SMR.proposed_items],
                          sorts={"created": SMR.id, "date": SMR.proposed_date}, default_sort="created", where=where)
    page.extra = {"status": status} if status else {}
    return render(request, "special/list.html", page=page, status=status,
                  status_labels=services.REQUEST_STATUS_LABELS, can_request=actor.role == "street")


@get(f"{BASE}/new", opt={"roles": ("street",)}, include_in_schema=False)
async def new_request(request: Request[Any, Any, Any]) -> Template:
    return render(request, "form_page.html", fields=request_fields(), form={}, errors={},
                  title=_("提请召开专题会议"), back=BASE)


@post(f"{BASE}/new", opt={"roles": ("street",)}, include_in_schema=False)
async def create_request(request: Request[Any, Any, Any]) -> Template | Redirect:
    actor = actor_of(request)
    return await submit(request, template="form_page.html", fields=request_fields(), title=_("提请召开专题会议"),
                        back=BASE, action=lambda data: services.request_special_meeting(actor, data),
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
        "street_name": row["street_name"] if row else "",
        "conference_name": row["conference_name"] if row else "",
        "requested_by": await _name(User, User.display_name, req["requested_by"]),
        "decided_by": await _name(User, User.display_name, req["decided_by"]),
        "meeting": meeting,
        "status_labels": services.REQUEST_STATUS_LABELS,
        "meeting_status_labels": services.STATUS_LABELS,
        "can_decide": actor.role in DECIDE and req["status"] == "requested",
    }


@get(f"{BASE}/{{request_id:int}}", opt={"roles": SEE}, include_in_schema=False)
async def request_detail(request: Request[Any, Any, Any], request_id: FromPath[int]) -> Template:
    actor = actor_of(request)
    req = await services.special_request_for(actor, request_id)
    return render(request, "special/detail.html", form={}, errors={}, decision=None, **await _detail_context(actor, req))


async def _decide(request: Request[Any, Any, Any], request_id: int, approve: bool) -> Template | Redirect:
    actor = actor_of(request)
    req = await services.special_request_for(actor, request_id)
    context = await _detail_context(actor, req)
    return await submit(
        request, template="special/detail.html", decision="approve" if approve else "decline", **context,
        action=lambda data: services.decide_special_request(actor, request_id, approve, data),
        success=lambda _meeting_id: f"{BASE}/{request_id}",
        flash=_("已同意召开专题会议，会议草稿已生成，请办公室完善时间地点后发送通知。") if approve else _("已答复：不同意召开。"),
    )


@post(f"{BASE}/{{request_id:int}}/approve", opt={"roles": DECIDE}, include_in_schema=False)
async def approve_request(request: Request[Any, Any, Any], request_id: FromPath[int]) -> Template | Redirect:
    return await _decide(request, request_id, True)


@post(f"{BASE}/{{request_id:int}}/decline", opt={"roles": DECIDE}, include_in_schema=False)
async def decline_request(request: Request[Any, Any, Any], request_id: FromPath[int]) -> Template | Redirect:
    return await _decide(request, request_id, False)


ROUTES: list[Any] = [request_list, new_request, create_request, request_detail, approve_request, decline_request]
