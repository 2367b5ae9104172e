"""Meetings JSON API under /api/: meetings and their lifecycle, invitations (replies, sign-in, personal
links), the half-year plenary overview, special-meeting requests, and a unit's or street's own
notifications.

Handlers are thin, like the registry API (conference.registry.api): load in scope, call one service of
conference.meetings.services, return plain data. The read side is conference.meetings.views (a fixed
number of queries whatever the number of meetings). Permissions mirror the HTML pages: offices and
admins manage meetings and invitations; convenors read the meetings of the conferences they convene
(with the replies) and decide special-meeting requests; a street reads its conference's meetings and
raises requests; a unit reads the meetings it is invited to and answers its own invitation. An
out-of-scope id answers 404 exactly like a missing one.

A unit's personal reply link carries a token that works without a password: it appears only in the
notice sent to the unit (the database keeps its hash), never in this API, and reply links in
notification texts are masked for everybody.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, delete, get, patch, post
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, JSONBody, Parameter

from conference.accounts.actor import Actor
from conference.agenda.scheduling import request_item_ids
from conference.agenda.views import age_days
from conference.errors import NotFound, ValidationFailed
from conference.i18n import gettext as _
from conference.meetings import invitations as meeting_invitations
from conference.meetings import lifecycle, services, special_requests, views
from conference.meetings.tables import Invitation, Meeting, SpecialMeetingRequest
from conference.notifications.services import mask_links, recent_for
from conference.records import get_or_404
from conference.settings import get_settings
from conference.timefmt import local, today
from conference.web.apikit import (
    MAX_ID,
    READ_ERRORS,
    WRITE_ERRORS,
    OptionalId,
    PageNo,
    PerPage,
    Q,
    RecordId,
    convert,
    error_responses,
    merged,
    relabelled,
    sent_fields,
)
from conference.web.auth import actor_of
from conference.web.listing import PER_PAGE, paginate

OFFICE = ("admin", "office")
ALL_ROLES = ("admin", "office", "convenor", "street", "unit")
MEETING_READERS = ALL_ROLES
OVERVIEW_READERS = ("admin", "office", "convenor")
REPLY_READERS = views.REPLY_READERS  # the meeting page's replies and sign-in

INVITATION_READERS = ("admin", "office", "convenor", "unit")
REQUEST_READERS = ("admin", "office", "convenor", "street")
REQUEST_DECIDERS = ("admin", "convenor")
NOTIFICATION_READERS = ("unit", "street")
INVITATION_NOT_FOUND = _("没有找到该会议邀请，或您无权查看。")
NOTIFICATION_LIMIT = 50


MEETING_LABELS = {
    "conference": _("联席会议"), "kind": _("会议类型"), "status": _("会议状态"), "title": _("会议名称"),
    "date": _("会议日期"), "start_time": _("开始时间"), "end_time": _("结束时间"), "location": _("会议地点"),
    "presiding": _("主持召集人"), "notes": _("备注"), "requirements": _("参会要求"), "reply_deadline": _("回执截止时间"),
    "reason": _("取消原因"), "start": _("开始日期"), "end": _("结束日期"),
    "unit": _("单位"), "role": _("邀请身份"), "attendance": _("签到情况"), "reply": _("参会情况"),
    "attendee_name": _("参会人姓名"), "attendee_title": _("参会人职务"), "leave_reason": _("请假事由"), "sort": _("排序字段"),
}
REQUEST_LABELS = {
    "reason": _("提请事由"), "proposed_items": _("拟议事项"), "proposed_date": _("建议日期"), "comment": _("审批意见"),
    "status": _("审批状态"), "sort": _("排序字段"),
}


# ---------------------------------------------------------------- documents


class MeetingRow(msgspec.Struct):
    id: int
    conference: int
    conference_name: str
    kind: str  # plenary | special
    title: str
    status: str  # draft | notified | held | minutes_in_review | minutes_published | cancelled
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: str
    presiding_name: str | None
    sequence: int
    invited: int
    replied: int
    present: int
    items: int


class MeetingPage(msgspec.Struct):
    items: list[MeetingRow]
    total: int
    page: int
    per_page: int


class AgendaEntry(msgspec.Struct):
    """An item on the meeting's agenda, in agenda order."""

    id: int
    title: str
    status: str
    urgency: str
    position: int
    street_name: str | None
    submitted_at: dt.datetime | None
    age_days: int | None  # days since submission
    meetings_waited: int  # meetings it was carried over from


