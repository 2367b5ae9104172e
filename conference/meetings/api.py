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
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from litestar import Router, get, patch, post
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, Parameter
from litestar.types import ExceptionHandlersMap

from conference.accounts.actor import Actor, CurrentActor
from conference.agenda.views import age_days
from conference.errors import NotFound, ValidationFailed
from conference.i18n import gettext as _
from conference.meetings import lifecycle, services, views
from conference.meetings.api_types import (
    MEETING_LABELS,
    REQUEST_LABELS,
    CancelIn,
    MeetingDetail,
    MeetingIn,
    MeetingPatch,
    MeetingRow,
    NotifyOut,
    PlenaryOut,
    invitation_data,
)
from conference.meetings.forms import CANCEL_FORM
from conference.meetings.invitations_api import INVITATION_ROUTES, MEETING_INVITATION_ROUTES, NOTIFICATION_ROUTES
from conference.meetings.special_api import SPECIAL_ROUTES
from conference.roles import OFFICE_ROLES, PEOPLE, SUPERVISORS
from conference.settings import get_settings
from conference.timefmt import local, today
from conference.web.apikit import (
    MAX_ID,
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
    page_fields,
    relabelled,
)
from conference.web.listing import PER_PAGE, clamped, requested

# ---------------------------------------------------------------- helpers

MEETING_SORTS = {"starts_at": "m.starts_at", "title": "m.title", "status": "m.status"}


def _conference_ref(value: int | None) -> int:
    """The conference a new meeting belongs to, as the other id fields are read (FormReader.ref)."""
    if value is None:
        raise ValidationFailed({"conference": _("请选择联席会议。")})
    if not 0 < value <= MAX_ID:
        raise ValidationFailed({"conference": _("所选联席会议不存在。")})
    return value


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
        "invitations": [invitation_data(i, meeting_id, actor) for i in invitations],
        "counts": context["counts"] if actor.role in SUPERVISORS else None,
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


# ---------------------------------------------------------------- meetings


@get("/", opt={"roles": PEOPLE}, tags=["会议"], summary=_("会议列表"), responses=answers(Page[MeetingRow], READ_ERRORS))
async def list_meetings(
    actor: CurrentActor,
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
) -> Page[MeetingRow]:
    """本账号可见的会议：办公室、召集人按联席会议，街道为本街道联席会议的会议及本街道议题所上的会议，成员单位为受邀的会议。
    每条附受邀、已回复、出席单位数和议题数；q 搜索会议名称或地点。"""
    flt = views.MeetingFilter(conference_id=conference, kind=kind or "", status=status or "", start=start, end=end,
                              q=(q or "").replace("\x00", "").strip()[:50])
    descending = (sort == "starts_at") if desc is None else desc
    order = f"{MEETING_SORTS[sort]} {'DESC' if descending else 'ASC'}"
    asked = requested(page, per_page)
    rows, total = await views.meeting_rows(actor, flt, order=order, limit=asked.limit, offset=asked.offset)
    at = clamped(asked, total)
    if at.page != asked.page:  # beyond the last page: the last page, as the registry lists answer
        rows, total = await views.meeting_rows(actor, flt, order=order, limit=at.limit, offset=at.offset)
        at = clamped(at, total)
    return Page(items=[convert(r, MeetingRow) for r in rows], **page_fields(at))


@get("/plenaries", opt={"roles": SUPERVISORS}, tags=["会议"], summary=_("半年全体会议情况"),
     responses=answers(list[PlenaryOut], READ_ERRORS))
async def plenary_overview(actor: CurrentActor) -> list[PlenaryOut]:
    """每个可见联席会议：上次召开的全体会议、下次计划的全体会议，以及本半年是否已召开（done 已召开、planned 已安排、
    due 待安排、overdue 逾期或上半年未召开）。"""
    rows = await views.plenary_overview(actor, today())
    return [convert(r, PlenaryOut) for r in rows]


@get("/{meeting_id:int}", opt={"roles": PEOPLE}, tags=["会议"], summary=_("会议详情"),
     responses=answers(MeetingDetail, READ_ERRORS))
async def get_meeting(actor: CurrentActor, meeting_id: RecordId) -> MeetingDetail:
    """含议程（议题及其已等待天数、已等待会议次数）。受邀单位的回执和签到只向办公室、管理员和召集人显示；
    成员单位只看到本单位的邀请；回执链接令牌只在发给单位的通知中出现，系统只保存其散列值，任何接口都不返回。"""
    return await _detail(actor, meeting_id)


