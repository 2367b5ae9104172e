"""Agenda items (议题) JSON API under /api/items: the scoped list with each item's age, the item with
its requested units and its history across meetings, raising and editing, and every step of its
lifecycle (submit, accept, return, merge, schedule, order on the agenda, outcome).

Handlers are thin, like the registry API: the rules are conference.agenda.services, the reads
conference.agenda.views (the same scoped list and detail as the HTML pages). A street sees its own
items (drafts included); offices, admins and convenors those of their conferences without other
people's drafts; units deal with tasks, not items (403). An out-of-scope id answers 404 like a
missing one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Router, get, patch, post
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, Parameter

from conference.accounts.actor import Actor, CurrentActor
from conference.agenda import forms, scheduling, services, views
from conference.i18n import gettext as _
from conference.roles import ITEM_READERS, ITEM_WRITERS, OFFICE_ROLES
from conference.web.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    OptionalId,
    Page,
    PageNo,
    PerPage,
    Q,
    RecordId,
    answers,
    body,
    convert,
    merged,
    page_fields,
    relabelled,
)
from conference.web.listing import PER_PAGE

TAGS = ["议题"]

# The names msgspec's errors are reported under (conference.web.apikit.relabelled): the item form's
# fields (services.ITEM_FORM; a PATCH's version and unknown fields) and the query parameters. Every
# body's JSON types are checked through its form's spec (ITEM_FORM, conference.agenda.forms).
LABELS = {**services.ITEM_FORM.labels("api"), "status": _("议题状态"), "street": _("街道"), "sort": _("排序字段")}


# ---------------------------------------------------------------- documents


class ItemRow(msgspec.Struct):
    id: int
    title: str
    status: str  # draft | submitted | accepted | returned | merged | scheduled | discussed | resolved | deferred
    urgency: str  # normal | urgent | critical
    category: str
    conference_name: str
    street_name: str | None  # None when the office raised it
    meeting: int | None  # the meeting it is scheduled on now
    meeting_title: str | None
    submitted_at: dt.datetime | None
    created_at: dt.datetime
    age_days: int | None  # days since submission (None for a draft never submitted)
    meetings_waited: int  # meetings it was carried over from


class UnitRef(msgspec.Struct):
    id: int
    name: str


class ItemMeeting(msgspec.Struct):
    """One meeting the item was put on, and what was decided there."""

    meeting: int
    meeting_title: str
    starts_at: dt.datetime
    meeting_status: str
    outcome: str  # pending | discussed | resolved | deferred | not_discussed
    note: str
    decided_at: dt.datetime | None


class AttachmentOut(msgspec.Struct):
    id: int
    filename: str
    content_type: str
    size: int
    created_at: dt.datetime
    uploaded_by_name: str | None


class MergedItem(msgspec.Struct):
    id: int
    title: str
    street_name: str | None


class ItemDetail(msgspec.Struct):
    id: int
    conference: int
    conference_name: str
    street: int | None
    street_name: str | None
    submitted_by_name: str | None
    title: str
    description: str
    category: str
    urgency: str
    status: str
    return_reason: str
    merged_into: int | None
    merged_into_title: str | None
    meeting: int | None
    meeting_title: str | None
    meeting_starts_at: dt.datetime | None
    meeting_status: str | None
    position: int
    submitted_at: dt.datetime | None
    age_days: int | None
    meetings_waited: int
    version: int
    created_at: dt.datetime
    units: list[UnitRef]  # the member units the item asks to deal with it
    meetings: list[ItemMeeting]  # every meeting it was put on, in meeting order
    attachments: list[AttachmentOut]
    merged_from: list[MergedItem]  # items folded into this one
    actions: dict[str, bool]  # what the caller may do now: edit, submit, accept, return, merge, schedule, outcome, move
    external_ref: str = ""  # the ticket number in the 12345 hotline or grid platform (conference.agenda.intake)
    external_source: str = ""  # "12345" | "grid" | "" for items raised here


# The item form's API bodies, derived from its spec (services.ITEM_FORM.json_fields checks the types
# of what is sent): a street's items go to its street conference, an office names one; `submit`
# submits at once instead of keeping a draft. A PATCH changes only the fields given.
ItemIn = services.ITEM_FORM.struct("ItemIn")
ItemPatch = services.ITEM_FORM.struct("ItemPatch", patch=True, skip=("conference", "submit"), extra=[("version", int)])


# The lifecycle's bodies, derived from the item page's action forms (conference.agenda.forms): the
# handlers check the JSON types through the spec, then the services read them as the page's are read.
ReturnIn = forms.RETURN_FORM.struct("ReturnIn")
MergeIn = forms.MERGE_FORM.struct("MergeIn")
ScheduleIn = forms.SCHEDULE_FORM.struct("ScheduleIn")
OutcomeIn = forms.OUTCOME_FORM.struct("OutcomeIn")  # discussed | resolved | deferred | not_discussed
MoveIn = forms.MOVE_FORM.struct("MoveIn")  # up | down


# ---------------------------------------------------------------- helpers


async def _detail(actor: Actor, item_id: int) -> ItemDetail:
    context = await views.item_detail(actor, item_id)  # NotFound when out of scope
    return convert({
        **context["item"], "units": context["units"], "attachments": context["attachments"],
        "meetings": [{**m, "meeting": m["meeting_id"]} for m in context["meetings"]],
        "merged_from": context["merged_from"], "actions": context["can"],
    }, ItemDetail)


def _unit_ids(units: list[int] | None) -> list[str]:
    return [str(u) for u in units or []]


# ---------------------------------------------------------------- list and detail

ItemStatus = Literal["draft", "submitted", "accepted", "returned", "merged", "scheduled", "discussed", "resolved", "deferred"]


@get("/", opt={"roles": ITEM_READERS}, tags=TAGS, summary=_("议题列表"), responses=answers(Page[ItemRow], READ_ERRORS))
async def list_items(
    actor: CurrentActor,
    q: Q = None,
    status: FromQuery[ItemStatus | None] = None,
    urgency: FromQuery[Literal["normal", "urgent", "critical"] | None] = None,
    conference: OptionalId = None,
    street: OptionalId = None,
    page: PageNo = 1,
    per_page: PerPage = PER_PAGE,
    sort: FromQuery[Literal["submitted_at", "age", "urgency", "title"]] = "submitted_at",
    desc: Annotated[bool | None, Parameter(description=_("是否倒序；默认按提交时间倒序（最新的在前），其余字段正序"))] = None,
) -> Page[ItemRow]:
    """街道只看到本街道的议题（含草稿）；办公室、管理员和召集人看到其联席会议的议题（他人的草稿除外）。
    每条附 age_days（自提交起的天数）和 meetings_waited（已等待的会议次数）；q 搜索议题名称。"""
    query = {"q": (q or "").replace("\x00", ""), "page": str(page), "per_page": str(per_page), "sort": sort,
             "desc": "1" if (sort == "submitted_at" if desc is None else desc) else ""}
    for key, value in (("status", status), ("urgency", urgency), ("conference", conference), ("street", street)):
        if value is not None:
            query[key] = str(value)
    listing = (await views.item_list(actor, query))["page"]
    return Page(items=[convert({**r, "meeting": r["meeting_id"]}, ItemRow) for r in listing.rows],
                    **page_fields(listing))


@get("/{item_id:int}", opt={"roles": ITEM_READERS}, tags=TAGS, summary=_("议题详情"), responses=answers(ItemDetail, READ_ERRORS))
async def get_item(actor: CurrentActor, item_id: RecordId) -> ItemDetail:
    """含提请单位、附件、并入的议题、上过的每次会议及其研究结果（outcome、note），以及本账号现在可执行的操作（actions）。"""
    return await _detail(actor, item_id)


# ---------------------------------------------------------------- raise and edit


@post("/", opt={"roles": ITEM_WRITERS}, tags=TAGS, summary=_("提请议题"), responses=answers(ItemDetail, WRITE_ERRORS, status=201))
async def create_item(actor: CurrentActor, data: Annotated[ItemIn, body(ItemIn)]) -> ItemDetail:  # type: ignore[valid-type]
    """街道的议题属于本街道联席会议（conference 不必填）；办公室须选择 conference。category 取 urban_management、planning、
    market、safety、environment、public_order、services 或 other；urgency 取 normal、urgent 或 critical；
    units 为提请协调的成员单位编号。submit 为 true 时直接提交，否则保存为草稿。"""
    fields = services.ITEM_FORM.json_fields(data)
    units, submit = fields.pop("units", None), bool(fields.pop("submit", False))
    item_id = await services.create_item(actor, fields, _unit_ids(units), submit=submit)
    return await _detail(actor, item_id)


@patch("/{item_id:int}", opt={"roles": ITEM_WRITERS}, tags=TAGS, summary=_("修改议题"), responses=answers(ItemDetail, WRITE_ERRORS))
async def update_item(actor: CurrentActor, item_id: RecordId,
                      data: Annotated[ItemPatch, body(ItemPatch)]) -> ItemDetail:  # type: ignore[valid-type]
    """只修改给出的字段（units 给出时替换全部提请单位）；version 须为读取时的版本，否则返回 409。草稿和退回的议题由提出者
    修改；已提交、尚未受理的议题只能由办公室修改。"""
    services.ITEM_FORM.json_fields(data)  # wrong JSON types answer before anything is read
    item = await services.item_for(actor, item_id)
    stored = {**item, "units": await views.requested_unit_ids(item_id)}
    record = merged(stored, data)
    units = record.pop("units", None)
    await services.update_item(actor, item_id, record, _unit_ids(units))
    return await _detail(actor, item_id)


# ---------------------------------------------------------------- lifecycle


@post("/{item_id:int}/submit", opt={"roles": ITEM_WRITERS}, tags=TAGS, summary=_("提交议题"), status_code=200,
      responses=answers(ItemDetail, WRITE_ERRORS))
async def submit_item(actor: CurrentActor, item_id: RecordId) -> ItemDetail:
    """草稿或退回的议题提交给办公室；首次提交开始计算议题的等待天数。"""
    await services.submit_item(actor, item_id)
    return await _detail(actor, item_id)


@post("/{item_id:int}/accept", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("受理议题"), status_code=200,
      responses=answers(ItemDetail, WRITE_ERRORS))
async def accept_item(actor: CurrentActor, item_id: RecordId) -> ItemDetail:
    """已提交的议题由办公室受理，之后可列入会议议程；街道会收到通知。"""
    await services.accept_item(actor, item_id)
    return await _detail(actor, item_id)


@post("/{item_id:int}/return", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("退回议题"), status_code=200,
      responses=answers(ItemDetail, WRITE_ERRORS))
async def return_item(actor: CurrentActor, item_id: RecordId, data: Annotated[ReturnIn, body(ReturnIn)]) -> ItemDetail:  # type: ignore[valid-type]
    """已提交或已受理的议题可以退回，须填写退回理由（reason）；街道会收到通知。"""
    await services.return_item(actor, item_id, forms.RETURN_FORM.json_fields(data))
    return await _detail(actor, item_id)


@post("/{item_id:int}/merge", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("合并议题"), status_code=200,
      responses=answers(ItemDetail, WRITE_ERRORS))
async def merge_item(actor: CurrentActor, item_id: RecordId, data: Annotated[MergeIn, body(MergeIn)]) -> ItemDetail:  # type: ignore[valid-type]
    """把重复的议题并入本联席会议另一个未办结的议题（into），其提请单位一并加入；返回被并入后的本议题。"""
    await services.merge_item(actor, item_id, forms.MERGE_FORM.json_fields(data))
    return await _detail(actor, item_id)


@post("/{item_id:int}/schedule", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("列入会议议程"),
      status_code=200, responses=answers(ItemDetail, WRITE_ERRORS))
async def schedule_item(actor: CurrentActor, item_id: RecordId, data: Annotated[ScheduleIn, body(ScheduleIn)]) -> ItemDetail:  # type: ignore[valid-type]
    """已受理或暂缓的议题列入本联席会议尚未召开的会议（meeting），排在议程末尾。"""
    await scheduling.schedule_item(actor, item_id, forms.SCHEDULE_FORM.json_fields(data))
    return await _detail(actor, item_id)


@post("/{item_id:int}/outcome", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("记录研究结果"),
      status_code=200, responses=answers(ItemDetail, WRITE_ERRORS))
async def record_outcome(actor: CurrentActor, item_id: RecordId, data: Annotated[OutcomeIn, body(OutcomeIn)]) -> ItemDetail:  # type: ignore[valid-type]
    """会议召开后记录：outcome 取 discussed（已研究）、resolved（已解决）、deferred（暂缓）或 not_discussed（未及研究，
    亦转下次会议）；已研究的议题可再记为已解决或暂缓。暂缓的议题离开本次议程，已等待会议次数加 1。"""
    await scheduling.record_outcome(actor, item_id, forms.OUTCOME_FORM.json_fields(data))
    return await _detail(actor, item_id)


@post("/{item_id:int}/move", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("调整议程顺序"), status_code=200,
      responses=answers(ItemDetail, WRITE_ERRORS))
async def move_item(actor: CurrentActor, item_id: RecordId, data: Annotated[MoveIn, body(MoveIn)]) -> ItemDetail:  # type: ignore[valid-type]
    """direction 取 up（上移）或 down（下移），与相邻议题交换位置；已在首位或末位时不变。"""
    await scheduling.move_item(actor, item_id, forms.MOVE_FORM.json_fields(data).get("direction") or "")
    return await _detail(actor, item_id)


ROUTES: list[Any] = [
    Router(path="/api/items", route_handlers=[
        list_items, get_item, create_item, update_item, submit_item, accept_item, return_item, merge_item,
        schedule_item, record_outcome, move_item,
    ], exception_handlers={ValidationException: relabelled(LABELS)}),
]