class AgendaDecision(msgspec.Struct):
    """An item once on this meeting's agenda and since decided (resolved here, or deferred)."""

    id: int
    title: str
    status: str
    outcome: str
    note: str
    street_name: str | None


class InvitationOut(msgspec.Struct):
    id: int
    meeting: int
    unit: int
    unit_name: str
    role: str  # member | observer (列席)
    reply: str  # pending | attending | leave | delegated
    attendee_name: str
    attendee_title: str
    leave_reason: str
    replied_at: dt.datetime | None
    attendance: str  # "" | present | leave | absent
    signed_in_at: dt.datetime | None
    notified_sequence: int | None
    # Never filled any more: the personal reply link {base_url}/r/{token} goes only into the unit's
    # notice, and the database keeps only the token's hash. Kept for clients that read the field.
    token: str | msgspec.UnsetType = msgspec.UNSET


class MeetingCounts(msgspec.Struct):
    invited: int
    observers: int
    replied: int
    attending: int
    leave: int
    present: int
    absent: int
    on_leave: int
    to_notify: int


class MeetingDetail(msgspec.Struct):
    id: int
    conference: int
    conference_name: str
    kind: str
    title: str
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    date: dt.date  # local (Asia/Shanghai) date and times, as the meeting form takes them
    start_time: str
    end_time: str
    location: str
    presiding: int | None
    presiding_name: str | None
    presiding_title: str | None
    uid: str
    sequence: int
    notes: str
    requirements: str  # 参会要求; "" = the default text of the notice
    reply_deadline: dt.datetime | None  # 回执截止时间, before starts_at
    notice_number: str  # 文号 of the 会议通知, "" before the first notice
    cancel_reason: str
    notified_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    agenda: list[AgendaEntry]
    decided: list[AgendaDecision]
    invitations: list[InvitationOut]
    counts: MeetingCounts | None  # replies and sign-in figures: offices, admins and convenors only


class NotifyOut(msgspec.Struct):
    notified: int  # units sent the notice (or the notice of change)
    meeting: MeetingDetail


class MeetingIn(msgspec.Struct, forbid_unknown_fields=True):
    conference: int | None = None
    kind: str | None = None
    title: str | None = None
    date: dt.date | None = None
    start_time: str | None = None
    end_time: str | None = None
    location: str | None = None
    presiding: int | None = None
    notes: str | None = None
    requirements: str | None = None
    reply_deadline: dt.datetime | None = None


