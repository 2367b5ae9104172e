"""Invitations over the JSON API (part of conference.meetings.api, same rules): the office adds and
removes invited units, records sign-in and revokes a reply link; a unit reads and answers its own
invitation; a unit or street reads its own notifications (reply links masked)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import delete, get, post

from conference.accounts.actor import Actor, CurrentActor
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.meetings import invitations as meeting_invitations
from conference.meetings import services
from conference.meetings.api_types import (
    INVITATION_NOT_FOUND,
    NOTIFICATION_LIMIT,
    AttendanceIn,
    InvitationIn,
    InvitationOut,
    NotificationOut,
    ReplyIn,
    invitation_out,
)
from conference.meetings.forms import ATTENDANCE_FORM, INVITATION_FORM, REPLY_FORM
from conference.meetings.tables import Invitation, Meeting
from conference.notifications.services import mask_links, recent_for
from conference.records import get_or_404
from conference.roles import INVITATION_READERS, NOTIFICATION_READERS, OFFICE_ROLES, Role
from conference.web.apikit import (
    MAX_ID,
    READ_ERRORS,
    WRITE_ERRORS,
    RecordId,
    answers,
    body,
    convert,
    error_responses,
)

# ---------------------------------------------------------------- helpers


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
    if actor.role == Role.UNIT:
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




# ---------------------------------------------------------------- invitations


@post("/{meeting_id:int}/invitations", opt={"roles": OFFICE_ROLES}, tags=["参会邀请"], summary=_("添加受邀单位"),
      responses=answers(InvitationOut, WRITE_ERRORS, status=201))
async def add_invitation(actor: CurrentActor, meeting_id: RecordId,
                         data: Annotated[InvitationIn, body(InvitationIn)]) -> InvitationOut:  # type: ignore[valid-type]
    """role 取 member（成员单位）或 observer（列席单位）。会议召开或取消后不能再调整受邀单位。"""
    invitation_id = await meeting_invitations.add_invitation(actor, meeting_id, INVITATION_FORM.json_fields(data))
    return invitation_out(await _invitation_row(invitation_id), meeting_id, actor)


@get("/{invitation_id:int}", opt={"roles": INVITATION_READERS}, tags=["参会邀请"],
     summary=_("参会邀请详情"), responses=answers(InvitationOut, READ_ERRORS))
async def get_invitation(actor: CurrentActor, invitation_id: RecordId) -> InvitationOut:
    """成员单位只能查看本单位已收到通知的邀请；其他单位的邀请返回 404。"""
    row, meeting = await _visible_invitation(actor, invitation_id)
    return invitation_out(row, meeting["id"], actor)


@delete("/{invitation_id:int}", opt={"roles": OFFICE_ROLES}, tags=["参会邀请"], summary=_("移除受邀单位"),
        responses=WRITE_ERRORS)
async def remove_invitation(actor: CurrentActor, invitation_id: RecordId) -> None:
    """已收到通知的单位会收到“无需参会”的通知。会议召开或取消后不能再调整受邀单位。"""
    await meeting_invitations.remove_invitation(actor, invitation_id)


@post("/{invitation_id:int}/attendance", opt={"roles": OFFICE_ROLES}, tags=["参会邀请"],
      summary=_("记录签到"), status_code=200, responses=answers(InvitationOut, WRITE_ERRORS))
async def record_attendance(actor: CurrentActor, invitation_id: RecordId,
                            data: Annotated[AttendanceIn, body(AttendanceIn)]) -> InvitationOut:  # type: ignore[valid-type]
    """attendance 取 present（出席）、leave（请假）或 absent（缺席）；会议须已通知或已召开。"""
    meeting_id = await meeting_invitations.record_attendance(actor, invitation_id, ATTENDANCE_FORM.json_fields(data))
    return invitation_out(await _invitation_row(invitation_id), meeting_id, actor)


@post("/{invitation_id:int}/revoke", opt={"roles": OFFICE_ROLES}, tags=["参会邀请"],
      summary=_("作废回执链接"), status_code=200, responses=answers(InvitationOut, WRITE_ERRORS))
async def revoke_invitation_link(actor: CurrentActor, invitation_id: RecordId) -> InvitationOut:
    """原链接立即失效并生成新令牌；再次发送通知（notify）时该单位收到新链接。"""
    meeting_id = await meeting_invitations.revoke_token(actor, invitation_id)
    return invitation_out(await _invitation_row(invitation_id), meeting_id, actor)


@post("/{invitation_id:int}/reply", opt={"roles": (Role.UNIT,)}, tags=["参会邀请"],
      summary=_("回复参会情况"), status_code=200, responses=answers(InvitationOut, WRITE_ERRORS))
async def reply_invitation(actor: CurrentActor, invitation_id: RecordId,
                           data: Annotated[ReplyIn, body(ReplyIn)]) -> InvitationOut:  # type: ignore[valid-type]
    """成员单位回复本单位的邀请：reply 取 attending（参会，填参会人姓名和职务）、delegated（委托参会，填受委托人）或
    leave（请假，填请假事由）。会议召开或取消后不能再回复；其他单位的邀请返回 404。"""
    fields = REPLY_FORM.json_fields(data)  # wrong JSON types answer before anything is read
    invitation, meeting = await _visible_invitation(actor, invitation_id)
    await meeting_invitations.reply(actor, invitation, meeting, fields)
    return invitation_out(await _invitation_row(invitation_id), meeting["id"], actor)


# ---------------------------------------------------------------- notifications


@get("/", opt={"roles": NOTIFICATION_READERS}, tags=["通知"], summary=_("本单位（街道）的通知"),
     responses=answers(list[NotificationOut], error_responses(401, 403)))
async def my_notifications(actor: CurrentActor) -> list[NotificationOut]:
    """成员单位或街道收到的最近 50 条通知，最新的在前；通知中的回执链接已隐去。"""
    if actor.role == Role.UNIT:
        rows = await recent_for(unit_id=actor.unit_id, limit=NOTIFICATION_LIMIT) if actor.unit_id else []
    else:
        rows = await recent_for(street_id=actor.street_id, limit=NOTIFICATION_LIMIT) if actor.street_id else []
    return [convert({**r, "body": mask_links(r["body"] or "")}, NotificationOut) for r in rows]


# conference.meetings.api mounts these under their prefixes: /api/meetings, /api/invitations, /api/notifications.
MEETING_INVITATION_ROUTES: list[Any] = [add_invitation]
INVITATION_ROUTES: list[Any] = [get_invitation, remove_invitation, record_attendance, revoke_invitation_link, reply_invitation]
NOTIFICATION_ROUTES: list[Any] = [my_notifications]
