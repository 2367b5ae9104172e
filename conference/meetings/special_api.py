"""Special-meeting requests over the JSON API (part of conference.meetings.api): a street raises a
request with its accepted items, the convenor approves (a draft special meeting) or declines."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import get, post
from litestar.params import FromQuery, Parameter

from conference.accounts.actor import Actor, CurrentActor
from conference.agenda.scheduling import request_item_ids
from conference.i18n import gettext as _
from conference.meetings import special_requests, views
from conference.meetings.api_types import DecisionIn, SpecialRequestIn, SpecialRequestOut
from conference.meetings.forms import DECISION_FORM
from conference.meetings.tables import SpecialMeetingRequest
from conference.roles import ITEM_READERS, REQUEST_DECIDERS, Role
from conference.web.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    Page,
    PageNo,
    PerPage,
    Q,
    RecordId,
    answers,
    body,
    convert,
    page_fields,
)
from conference.web.listing import PER_PAGE, paginate

# ---------------------------------------------------------------- special meeting requests

SMR = SpecialMeetingRequest
REQUEST_COLUMNS = [
    *SMR.all_columns(), SMR.street.name.as_alias("street_name"), SMR.conference.name.as_alias("conference_name"),
    SMR.requested_by.display_name.as_alias("requested_by_name"), SMR.decided_by.display_name.as_alias("decided_by_name"),
]


async def _request_rows(rows: list[dict[str, Any]]) -> list[SpecialRequestOut]:
    """The requests with the ids of the items each puts forward (one query for all)."""
    items = await request_item_ids([int(r["id"]) for r in rows])
    return [convert({**r, "items": items.get(int(r["id"]), [])}, SpecialRequestOut) for r in rows]


async def _special_request(actor: Actor, request_id: int) -> SpecialRequestOut:
    await special_requests.special_request_for(actor, request_id)
    row = await SMR.select(*REQUEST_COLUMNS).where(SMR.id == request_id).first()
    assert row is not None
    return (await _request_rows([row]))[0]


@get("/", opt={"roles": ITEM_READERS}, tags=["专题会议提请"], summary=_("专题会议提请列表"),
     responses=answers(Page[SpecialRequestOut], READ_ERRORS))
async def list_special_requests(actor: CurrentActor, q: Q = None,
                                status: FromQuery[Literal["requested", "approved", "declined"] | None] = None,
                                page: PageNo = 1, per_page: PerPage = PER_PAGE,
                                sort: FromQuery[Literal["created", "proposed_date"]] = "created",
                                desc: Annotated[bool, Parameter(description=_("是否倒序（默认最新的在前）"))] = True,
                                ) -> Page[SpecialRequestOut]:
    """街道只看到本街道的提请，办公室和召集人看到其联席会议的提请；q 搜索会议名称、提请事由和补充说明。"""
    where = await views.special_request_scope(actor)  # visibility.visible_special_requests
    if status is not None:
        where = (SMR.status == status) if where is None else (where & (SMR.status == status))
    query = {"q": q or "", "page": str(page), "per_page": str(per_page), "sort": sort, "desc": "1" if desc else ""}
    result = await paginate(SMR, REQUEST_COLUMNS, query, search=[SMR.title, SMR.reason, SMR.proposed_items],
                            sorts={"created": SMR.id, "proposed_date": SMR.proposed_date}, default_sort="created",
                            where=where)
    return Page(items=await _request_rows(result.rows), **page_fields(result))


@get("/{request_id:int}", opt={"roles": ITEM_READERS}, tags=["专题会议提请"],
     summary=_("专题会议提请详情"), responses=answers(SpecialRequestOut, READ_ERRORS))
async def get_special_request(actor: CurrentActor, request_id: RecordId) -> SpecialRequestOut:
    """一项专题会议提请及其议题；街道只能看本街道的提请。"""
    return await _special_request(actor, request_id)


@post("/", opt={"roles": (Role.STREET,)}, tags=["专题会议提请"], summary=_("提请召开专题会议"),
      responses=answers(SpecialRequestOut, WRITE_ERRORS, status=201))
async def create_special_request(actor: CurrentActor,
                                 data: Annotated[SpecialRequestIn, body(SpecialRequestIn)]) -> SpecialRequestOut:  # type: ignore[valid-type]
    """街道向本街道联席会议的召集人提请：title 为同意后专题会议的名称；items 为本街道已受理、尚未列入会议的议题（至少一项），
    同意后列入专题会议议程，并邀请议题提请协调的单位；proposed_date 不能早于今天。"""
    fields = special_requests.REQUEST_FORM.json_fields(data)
    items = fields.pop("items", None) or []
    request_id = await special_requests.request_special_meeting(actor, fields, [str(i) for i in items])
    return await _special_request(actor, request_id)


@post("/{request_id:int}/approve", opt={"roles": REQUEST_DECIDERS}, tags=["专题会议提请"],
      summary=_("同意召开专题会议"), status_code=200, responses=answers(SpecialRequestOut, WRITE_ERRORS))
async def approve_special_request(actor: CurrentActor, request_id: RecordId,
                                  data: Annotated[DecisionIn, body(DecisionIn)]) -> SpecialRequestOut:  # type: ignore[valid-type]
    """生成专题会议草稿（meeting 为其编号），由办公室完善时间地点后发送通知；已审批的提请返回 409。"""
    await special_requests.decide_special_request(actor, request_id, True, DECISION_FORM.json_fields(data))
    return await _special_request(actor, request_id)


@post("/{request_id:int}/decline", opt={"roles": REQUEST_DECIDERS}, tags=["专题会议提请"],
      summary=_("不同意召开专题会议"), status_code=200, responses=answers(SpecialRequestOut, WRITE_ERRORS))
async def decline_special_request(actor: CurrentActor, request_id: RecordId,
                                  data: Annotated[DecisionIn, body(DecisionIn)]) -> SpecialRequestOut:  # type: ignore[valid-type]
    """须填写审批意见（comment）；已审批的提请返回 409。"""
    await special_requests.decide_special_request(actor, request_id, False, DECISION_FORM.json_fields(data))
    return await _special_request(actor, request_id)


# conference.meetings.api mounts these under /api/special-requests.
SPECIAL_ROUTES: list[Any] = [
    list_special_requests, get_special_request, create_special_request, approve_special_request,
    decline_special_request,
]