class MeetingPatch(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    kind: str | msgspec.UnsetType | None = msgspec.UNSET
    title: str | msgspec.UnsetType | None = msgspec.UNSET
    date: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    start_time: str | msgspec.UnsetType | None = msgspec.UNSET
    end_time: str | msgspec.UnsetType | None = msgspec.UNSET
    location: str | msgspec.UnsetType | None = msgspec.UNSET
    presiding: int | msgspec.UnsetType | None = msgspec.UNSET
    notes: str | msgspec.UnsetType | None = msgspec.UNSET
    requirements: str | msgspec.UnsetType | None = msgspec.UNSET
    reply_deadline: dt.datetime | msgspec.UnsetType | None = msgspec.UNSET


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class InvitationIn(msgspec.Struct, forbid_unknown_fields=True):
    unit: int | None = None
    role: str | None = None  # member | observer


class AttendanceIn(msgspec.Struct, forbid_unknown_fields=True):
    attendance: str | None = None  # present | leave | absent


class ReplyIn(msgspec.Struct, forbid_unknown_fields=True):
    reply: str | None = None  # attending | leave | delegated
    attendee_name: str | None = None
    attendee_title: str | None = None
    leave_reason: str | None = None


class PlenaryMeeting(msgspec.Struct):
    id: int
    title: str
    status: str
    starts_at: dt.datetime
    day: dt.date


class PlenaryOut(msgspec.Struct):
    id: int  # the conference
    name: str
    level: str
    state: str  # done | planned | due | overdue (this half-year's plenary)
    last: PlenaryMeeting | None
    next: PlenaryMeeting | None
    missed_previous: bool
    half_end: dt.date
    next_title: str


class SpecialRequestOut(msgspec.Struct):
    id: int
    conference: int
    conference_name: str
    street: int
    street_name: str
    title: str  # the name the approved special meeting takes
    reason: str
    proposed_items: str  # a free-text note
    proposed_date: dt.date
    items: list[int]  # the street's accepted items put forward (agenda item ids)
    status: str  # requested | approved | declined
    decision_comment: str
    requested_by_name: str | None
    decided_by_name: str | None
    decided_at: dt.datetime | None
    meeting: int | None  # the draft special meeting created on approval
    version: int
    created_at: dt.datetime


class SpecialRequestPage(msgspec.Struct):
    items: list[SpecialRequestOut]
    total: int
    page: int
    per_page: int


class SpecialRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str | None = None
    reason: str | None = None
    proposed_items: str | None = None
    proposed_date: dt.date | None = None
    items: list[int] | None = None  # ids of the street's accepted items not yet on a meeting; at least one


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    comment: str | None = None  # required when declining


class NotificationOut(msgspec.Struct):
    id: int
    created_at: dt.datetime
    event: str  # e.g. meeting_notified, item_returned
    subject: str
    body: str
    status: str  # queued | sending | sent | dead


# ---------------------------------------------------------------- helpers

MEETING_SORTS = {"starts_at": "m.starts_at", "title": "m.title", "status": "m.status"}


def _conference_ref(value: int | None) -> int:
    """The conference a new meeting belongs to, as the other id fields are read (FormReader.ref)."""
    if value is None:
        raise ValidationFailed({"conference": _("请选择联席会议。")})
    if not 0 < value <= MAX_ID:
        raise ValidationFailed({"conference": _("所选联席会议不存在。")})
    return value


def _invitation_data(row: Mapping[str, Any], meeting_id: int, actor: Actor) -> dict[str, Any]:
    data = {**row, "meeting": meeting_id}
    # The reply token is stored only as a hash and sent only in the unit's notice: nobody reads it here.
    data.pop("token", None)
    data.pop("token_hash", None)
    return data


def _invitation(row: Mapping[str, Any], meeting_id: int, actor: Actor) -> InvitationOut:
    return convert(_invitation_data(row, meeting_id, actor), InvitationOut)


async def _detail(actor: Actor, meeting_id: int) -> MeetingDetail:
    """The meeting page as data: meeting_for decides who may see it (404 otherwise)."""
    await services.meeting_for(actor, meeting_id)
    context = await views.meeting_detail_for(actor, meeting_id)
    meeting = context["meeting"]
    invitations = context["invitations"]
    start, end = local(meeting["starts_at"]), local(meeting["ends_at"])
    return convert({
        **meeting, "date": start.date(), "start_time": f"{start:%H:%M}", "end_time": f"{end:%H:%M}",
        "agenda": [{**i, "age_days": age_days(i["submitted_at"])} for i in context["items"]],
        "decided": context["history"],
        "invitations": [_invitation_data(i, meeting_id, actor) for i in invitations],
        "counts": context["counts"] if actor.role in REPLY_READERS else None,
    }, MeetingDetail)


def _stored_form(meeting: Mapping[str, Any]) -> dict[str, Any]:
    """A stored meeting as the fields of the meeting form (for merging a PATCH)."""
    start, end = local(meeting["starts_at"]), local(meeting["ends_at"])
    return {"kind": meeting["kind"], "title": meeting["title"], "date": start.date(), "start_time": f"{start:%H:%M}",
            "end_time": f"{end:%H:%M}", "location": meeting["location"], "presiding": meeting["presiding"],
            "notes": meeting["notes"], "requirements": meeting["requirements"], "reply_deadline": meeting["reply_deadline"]}


def _as_form(fields: dict[str, Any]) -> dict[str, Any]:
    """The API's reply_deadline (a date-time; without an offset it is Beijing time) as the meeting
    form's reply_date and reply_time, which the service reads."""
    deadline = fields.pop("reply_deadline", None)
    if isinstance(deadline, dt.datetime) and deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=get_settings().tz)
    return {**fields, **services.reply_deadline_fields(deadline)}


@asynccontextmanager
async def _deadline_errors() -> AsyncIterator[None]:
    """The service reports the reply deadline as the form's two fields; the API has one."""
    try:
        yield
    except ValidationFailed as exc:
        errors = dict(exc.errors)
        for name in ("reply_date", "reply_time"):
            if name in errors:
                errors.setdefault("reply_deadline", errors.pop(name))
                errors.pop(name, None)
        raise ValidationFailed(errors) from None


