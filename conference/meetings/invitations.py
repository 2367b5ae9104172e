"""Who is invited to a meeting and what they answer: adding and removing invitees (a removed unit
gets a CANCEL for its calendar), revoking a personal link, the invitation behind a link, the unit's
reply (from the form or its calendar program) and the sign-in on the day."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.services import digest
from conference.audit.services import record
from conference.calendar.data import meeting_context, render_invitation
from conference.errors import Conflict, NotFound, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.meetings.forms import ATTENDANCE_FORM, INVITATION_FORM, REPLY_FORM
from conference.meetings.services import (
    EDITABLE,
    active_member_ids,
    invite,
    managed_meeting,
    meeting_text,
    unsent_token_hash,
    wrong_state,
)
from conference.meetings.tables import Invitation, Meeting
from conference.notifications.services import queue
from conference.records import get_or_404, update_audited
from conference.registry.tables import MemberUnit
from conference.settings import get_settings
from conference.timefmt import cn_date, local, now


async def add_invitation(actor: Actor, meeting_id: int, data: Mapping[str, Any]) -> int:
    unit_id, role = INVITATION_FORM.read(data).values()
    async with db.atomic(Meeting, meeting_id):
        meeting = await managed_meeting(actor, meeting_id)
        if meeting["status"] not in EDITABLE:
            raise wrong_state(meeting["status"], _("调整受邀单位"))
        if not await MemberUnit.exists().where((MemberUnit.id == unit_id) & MemberUnit.ended_on.is_null()):
            raise ValidationFailed({"unit": _("所选单位不存在或已撤销。")})
        if await Invitation.exists().where((Invitation.meeting == meeting_id) & (Invitation.unit == unit_id)):
            raise ValidationFailed({"unit": _("该单位已在受邀名单中。")})
        assert unit_id is not None
        if role == "member" and unit_id not in await active_member_ids(meeting["conference"], local(meeting["starts_at"]).date()):
            # 列席 (observer) may be any unit; 成员单位 only the conference's members on the meeting's day
            raise ValidationFailed({"unit": _("该单位不是本联席会议的成员单位，请以列席单位邀请。")})
        invitation_id = await invite(meeting_id, unit_id, role)
        await record(actor, "invite", "invitation", invitation_id, after={"unit": unit_id, "role": role},
                     conference_id=meeting["conference"])
        return invitation_id


async def invitation_for_manager(actor: Actor, invitation_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    inv = await get_or_404(Invitation, invitation_id)
    meeting = await managed_meeting(actor, inv["meeting"])
    return inv, meeting


async def remove_invitation(actor: Actor, invitation_id: int) -> int:
    async with db.atomic(Invitation, invitation_id):
        inv, meeting = await invitation_for_manager(actor, invitation_id)
        if meeting["status"] not in EDITABLE:
            raise wrong_state(meeting["status"], _("调整受邀单位"))
        # RFC 5546: an attendee taken off the list gets a CANCEL for its own copy, so the event
        # leaves its calendar (built before the invitation row goes).
        calendar = await meeting_context(meeting_id=int(meeting["id"]))
        cancel_ics = render_invitation(calendar, inv["unit"], uninvited=True) if calendar else None
        await Invitation.delete().where(Invitation.id == invitation_id)
        await record(actor, "uninvite", "invitation", invitation_id, before={"unit": inv["unit"], "role": inv["role"]},
                     conference_id=meeting["conference"])
        if inv["notified_sequence"] is not None:
            await queue("meeting_uninvited", conference_id=meeting["conference"], subject=_("【参会调整】{title}").format(title=meeting["title"]),
                        body=meeting_text(meeting) + "\n" + _("贵单位无需再参加此次会议。"), unit_id=inv["unit"],
                        entity="meeting", entity_id=meeting["id"], ics=cancel_ics)
        return int(meeting["id"])


async def revoke_token(actor: Actor, invitation_id: int) -> int:
    """Kills the personal link (e.g. forwarded by mistake) and issues a new one for the next notice."""
    async with db.atomic(Invitation, invitation_id):
        _inv, meeting = await invitation_for_manager(actor, invitation_id)
        await Invitation.update({Invitation.token_hash: unsent_token_hash(), Invitation.notified_sequence: None}).where(
            Invitation.id == invitation_id)
        await record(actor, "revoke_token", "invitation", invitation_id, conference_id=meeting["conference"])
        return int(meeting["id"])


async def invitation_by_token(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The invitation behind a personal link; the link answers nothing once revoked or cancelled."""
    if not token or len(token) > 64:
        raise NotFound(_("链接无效或已失效。"))
    inv = await Invitation.select().where((Invitation.token_hash == digest(token)) & (Invitation.token_revoked == False)).first()  # noqa: E712
    if inv is None:
        raise NotFound(_("链接无效或已失效。"))
    meeting = await get_or_404(Meeting, inv["meeting"])
    if meeting["status"] == "draft" or inv["notified_sequence"] is None:  # never sent: the office may still change it
        raise NotFound(_("链接无效或已失效。"))
    if meeting["status"] == "cancelled":
        raise NotFound(_("会议已取消，此链接已失效。"))
    return inv, meeting