@post("/", opt={"roles": OFFICE_ROLES}, tags=["会议"], summary=_("新建会议"), responses=answers(MeetingDetail, WRITE_ERRORS, status=201))
async def create_meeting(actor: CurrentActor, data: Annotated[MeetingIn, body(MeetingIn)]) -> MeetingDetail:  # type: ignore[valid-type]
    """新建会议草稿，按会议当日的成员名单生成受邀单位；不填 presiding 时为现任召集人。
    kind 取 plenary（全体会议）或 special（专题会议）；date 如 2026-11-29，start_time、end_time 如 09:00（北京时间）。"""
    fields = _as_form(services.MEETING_FORM.json_fields(data))
    conference_id = _conference_ref(fields.pop("conference", None))
    try:
        async with _deadline_errors():
            meeting_id = await services.create_meeting(actor, conference_id, fields)
    except NotFound:  # a conference out of scope is reported as missing, never used
        raise ValidationFailed({"conference": _("所选联席会议不存在。")}) from None
    return await _detail(actor, meeting_id)


@patch("/{meeting_id:int}", opt={"roles": OFFICE_ROLES}, tags=["会议"], summary=_("修改会议"),
       responses=answers(MeetingDetail, WRITE_ERRORS))
async def update_meeting(actor: CurrentActor, meeting_id: RecordId,
                         data: Annotated[MeetingPatch, body(MeetingPatch)]) -> MeetingDetail:  # type: ignore[valid-type]
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。草稿和已通知的会议可以修改；已通知的会议修改时间、地点或
    名称后 sequence 加 1，并在同一次保存中向全部受邀单位发送变更通知。"""
    sent = services.MEETING_FORM.json_fields(data)
    stored = await services.managed_meeting(actor, meeting_id)
    async with _deadline_errors():
        await lifecycle.update_meeting(actor, meeting_id, _as_form({**_stored_form(stored), **sent}))
    return await _detail(actor, meeting_id)


@post("/{meeting_id:int}/notify", opt={"roles": OFFICE_ROLES}, tags=["会议"], summary=_("发送会议通知"),
      status_code=200, responses=answers(NotifyOut, WRITE_ERRORS))
async def notify_meeting(actor: CurrentActor, meeting_id: RecordId) -> NotifyOut:
    """向尚未收到最新通知的受邀单位发送通知（会议变更后为变更通知）；草稿随之变为已通知。"""
    count = await lifecycle.notify_meeting(actor, meeting_id)
    return NotifyOut(notified=count, meeting=await _detail(actor, meeting_id))


@post("/{meeting_id:int}/hold", opt={"roles": OFFICE_ROLES}, tags=["会议"], summary=_("标记会议已召开"),
      status_code=200, responses=answers(MeetingDetail, WRITE_ERRORS))
async def hold_meeting(actor: CurrentActor, meeting_id: RecordId) -> MeetingDetail:
    """只有已通知且已开始（或一小时内开始）的会议可以标记为已召开。"""
    await lifecycle.hold_meeting(actor, meeting_id)
    return await _detail(actor, meeting_id)


@post("/{meeting_id:int}/cancel", opt={"roles": OFFICE_ROLES}, tags=["会议"], summary=_("取消会议"),
      status_code=200, responses=answers(MeetingDetail, WRITE_ERRORS))
async def cancel_meeting(actor: CurrentActor, meeting_id: RecordId,
                         data: Annotated[CancelIn, body(CancelIn)]) -> MeetingDetail:  # type: ignore[valid-type]
    """草稿或已通知的会议可以取消；已通知的受邀单位会收到取消通知。"""
    await lifecycle.cancel_meeting(actor, meeting_id, CANCEL_FORM.json_fields(data))
    return await _detail(actor, meeting_id)


MEETING_ERRORS: ExceptionHandlersMap = {ValidationException: relabelled(MEETING_LABELS)}

ROUTES: list[Any] = [
    Router(path="/api/meetings", route_handlers=[
        list_meetings, plenary_overview, get_meeting, create_meeting, update_meeting, notify_meeting, hold_meeting,
        cancel_meeting, *MEETING_INVITATION_ROUTES,
    ], exception_handlers=MEETING_ERRORS),
    Router(path="/api/invitations", route_handlers=INVITATION_ROUTES, exception_handlers=MEETING_ERRORS),
    Router(path="/api/notifications", route_handlers=NOTIFICATION_ROUTES, exception_handlers=MEETING_ERRORS),
    Router(path="/api/special-requests", route_handlers=SPECIAL_ROUTES,
           exception_handlers={ValidationException: relabelled(REQUEST_LABELS)}),
]