async def _invitation_row(invitation_id: int) -> dict[str, Any]:
    row = await Invitation.select(*Invitation.all_columns(), Invitation.unit.name.as_alias("unit_name")).where(
        Invitation.id == invitation_id).first()
    if row is None:
        raise NotFound(INVITATION_NOT_FOUND)
    return row


async def _visible_invitation(actor: Actor, invitation_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A unit: its own invitation to a meeting it has been told of. The others: by the meeting's scope."""
    if not 0 < invitation_id <= MAX_ID:
        raise NotFound(INVITATION_NOT_FOUND)
    row = await _invitation_row(invitation_id)
    if actor.role == "unit":
        if actor.unit_id is None or row["unit"] != actor.unit_id:
            raise NotFound(INVITATION_NOT_FOUND)
        meeting = await get_or_404(Meeting, row["meeting"], INVITATION_NOT_FOUND)
        if meeting["status"] == "draft":  # not sent yet: the office may still change it
            raise NotFound(INVITATION_NOT_FOUND)
        return row, meeting
    try:
        meeting = await services.meeting_for(actor, row["meeting"])
    except NotFound:
        raise NotFound(INVITATION_NOT_FOUND) from None
    return row, meeting


# ---------------------------------------------------------------- meetings


@get("/api/meetings", opt={"roles": MEETING_READERS}, tags=["会议"], summary=_("会议列表"), responses=READ_ERRORS)
async def list_meetings(
    request: Request[Any, Any, Any],
    conference: OptionalId = None,
    kind: FromQuery[Literal["plenary", "special"] | None] = None,
    status: FromQuery[Literal["draft", "notified", "held", "minutes_in_review", "minutes_published", "cancelled"] | None] = None,
    start: Annotated[dt.date | None, Parameter(description=_("会议日期不早于（含）"))] = None,
    end: Annotated[dt.date | None, Parameter(description=_("会议日期不晚于（含）"))] = None,
    q: Q = None,
    page: PageNo = 1,
    per_page: PerPage = PER_PAGE,
    sort: FromQuery[Literal["starts_at", "title", "status"]] = "starts_at",
    desc: Annotated[bool | None, Parameter(description=_("是否倒序；默认按会议时间倒序（最新的在前），其余字段正序"))] = None,
) -> MeetingPage:
    """本账号可见的会议：办公室、召集人按联席会议，街道为本街道联席会议的会议及本街道议题所上的会议，成员单位为受邀的会议。
    每条附受邀、已回复、出席单位数和议题数；q 搜索会议名称或地点。"""
    actor = actor_of(request)
    flt = views.MeetingFilter(conference_id=conference, kind=kind or "", status=status or "", start=start, end=end,
                              q=(q or "").replace("\x00", "").strip()[:50])
    descending = (sort == "starts_at") if desc is None else desc
    order = f"{MEETING_SORTS[sort]} {'DESC' if descending else 'ASC'}"
    rows, total = await views.meeting_rows(actor, flt, order=order, limit=per_page, offset=(page - 1) * per_page)
    last = max(1, math.ceil(total / per_page))
    if page > last:  # beyond the last page: the last page, as the registry lists answer
        page = last
        rows, total = await views.meeting_rows(actor, flt, order=order, limit=per_page, offset=(page - 1) * per_page)
    return MeetingPage(items=[convert(r, MeetingRow) for r in rows], total=total, page=page, per_page=per_page)


@get("/api/meetings/plenaries", opt={"roles": OVERVIEW_READERS}, tags=["会议"], summary=_("半年全体会议情况"),
     responses=READ_ERRORS)
async def plenary_overview(request: Request[Any, Any, Any]) -> list[PlenaryOut]:
    """每个可见联席会议：上次召开的全体会议、下次计划的全体会议，以及本半年是否已召开（done 已召开、planned 已安排、
    due 待安排、overdue 逾期或上半年未召开）。"""
    rows = await views.plenary_overview(actor_of(request), today())
    return [convert(r, PlenaryOut) for r in rows]


@get("/api/meetings/{meeting_id:int}", opt={"roles": MEETING_READERS}, tags=["会议"], summary=_("会议详情"),
     responses=READ_ERRORS)
async def get_meeting(request: Request[Any, Any, Any], meeting_id: RecordId) -> MeetingDetail:
    """含议程（议题及其已等待天数、已等待会议次数）。受邀单位的回执和签到只向办公室、管理员和召集人显示；
    成员单位只看到本单位的邀请；回执链接令牌只在发给单位的通知中出现，系统只保存其散列值，任何接口都不返回。"""
    return await _detail(actor_of(request), meeting_id)


@post("/api/meetings", opt={"roles": OFFICE}, tags=["会议"], summary=_("新建会议"), responses=WRITE_ERRORS)
async def create_meeting(request: Request[Any, Any, Any], data: JSONBody[MeetingIn]) -> MeetingDetail:
    """新建会议草稿，按会议当日的成员名单生成受邀单位；不填 presiding 时为现任召集人。
    kind 取 plenary（全体会议）或 special（专题会议）；date 如 2026-11-29，start_time、end_time 如 09:00（北京时间）。"""
    actor = actor_of(request)
    fields = _as_form(sent_fields(data))
    conference_id = _conference_ref(fields.pop("conference", None))
    try:
        async with _deadline_errors():
            meeting_id = await services.create_meeting(actor, conference_id, fields)
    except NotFound:  # a conference out of scope is reported as missing, never used
        raise ValidationFailed({"conference": _("所选联席会议不存在。")}) from None
    return await _detail(actor, meeting_id)


@patch("/api/meetings/{meeting_id:int}", opt={"roles": OFFICE}, tags=["会议"], summary=_("修改会议"),
       responses=WRITE_ERRORS)
async def update_meeting(request: Request[Any, Any, Any], meeting_id: RecordId, data: JSONBody[MeetingPatch]) -> MeetingDetail:
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。草稿和已通知的会议可以修改；已通知的会议修改时间、地点或
    名称后 sequence 加 1，并在同一次保存中向全部受邀单位发送变更通知。"""
    actor = actor_of(request)
    stored = await services.managed_meeting(actor, meeting_id)
    async with _deadline_errors():
        await lifecycle.update_meeting(actor, meeting_id, _as_form(merged(_stored_form(stored), data)))
    return await _detail(actor, meeting_id)


@post("/api/meetings/{meeting_id:int}/notify", opt={"roles": OFFICE}, tags=["会议"], summary=_("发送会议通知"),
      status_code=200, responses=WRITE_ERRORS)
async def notify_meeting(request: Request[Any, Any, Any], meeting_id: RecordId) -> NotifyOut:
    """向尚未收到最新通知的受邀单位发送通知（会议变更后为变更通知）；草稿随之变为已通知。"""
    actor = actor_of(request)
    count = await lifecycle.notify_meeting(actor, meeting_id)
    return NotifyOut(notified=count, meeting=await _detail(actor, meeting_id))


@post("/api/meetings/{meeting_id:int}/hold", opt={"roles": OFFICE}, tags=["会议"], summary=_("标记会议已召开"),
      status_code=200, responses=WRITE_ERRORS)
async def hold_meeting(request: Request[Any, Any, Any], meeting_id: RecordId) -> MeetingDetail:
    """只有已通知且已开始（或一小时内开始）的会议可以标记为已召开。"""
    actor = actor_of(request)
    await lifecycle.hold_meeting(actor, meeting_id)
    return await _detail(actor, meeting_id)


@post("/api/meetings/{meeting_id:int}/cancel", opt={"roles": OFFICE}, tags=["会议"], summary=_("取消会议"),
      status_code=200, responses=WRITE_ERRORS)
async def cancel_meeting(request: Request[Any, Any, Any], meeting_id: RecordId, data: JSONBody[CancelIn]) -> MeetingDetail:
    """草稿或已通知的会议可以取消；已通知的受邀单位会收到取消通知。"""
    actor = actor_of(request)
    await lifecycle.cancel_meeting(actor, meeting_id, sent_fields(data))
    return await _detail(actor, meeting_id)


# ---------------------------------------------------------------- invitations


@post("/api/meetings/{meeting_id:int}/invitations", opt={"roles": OFFICE}, tags=["参会邀请"], summary=_("添加受邀单位"),
      responses=WRITE_ERRORS)
async def add_invitation(request: Request[Any, Any, Any], meeting_id: RecordId, data: JSONBody[InvitationIn]) -> InvitationOut:
    """role 取 member（成员单位）或 observer（列席单位）。会议召开或取消后不能再调整受邀单位。"""
    actor = actor_of(request)
    invitation_id = await meeting_invitations.add_invitation(actor, meeting_id, sent_fields(data))
    return _invitation(await _invitation_row(invitation_id), meeting_id, actor)


@get("/api/invitations/{invitation_id:int}", opt={"roles": INVITATION_READERS}, tags=["参会邀请"],
     summary=_("参会邀请详情"), responses=READ_ERRORS)
async def get_invitation(request: Request[Any, Any, Any], invitation_id: RecordId) -> InvitationOut:
    """成员单位只能查看本单位已收到通知的邀请；其他单位的邀请返回 404。"""
    actor = actor_of(request)
    row, meeting = await _visible_invitation(actor, invitation_id)
    return _invitation(row, meeting["id"], actor)


@delete("/api/invitations/{invitation_id:int}", opt={"roles": OFFICE}, tags=["参会邀请"], summary=_("移除受邀单位"),
        responses=WRITE_ERRORS)
async def remove_invitation(request: Request[Any, Any, Any], invitation_id: RecordId) -> None:
    """已收到通知的单位会收到“无需参会”的通知。会议召开或取消后不能再调整受邀单位。"""
    await meeting_invitations.remove_invitation(actor_of(request), invitation_id)


@post("/api/invitations/{invitation_id:int}/attendance", opt={"roles": OFFICE}, tags=["参会邀请"],
      summary=_("记录签到"), status_code=200, responses=WRITE_ERRORS)
async def record_attendance(request: Request[Any, Any, Any], invitation_id: RecordId, data: JSONBody[AttendanceIn]) -> InvitationOut:
    """attendance 取 present（出席）、leave（请假）或 absent（缺席）；会议须已通知或已召开。"""
    actor = actor_of(request)
    meeting_id = await meeting_invitations.record_attendance(actor, invitation_id, sent_fields(data))
    return _invitation(await _invitation_row(invitation_id), meeting_id, actor)


@post("/api/invitations/{invitation_id:int}/revoke", opt={"roles": OFFICE}, tags=["参会邀请"],
      summary=_("作废回执链接"), status_code=200, responses=WRITE_ERRORS)
async def revoke_invitation_link(request: Request[Any, Any, Any], invitation_id: RecordId) -> InvitationOut:
    """原链接立即失效并生成新令牌；再次发送通知（notify）时该单位收到新链接。"""
    actor = actor_of(request)
    meeting_id = await meeting_invitations.revoke_token(actor, invitation_id)
    return _invitation(await _invitation_row(invitation_id), meeting_id, actor)


@post("/api/invitations/{invitation_id:int}/reply", opt={"roles": ("unit",)}, tags=["参会邀请"],
      summary=_("回复参会情况"), status_code=200, responses=WRITE_ERRORS)
async def reply_invitation(request: Request[Any, Any, Any], invitation_id: RecordId, data: JSONBody[ReplyIn]) -> InvitationOut:
    """成员单位回复本单位的邀请：reply 取 attending（参会，填参会人姓名和职务）、delegated（委托参会，填受委托人）或
    leave（请假，填请假事由）。会议召开或取消后不能再回复；其他单位的邀请返回 404。"""
    actor = actor_of(request)
    invitation, meeting = await _visible_invitation(actor, invitation_id)
    await meeting_invitations.reply(actor, invitation, meeting, sent_fields(data))
    return _invitation(await _invitation_row(invitation_id), meeting["id"], actor)


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


@get("/api/special-requests", opt={"roles": REQUEST_READERS}, tags=["专题会议提请"], summary=_("专题会议提请列表"),
     responses=READ_ERRORS)
async def list_special_requests(request: Request[Any, Any, Any], q: Q = None,
                                status: FromQuery[Literal["requested", "approved", "declined"] | None] = None,
                                page: PageNo = 1, per_page: PerPage = PER_PAGE,
                                sort: FromQuery[Literal["created", "proposed_date"]] = "created",
                                desc: Annotated[bool, Parameter(description=_("是否倒序（默认最新的在前）"))] = True,
                                ) -> SpecialRequestPage:
    """街道只看到本街道的提请，办公室和召集人看到其联席会议的提请；q 搜索会议名称、提请事由和补充说明。"""
    actor = actor_of(request)
    where = await views.special_request_scope(actor)  # visibility.visible_special_requests
    if status is not None:
        where = (SMR.status == status) if where is None else (where & (SMR.status == status))
    query = {"q": q or "", "page": str(page), "per_page": str(per_page), "sort": sort, "desc": "1" if desc else ""}
    result = await paginate(SMR, REQUEST_COLUMNS, query, search=[SMR.title, SMR.reason, SMR.proposed_items],
                            sorts={"created": SMR.id, "proposed_date": SMR.proposed_date}, default_sort="created",
                            where=where)
    return SpecialRequestPage(items=await _request_rows(result.rows), total=result.total,
                              page=result.page, per_page=result.per_page)


@get("/api/special-requests/{request_id:int}", opt={"roles": REQUEST_READERS}, tags=["专题会议提请"],
     summary=_("专题会议提请详情"), responses=READ_ERRORS)
async def get_special_request(request: Request[Any, Any, Any], request_id: RecordId) -> SpecialRequestOut:
    return await _special_request(actor_of(request), request_id)


@post("/api/special-requests", opt={"roles": ("street",)}, tags=["专题会议提请"], summary=_("提请召开专题会议"),
      responses=WRITE_ERRORS)
async def create_special_request(request: Request[Any, Any, Any], data: JSONBody[SpecialRequestIn]) -> SpecialRequestOut:
    """街道向本街道联席会议的召集人提请：title 为同意后专题会议的名称；items 为本街道已受理、尚未列入会议的议题（至少一项），
    同意后列入专题会议议程，并邀请议题提请协调的单位；proposed_date 不能早于今天。"""
    actor = actor_of(request)
    fields = sent_fields(data)
    items = fields.pop("items", None) or []
    request_id = await special_requests.request_special_meeting(actor, fields, [str(i) for i in items])
    return await _special_request(actor, request_id)


@post("/api/special-requests/{request_id:int}/approve", opt={"roles": REQUEST_DECIDERS}, tags=["专题会议提请"],
      summary=_("同意召开专题会议"), status_code=200, responses=WRITE_ERRORS)
async def approve_special_request(request: Request[Any, Any, Any], request_id: RecordId,
                                  data: JSONBody[DecisionIn]) -> SpecialRequestOut:
    """生成专题会议草稿（meeting 为其编号），由办公室完善时间地点后发送通知；已审批的提请返回 409。"""
    actor = actor_of(request)
    await special_requests.decide_special_request(actor, request_id, True, sent_fields(data))
    return await _special_request(actor, request_id)


@post("/api/special-requests/{request_id:int}/decline", opt={"roles": REQUEST_DECIDERS}, tags=["专题会议提请"],
      summary=_("不同意召开专题会议"), status_code=200, responses=WRITE_ERRORS)
async def decline_special_request(request: Request[Any, Any, Any], request_id: RecordId,
                                  data: JSONBody[DecisionIn]) -> SpecialRequestOut:
    """须填写审批意见（comment）；已审批的提请返回 409。"""
    actor = actor_of(request)
    await special_requests.decide_special_request(actor, request_id, False, sent_fields(data))
    return await _special_request(actor, request_id)


# ---------------------------------------------------------------- notifications


@get("/api/notifications", opt={"roles": NOTIFICATION_READERS}, tags=["通知"], summary=_("本单位（街道）的通知"),
     responses=error_responses(401, 403))
async def my_notifications(request: Request[Any, Any, Any]) -> list[NotificationOut]:
    """成员单位或街道收到的最近 50 条通知，最新的在前；通知中的回执链接已隐去。"""
    actor = actor_of(request)
    if actor.role == "unit":
        rows = await recent_for(unit_id=actor.unit_id, limit=NOTIFICATION_LIMIT) if actor.unit_id else []
    else:
        rows = await recent_for(street_id=actor.street_id, limit=NOTIFICATION_LIMIT) if actor.street_id else []
    return [convert({**r, "body": mask_links(r["body"] or "")}, NotificationOut) for r in rows]


ROUTES: list[Any] = [
    Router(path="/", route_handlers=[
        list_meetings, plenary_overview, get_meeting, create_meeting, update_meeting, notify_meeting, hold_meeting,
        cancel_meeting, add_invitation, get_invitation, remove_invitation, record_attendance, revoke_invitation_link,
        reply_invitation, my_notifications,
    ], exception_handlers={ValidationException: relabelled(MEETING_LABELS)}),
    Router(path="/", route_handlers=[
        list_special_requests, get_special_request, create_special_request, approve_special_request,
        decline_special_request,
    ], exception_handlers={ValidationException: relabelled(REQUEST_LABELS)}),
]