async def reply(actor: Actor | None, invitation: Mapping[str, Any], meeting: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    """The unit's answer: who attends (name, title), leave with a reason, or a delegate."""
    if meeting["status"] not in ("draft", "notified"):
        raise wrong_state(meeting["status"], _("回复参会情况"))
    form = FormReader(data)
    answer = REPLY_FORM["reply"].read(form)
    values: dict[str, Any] = {"reply": answer, "attendee_name": "", "attendee_title": "", "leave_reason": ""}
    # Who attends is required with 参会 or 委托参会, the reason with 请假 (the form's fields, made required).
    needed = ("attendee_name", "attendee_title") if answer in ("attending", "delegated") else (
        ("leave_reason",) if answer == "leave" else ())
    for name in needed:
        values[name] = replace(REPLY_FORM[name], required=True).read(form)
    form.done()
    await save_reply(actor, invitation["id"], meeting, values, via=_("回执链接"))


async def save_reply(actor: Actor | None, invitation_id: int, meeting: Mapping[str, Any], values: Mapping[str, Any], *,
                     via: str) -> None:
    """Records a unit's answer, from the reply form or from its calendar program's METHOD:REPLY
    (conference.mail.inbox): the same state rule and the same audit action. `via` names the channel
    in the audit trail when there is no signed-in actor."""
    if meeting["status"] not in EDITABLE:
        raise wrong_state(meeting["status"], _("回复参会情况"))
    async with db.atomic(Invitation, invitation_id):
        current = await get_or_404(Invitation, invitation_id)
        unit = await MemberUnit.select(MemberUnit.name).where(MemberUnit.id == current["unit"]).first()
        await update_audited(actor, Invitation, "invitation", current, {**values, "replied_at": now()},
                             expected_version=None, action="reply", conference_id=meeting["conference"],
                             actor_name=None if actor else _("{unit}（{via}）").format(unit=unit["name"] if unit else "", via=via))


async def record_attendance(actor: Actor, invitation_id: int, data: Mapping[str, Any]) -> int:
    form = FormReader(data)
    attendance = ATTENDANCE_FORM["attendance"].read(form)
    attendee = ATTENDANCE_FORM["attendee_name"].read(form) if "attendee_name" in data else None
    form.done()
    async with db.atomic(Invitation, invitation_id):
        inv, meeting = await invitation_for_manager(actor, invitation_id)
        if meeting["status"] not in ("notified", "held"):
            raise wrong_state(meeting["status"], _("签到"))
        meeting_day = meeting["starts_at"].astimezone(get_settings().tz).date()
        if now().astimezone(get_settings().tz).date() < meeting_day:
            raise Conflict(_("会议当天（{day}）起才能签到。").format(day=cn_date(meeting_day)))
        values: dict[str, Any] = {"attendance": attendance, "signed_in_at": now() if attendance == "present" else None}
        if attendee is not None:
            values["attendee_name"] = attendee
        await update_audited(actor, Invitation, "invitation", inv, values,
                             expected_version=None, action="sign_in", conference_id=meeting["conference"])
        return int(meeting["id"])
