"""A meeting after its draft is made: saving changes (a notified meeting's change sends the change
notice with the save), the notice (preview, recipients, sending with the personal reply links),
holding it, cancelling it (its agenda goes back to the office, conference.agenda.services
.release_items), and the 会议通知 as a PDF."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.agenda.scheduling import release_items
from conference.audit.services import record
from conference.calendar.data import meeting_context, render_invitation
from conference.errors import Conflict, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.meetings import notice
from conference.meetings.forms import CANCEL_FORM
from conference.meetings.services import (
    EDITABLE,
    MEETING_NOT_FOUND,
    NOTICE_FORM,
    NOTIFIED_FIELDS,
    RECONFIRM_FIELDS,
    ask_to_reconfirm,
    managed_meeting,
    meeting_text,
    meeting_values,
    new_reply_token,
    transition,
    wrong_state,
)
from conference.meetings.tables import Invitation, Meeting
from conference.notifications.services import queue
from conference.records import get_or_404, update_audited
from conference.settings import get_settings
from conference.timefmt import cn_datetime, local, now, today


def _notice_choice(form: FormReader) -> tuple[str, str]:
    """What to do about a change of a notified meeting: send the change notice with the save
    (the default, also when the field is absent, e.g. from the API) or not, with a reason."""
    notice = NOTICE_FORM["notice"].read(form) or "send"
    reason = replace(NOTICE_FORM["notice_reason"], required=notice == "skip").read(form)
    return notice, reason


async def update_meeting(actor: Actor, meeting_id: int, data: Mapping[str, Any]) -> int:
    """Saves the meeting. A change of title, time or place of a notified meeting raises its SEQUENCE
    and sends the change notice in the same transaction (under the meeting's row lock, so a save
    submitted twice sends one notice: the second carries a stale version and is refused); with
    "不通知" and a reason the change is saved without a new SEQUENCE and the reason is audited.
    Returns how many units were sent the change notice."""
    current = await managed_meeting(actor, meeting_id)
    if current["status"] not in EDITABLE:
        raise wrong_state(current["status"], _("修改"))
    form = FormReader(data)
    notice, reason = _notice_choice(form)
    try:
        values = await meeting_values(actor, data, current["conference"])
    except ValidationFailed as exc:  # every message at once, the notice choice's too
        raise ValidationFailed({**exc.errors, **form.errors}) from None
    version = form.version()
    form.done()  # a version that is not a record version is refused, not taken as "don't check"
    async with db.atomic(Meeting, meeting_id):
        current = await get_or_404(Meeting, meeting_id, MEETING_NOT_FOUND)
        changed = [f for f in NOTIFIED_FIELDS if values[f] != current[f]]
        renotify = current["status"] == "notified" and bool(changed)
        if renotify and notice == "send":
            # The higher SEQUENCE marks every invitation (notified_sequence < sequence) for the
            # change notice, which notify_meeting sends below, inside this transaction.
            values["sequence"] = current["sequence"] + 1
        await update_audited(actor, Meeting, "meeting", current, values, expected_version=version,
                             action="reschedule" if renotify else "update",
                             conference_id=current["conference"])
        if "sequence" in values and set(changed) & set(RECONFIRM_FIELDS):
            await ask_to_reconfirm(actor, meeting_id, current["conference"])
        if not renotify:
            return 0
        if notice == "skip":
            await record(actor, "skip_notice", "meeting", meeting_id, after={"fields": changed, "reason": reason},
                         conference_id=current["conference"])
            return 0
        if not await Invitation.exists().where(Invitation.meeting == meeting_id):
            return 0  # nobody to tell; units added later get the notice through "发送通知"
        return await notify_meeting(actor, meeting_id)


def notice_message(calendar: dict[str, Any], inv: Mapping[str, Any], token: str) -> dict[str, Any]:
    """The notice one invited unit receives: event, subject, body (the complete 会议通知 of
    conference.meetings.notice and the unit's personal reply link) and the .ics. notify_meeting
    queues it; the preview shows it, so the office confirms exactly what will be sent."""
    changed = inv["notified_sequence"] is not None
    subject = (_("【会议变更】{title}") if changed else _("【会议通知】{title}")).format(title=calendar["title"])
    url = f"{get_settings().base_url}/r/{token}"
    body = notice.text(calendar) + "\n" + _("请通过以下链接回复参会情况：{url}").format(url=url)
    if changed and inv["reply"] == "pending" and inv["replied_at"] is not None:  # reset by ask_to_reconfirm
        body = _("会议的日期、时间或地点已变更，贵单位此前的回复已失效，请重新确认是否参会。") + "\n" + body
    return {"event": "meeting_updated" if changed else "meeting_notified", "subject": subject, "body": body,
            "ics": render_invitation(calendar, inv["unit"], reply_token=token)}


def _to_notify(calendar: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The invitations not yet told of the meeting's current version (SEQUENCE)."""
    return [i for i in calendar["invitations"]
            if i["notified_sequence"] is None or i["notified_sequence"] < calendar["sequence"]]


async def _notice_context(meeting: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The meeting as the notice shows it and the invitations to notify; Conflict when there are none."""
    if meeting["status"] not in EDITABLE:
        raise wrong_state(meeting["status"], _("发送通知"))
    calendar = await meeting_context(int(meeting["id"]))
    assert calendar is not None  # the meeting exists: the caller has just read it
    if not calendar["invitations"]:
        raise Conflict(_("会议还没有邀请任何单位，不能发送通知。"))
    pending = _to_notify(calendar)
    if not pending:
        raise Conflict(_("所有受邀单位都已收到最新通知。"))
    return calendar, pending


async def notice_recipients(actor: Actor, meeting_id: int) -> list[dict[str, Any]]:
    """The invitations a notice would go to now (Conflict when none, 404 out of scope)."""
    _calendar, pending = await _notice_context(await managed_meeting(actor, meeting_id))
    return pending


def recipients_key(pending: list[dict[str, Any]], version: int) -> str:
    """What the office confirmed: the meeting's version and the invitations previewed. A change of
    either between preview and confirmation refuses the sending (the office previews again)."""
    return f"{version}:" + ",".join(str(i["id"]) for i in sorted(pending, key=lambda i: i["id"]))


async def notice_preview(actor: Actor, meeting_id: int, unit_id: int | None) -> dict[str, Any]:
    """The confirm step: the units the notice goes to, and the message one of them (`unit_id`, else
    the first) will receive, composed as the sender composes it (its reply link shown masked: the
    real one is made when the notice is sent)."""
    from conference.mail.compose import compose, summary  # mail presents the outbox; meetings do not depend on it otherwise
    from conference.notifications.services import mask_links

    meeting = await managed_meeting(actor, meeting_id)
    calendar, pending = await _notice_context(meeting)
    chosen = next((i for i in pending if i["unit"] == unit_id), pending[0])
    message = notice_message(calendar, chosen, "preview")
    row = {"id": 0, "created_at": now(), "email": chosen.get("email") or "", **message}
    mail = summary(compose(row, recipient_name=chosen["unit_name"]))
    mail["text"] = mask_links(mail["text"])
    return {"meeting": meeting, "calendar": calendar, "recipients": pending, "chosen": chosen, "mail": mail,
            "key": recipients_key(pending, meeting["version"])}


async def notify_meeting(actor: Actor, meeting_id: int, *, confirmed: str | None = None) -> int:
    """Send (or re-send after a change) the invitation to every unit not yet told of the current
    version. `confirmed`: the preview's recipients_key, when the office confirmed a preview; a
    different key (the meeting or its invitees changed meanwhile) is refused. Returns how many
    were queued."""
    async with db.atomic(Meeting, meeting_id):
        meeting = await managed_meeting(actor, meeting_id)
        calendar, pending = await _notice_context(meeting)
        if confirmed is not None and confirmed != recipients_key(pending, meeting["version"]):
            raise Conflict(_("预览之后会议或受邀单位已有变化，请重新预览后再确认发送。"))
        first: dict[str, Any] = {}
        if meeting["status"] == "draft":
            first["notified_at"] = now()
            if not meeting["notice_number"]:  # the 会议通知's 文号: given once, at the first notice, and printed on it
                from conference.documents import numbers  # documents depend on meetings, not the reverse

                first["notice_number"] = calendar["notice_number"] = await numbers.assign(meeting["conference"], today().year)
        for inv in pending:
            # Every notice carries a new link (the table keeps only hashes, so an earlier one cannot
            # be repeated); the link of an earlier notice stops working.
            token = await new_reply_token(inv["id"])
            message = notice_message(calendar, inv, token)
            await queue(message["event"], conference_id=meeting["conference"], subject=message["subject"], body=message["body"],
                        unit_id=inv["unit"], entity="invitation", entity_id=inv["id"], ics=message["ics"])
            await Invitation.update({Invitation.notified_sequence: meeting["sequence"]}).where(Invitation.id == inv["id"])
        if meeting["status"] == "draft":
            await transition(actor, meeting, "notified", "notify", **first)
        else:
            await record(actor, "renotify", "meeting", meeting_id, after={"units": len(pending)},
                         conference_id=meeting["conference"])
        return len(pending)


async def hold_meeting(actor: Actor, meeting_id: int) -> None:
    async with db.atomic(Meeting, meeting_id):
        meeting = await managed_meeting(actor, meeting_id)
        if meeting["status"] != "notified":
            raise wrong_state(meeting["status"], _("标记为已召开"))
        if meeting["starts_at"] > now():
            raise Conflict(_("会议尚未开始（{start}），开始后才能标记为已召开。").format(start=cn_datetime(meeting["starts_at"])))
        outdated = await Invitation.count().where(
            (Invitation.meeting == meeting_id) & (Invitation.notified_sequence < meeting["sequence"]))
        if outdated:
            # Units told an older time or place may not have come: they must hear of the change first.
            raise Conflict(_("还有 {n} 个受邀单位收到的是变更前的会议通知，请先发送变更通知，再标记为已召开。").format(n=outdated))
        await transition(actor, meeting, "held", "hold")


async def cancel_meeting(actor: Actor, meeting_id: int, data: Mapping[str, Any]) -> None:
    reason = CANCEL_FORM.read(data)["reason"]
    async with db.atomic(Meeting, meeting_id):
        meeting = await managed_meeting(actor, meeting_id)
        if meeting["status"] not in EDITABLE:
            raise wrong_state(meeting["status"], _("取消"))
        was_notified = meeting["status"] == "notified"
        await transition(actor, meeting, "cancelled", "cancel", cancel_reason=reason, sequence=meeting["sequence"] + 1)
        await release_items(actor, meeting_id, meeting["title"])
        if was_notified:
            rows = await Invitation.select(Invitation.id, Invitation.unit).where(
                (Invitation.meeting == meeting_id) & Invitation.notified_sequence.is_not_null())
            calendar = await meeting_context(meeting_id)  # now cancelled, SEQUENCE+1: the .ics is a CANCEL
            for inv in rows:
                await queue("meeting_cancelled", conference_id=meeting["conference"], subject=_("【会议取消】{title}").format(title=meeting["title"]),
                            body=meeting_text(meeting) + "\n" + _("取消原因：{reason}").format(reason=reason),
                            unit_id=inv["unit"], entity="invitation", entity_id=inv["id"],
                            ics=render_invitation(calendar, inv["unit"]) if calendar else None)


async def notice_pdf(actor: Actor, meeting_id: int) -> tuple[bytes, str, str]:
    """The 会议通知 as an A4 PDF in the official style of the minutes (templates/pdf/meeting_notice.html,
    rendered by conference.minutes.pdf): for the office. Returns the bytes, the Chinese file name
    and an ASCII one."""
    from conference.minutes import pdf  # the minutes' renderer and fonts; minutes depend on meetings

    meeting = await managed_meeting(actor, meeting_id)
    calendar = await meeting_context(meeting_id)
    assert calendar is not None
    units = [i["unit_name"] for i in calendar["invitations"]]
    issued = local(meeting["notified_at"]).date() if meeting["notified_at"] else today()
    context = notice.pdf_context(calendar, units=units, date=issued)
    content = await pdf.render_template("pdf/meeting_notice.html", context)
    return content, f"{context['doc_title']}.pdf", f"meeting-{meeting_id}-notice.pdf"
