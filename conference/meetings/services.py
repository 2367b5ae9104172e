"""Meeting rules: creation with default invitations, edits that re-notify, the lifecycle
draft → notified → held (→ minutes, see the minutes domain) or cancelled, invitations, replies
through personal links, sign-in, and special-meeting requests from streets."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.accounts.services import digest
from conference.audit.services import record
from conference.calendar.data import meeting_context, render_invitation
from conference.errors import Conflict, Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.meetings import notice
from conference.meetings.tables import Invitation, Meeting, SpecialMeetingRequest
from conference.notifications.services import queue
from conference.records import get_or_404, insert_audited, update_audited
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit, Person
from conference.settings import get_settings
from conference.timefmt import cn_date, cn_datetime, local, now, today

KIND_LABELS = {"plenary": _("全体会议"), "special": _("专题会议")}
STATUS_LABELS = {
    "draft": _("草稿"), "notified": _("已通知"), "held": _("已召开"), "minutes_in_review": _("纪要审签中"),
    "minutes_published": _("纪要已印发"), "cancelled": _("已取消"),
}
REPLY_LABELS = {"pending": _("未回复"), "attending": _("参会"), "leave": _("请假"), "delegated": _("委托参会"),
                "tentative": _("暂定")}
# The answers of the reply form; "暂定" (TENTATIVE) comes only from a calendar program's reply.
FORM_REPLIES = ("attending", "leave", "delegated")
# A pending reply that had been given before was reset by a change of date, time or place.
RECONFIRM_LABEL = _("待确认")
ATTENDANCE_LABELS = {"present": _("出席"), "leave": _("请假"), "absent": _("缺席")}
ROLE_LABELS = {"member": _("成员单位"), "observer": _("列席单位")}
REQUEST_STATUS_LABELS = {"requested": _("待审批"), "approved": _("已同意"), "declined": _("未同意")}
# Changing one of these after notification re-notifies every invited unit (iCalendar SEQUENCE+1).
NOTIFIED_FIELDS = ("title", "starts_at", "ends_at", "location")
# ... and one of these also asks every unit to confirm again (its reply goes back to pending).
RECONFIRM_FIELDS = ("starts_at", "ends_at", "location")
MEETING_NOT_FOUND = _("没有找到该会议，或您无权查看。")
EDITABLE = ("draft", "notified")
NOTICE_LABELS = {"send": _("发送变更通知"), "skip": _("不通知")}


def _wrong_state(status: str, doing: str) -> Conflict:
    return Conflict(_("会议当前状态为“{state}”，不能{doing}。").format(state=STATUS_LABELS.get(status, status), doing=doing))


# ---------------------------------------------------------------- access


async def meeting_for(actor: Actor, meeting_id: int) -> dict[str, Any]:
    """The meeting if the actor may see it: offices and convenors by conference, a unit only when
    invited, a street when it is its own conference's meeting or one of its items is on it."""
    row = await Meeting.select().where(Meeting.id == meeting_id).first()
    if row is None:
        raise NotFound(MEETING_NOT_FOUND)
    if actor.role == "unit":
        # A draft has not been sent to anyone yet: units see a meeting once they are notified.
        if row["status"] == "draft" or not await Invitation.exists().where(
                (Invitation.meeting == meeting_id) & (Invitation.unit == actor.unit_id)):
            raise NotFound(MEETING_NOT_FOUND)
        return row
    visible = await visible_conference_ids(actor)
    if visible is None or row["conference"] in visible:
        return row
    if actor.role == "street":
        from conference.agenda.tables import AgendaSlot

        if await AgendaSlot.exists().where((AgendaSlot.meeting == meeting_id) & (AgendaSlot.item.street == actor.street_id)):
            return row
    raise NotFound(MEETING_NOT_FOUND)


def require_manager(actor: Actor) -> None:
    if actor.role not in ("admin", "office"):
        raise Forbidden(_("只有联席会议办公室可以执行此操作。"))


async def managed_meeting(actor: Actor, meeting_id: int) -> dict[str, Any]:
    require_manager(actor)
    return await meeting_for(actor, meeting_id)


# ---------------------------------------------------------------- create and edit


def _local(day: dt.date | None, time: str, form: FormReader, name: str, label: str) -> dt.datetime | None:
    if day is None:
        return None
    try:
        clock = dt.time.fromisoformat(time) if time else None
    except ValueError:
        clock = None
    if clock is None:
        form.fail(name, _("请按 09:00 的格式填写{label}。").format(label=label))
        return None
    return dt.datetime.combine(day, clock, get_settings().tz)


async def _meeting_values(actor: Actor, data: Mapping[str, Any], conference_id: int) -> dict[str, Any]:
    form = FormReader(data)
    kind = form.choice("kind", _("会议类型"), KIND_LABELS)
    title = form.text("title", _("会议名称"), required=True, max_length=120)
    day = form.date("date", _("会议日期"), required=True)
    starts_at = _local(day, form.text("start_time", _("开始时间"), required=True, max_length=5), form, "start_time", _("开始时间"))
    ends_at = _local(day, form.text("end_time", _("结束时间"), required=True, max_length=5), form, "end_time", _("结束时间"))
    if starts_at and ends_at and ends_at <= starts_at:
        form.fail("end_time", _("结束时间必须晚于开始时间。"))
    location = form.text("location", _("会议地点"), required=True, max_length=200)
    presiding = form.ref("presiding", _("主持召集人"), required=False)
    if presiding is not None and not await Person.exists().where(Person.id == presiding):
        form.fail("presiding", _("所选召集人不存在。"))
    notes = form.text("notes", _("备注"), max_length=2000)
    requirements = form.text("requirements", _("参会要求"), max_length=2000)
    reply_deadline = _reply_deadline(form, starts_at)
    form.done()
    return {"kind": kind, "title": title, "starts_at": starts_at, "ends_at": ends_at, "location": location,
            "presiding": presiding, "notes": notes, "requirements": requirements, "reply_deadline": reply_deadline}


def reply_deadline_fields(deadline: dt.datetime | None) -> dict[str, str]:
    """A reply deadline as the meeting form's reply_date and reply_time (the edit form, the API)."""
    if deadline is None:
        return {"reply_date": "", "reply_time": ""}
    moment = local(deadline)
    return {"reply_date": moment.date().isoformat(), "reply_time": f"{moment:%H:%M}"}


def _reply_deadline(form: FormReader, starts_at: dt.datetime | None) -> dt.datetime | None:
    """回执截止时间 (optional): a date and a time, before the meeting starts."""
    day = form.date("reply_date", _("回执截止日期"))
    clock = form.text("reply_time", _("回执截止时间"), max_length=5)
    if day is None:
        if clock:
            form.fail("reply_date", _("填写了回执截止时间，请同时填写回执截止日期。"))
        return None
    deadline = _local(day, clock or "17:00", form, "reply_time", _("回执截止时间"))
    if deadline and starts_at and deadline >= starts_at:
        form.fail("reply_date", _("回执截止时间必须早于会议开始时间。"))
    return deadline


async def active_member_ids(conference_id: int, day: dt.date) -> list[int]:
    rows = await Membership.select(Membership.unit).where(
        (Membership.conference == conference_id) & (Membership.start_date <= day)
        & (Membership.end_date.is_null() | (Membership.end_date >= day))
        & Membership.unit.ended_on.is_null()
    )
    return sorted({r["unit"] for r in rows})


async def invitable_units(meeting: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The invitee picker's choices: the conference's member units on the meeting's day that are not
    invited yet (never another district's units, never a unit twice)."""
    members = await active_member_ids(meeting["conference"], local(meeting["starts_at"]).date())
    invited = {r["unit"] for r in await Invitation.select(Invitation.unit).where(Invitation.meeting == meeting["id"])}
    choices = [unit for unit in members if unit not in invited]
    if not choices:
        return []
    return await MemberUnit.select(MemberUnit.id, MemberUnit.name).where(MemberUnit.id.is_in(choices)).order_by(MemberUnit.sort_key, MemberUnit.name)


async def current_convenor(conference_id: int, day: dt.date) -> int | None:
    row = await ConvenorAppointment.select(ConvenorAppointment.person).where(
        (ConvenorAppointment.conference == conference_id) & (ConvenorAppointment.start_date <= day)
        & (ConvenorAppointment.end_date.is_null() | (ConvenorAppointment.end_date >= day))
    ).first()
    return row["person"] if row else None


def _unsent_token_hash() -> str:
    """The hash of a token nobody ever sees: the link works only once a notice has sent a new one."""
    return digest(secrets.token_urlsafe(24))


async def new_reply_token(invitation_id: int) -> str:
    """A new personal link for the invitation, replacing the previous one; only its hash is stored,
    so the returned token exists in clear only in the message that carries it."""
    token = secrets.token_urlsafe(24)
    await Invitation.update({Invitation.token_hash: digest(token)}).where(Invitation.id == invitation_id)
    return token


async def _invite(meeting_id: int, unit_id: int, role: str) -> int:
    rows = await Invitation.insert(
        Invitation(meeting=meeting_id, unit=unit_id, role=role, token_hash=_unsent_token_hash())
    ).returning(Invitation.id)
    return int(rows[0]["id"])


async def create_meeting(actor: Actor, conference_id: int | None, data: Mapping[str, Any]) -> int:
    """A draft meeting inviting the conference's active members on the meeting date. Without a
    conference the other fields are still checked, so that the form lists every message at once."""
    require_manager(actor)
    if conference_id is None:
        form = FormReader(data)
        with form.collecting():
            await _meeting_values(actor, data, 0)
        raise ValidationFailed({"conference": _("请选择联席会议。"), **form.errors})
    visible = await visible_conference_ids(actor)
    if (visible is not None and conference_id not in visible) or not await Conference.exists().where(Conference.id == conference_id):
        raise NotFound(_("没有找到该联席会议，或您无权查看。"))
    values = await _meeting_values(actor, data, conference_id)
    day = values["starts_at"].astimezone(get_settings().tz).date()
    if values["presiding"] is None:
        values["presiding"] = await current_convenor(conference_id, day)
    async with db.atomic():
        meeting_id = await insert_audited(actor, Meeting, "meeting", {
            **values, "conference": conference_id, "status": "draft", "uid": f"{uuid.uuid4()}@conference",
            "sequence": 0, "created_at": now(),
        }, conference_id=conference_id)
        for unit_id in await active_member_ids(conference_id, day):
            await _invite(meeting_id, unit_id, "member")
    return meeting_id


def _notice_choice(form: FormReader) -> tuple[str, str]:
    """What to do about a change of a notified meeting: send the change notice with the save
    (the default, also when the field is absent, e.g. from the API) or not, with a reason."""
    notice = form.choice("notice", _("变更通知"), NOTICE_LABELS, required=False) or "send"
    reason = form.text("notice_reason", _("不通知的理由"), required=notice == "skip", max_length=500)
    return notice, reason


async def update_meeting(actor: Actor, meeting_id: int, data: Mapping[str, Any]) -> int:
    """Saves the meeting. A change of title, time or place of a notified meeting raises its SEQUENCE
    and sends the change notice in the same transaction (under the meeting's row lock, so a save
    submitted twice sends one notice: the second carries a stale version and is refused); with
    "不通知" and a reason the change is saved without a new SEQUENCE and the reason is audited.
    Returns how many units were sent the change notice."""
    current = await managed_meeting(actor, meeting_id)
    if current["status"] not in EDITABLE:
        raise _wrong_state(current["status"], _("修改"))
    form = FormReader(data)
    notice, reason = _notice_choice(form)
    try:
        values = await _meeting_values(actor, data, current["conference"])
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


async def ask_to_reconfirm(actor: Actor, meeting_id: int, conference_id: int) -> int:
    """A new date, time or place makes every answer an answer to another meeting: each reply goes
    back to pending (PARTSTAT=NEEDS-ACTION in the next invitation, RFC 5546 §2.1.4), shown as
    "待确认" because replied_at still tells it had been given; the names given are kept to start
    the form from. Audited per invitation. Returns how many replies were reset."""
    rows = await Invitation.select().where((Invitation.meeting == meeting_id) & (Invitation.reply != "pending"))
    for row in rows:
        await update_audited(actor, Invitation, "invitation", row, {"reply": "pending"}, expected_version=None,
                             action="reconfirm", conference_id=conference_id)
    return len(rows)


def reply_label(reply: str, replied_at: Any) -> str:
    """未回复, or 待确认 for a reply reset by a change (see ask_to_reconfirm), or the answer."""
    if reply == "pending" and replied_at is not None:
        return RECONFIRM_LABEL
    return REPLY_LABELS.get(reply, reply)


async def _transition(actor: Actor, meeting: Mapping[str, Any], status: str, action: str, **extra: Any) -> None:
    await update_audited(actor, Meeting, "meeting", meeting, {"status": status, **extra},
                         expected_version=None, action=action, conference_id=meeting["conference"])


def _meeting_text(meeting: Mapping[str, Any]) -> str:
    return _("会议：{title}\n时间：{start}\n地点：{location}").format(
        title=meeting["title"], start=cn_datetime(meeting["starts_at"]), location=meeting["location"])


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
        raise _wrong_state(meeting["status"], _("发送通知"))
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
            await _transition(actor, meeting, "notified", "notify", **first)
        else:
            await record(actor, "renotify", "meeting", meeting_id, after={"units": len(pending)},
                         conference_id=meeting["conference"])
        return len(pending)


async def hold_meeting(actor: Actor, meeting_id: int) -> None:
    async with db.atomic(Meeting, meeting_id):
        meeting = await managed_meeting(actor, meeting_id)
        if meeting["status"] != "notified":
            raise _wrong_state(meeting["status"], _("标记为已召开"))
        if meeting["starts_at"] > now():
            raise Conflict(_("会议尚未开始（{start}），开始后才能标记为已召开。").format(start=cn_datetime(meeting["starts_at"])))
        outdated = await Invitation.count().where(
            (Invitation.meeting == meeting_id) & (Invitation.notified_sequence < meeting["sequence"]))
        if outdated:
            # Units told an older time or place may not have come: they must hear of the change first.
            raise Conflict(_("还有 {n} 个受邀单位收到的是变更前的会议通知，请先发送变更通知，再标记为已召开。").format(n=outdated))
        await _transition(actor, meeting, "held", "hold")


async def cancel_meeting(actor: Actor, meeting_id: int, data: Mapping[str, Any]) -> None:
    form = FormReader(data)
    reason = form.text("reason", _("取消原因"), required=True, max_length=500)
    form.done()
    async with db.atomic(Meeting, meeting_id):
        meeting = await managed_meeting(actor, meeting_id)
        if meeting["status"] not in EDITABLE:
            raise _wrong_state(meeting["status"], _("取消"))
        was_notified = meeting["status"] == "notified"
        await _transition(actor, meeting, "cancelled", "cancel", cancel_reason=reason, sequence=meeting["sequence"] + 1)
        from conference.agenda.services import release_items  # agenda depends on meetings, not the reverse

        await release_items(actor, meeting_id, meeting["title"])
        if was_notified:
            rows = await Invitation.select(Invitation.id, Invitation.unit).where(
                (Invitation.meeting == meeting_id) & Invitation.notified_sequence.is_not_null())
            calendar = await meeting_context(meeting_id)  # now cancelled, SEQUENCE+1: the .ics is a CANCEL
            for inv in rows:
                await queue("meeting_cancelled", conference_id=meeting["conference"], subject=_("【会议取消】{title}").format(title=meeting["title"]),
                            body=_meeting_text(meeting) + "\n" + _("取消原因：{reason}").format(reason=reason),
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


# ---------------------------------------------------------------- invitations


async def add_invitation(actor: Actor, meeting_id: int, data: Mapping[str, Any]) -> int:
    form = FormReader(data)
    unit_id = form.ref("unit", _("单位"))
    role = form.choice("role", _("邀请身份"), ROLE_LABELS)
    form.done()
    async with db.atomic(Meeting, meeting_id):
        meeting = await managed_meeting(actor, meeting_id)
        if meeting["status"] not in EDITABLE:
            raise _wrong_state(meeting["status"], _("调整受邀单位"))
        if not await MemberUnit.exists().where((MemberUnit.id == unit_id) & MemberUnit.ended_on.is_null()):
            raise ValidationFailed({"unit": _("所选单位不存在或已撤销。")})
        if await Invitation.exists().where((Invitation.meeting == meeting_id) & (Invitation.unit == unit_id)):
            raise ValidationFailed({"unit": _("该单位已在受邀名单中。")})
        assert unit_id is not None
        if role == "member" and unit_id not in await active_member_ids(meeting["conference"], local(meeting["starts_at"]).date()):
            # 列席 (observer) may be any unit; 成员单位 only the conference's members on the meeting's day
            raise ValidationFailed({"unit": _("该单位不是本联席会议的成员单位，请以列席单位邀请。")})
        invitation_id = await _invite(meeting_id, unit_id, role)
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
            raise _wrong_state(meeting["status"], _("调整受邀单位"))
        # RFC 5546: an attendee taken off the list gets a CANCEL for its own copy, so the event
        # leaves its calendar (built before the invitation row goes).
        calendar = await meeting_context(meeting_id=int(meeting["id"]))
        cancel_ics = render_invitation(calendar, inv["unit"], uninvited=True) if calendar else None
        await Invitation.delete().where(Invitation.id == invitation_id)
        await record(actor, "uninvite", "invitation", invitation_id, before={"unit": inv["unit"], "role": inv["role"]},
                     conference_id=meeting["conference"])
        if inv["notified_sequence"] is not None:
            await queue("meeting_uninvited", conference_id=meeting["conference"], subject=_("【参会调整】{title}").format(title=meeting["title"]),
                        body=_meeting_text(meeting) + "\n" + _("贵单位无需再参加此次会议。"), unit_id=inv["unit"],
                        entity="meeting", entity_id=meeting["id"], ics=cancel_ics)
        return int(meeting["id"])


async def revoke_token(actor: Actor, invitation_id: int) -> int:
    """Kills the personal link (e.g. forwarded by mistake) and issues a new one for the next notice."""
    async with db.atomic(Invitation, invitation_id):
        _inv, meeting = await invitation_for_manager(actor, invitation_id)
        await Invitation.update({Invitation.token_hash: _unsent_token_hash(), Invitation.notified_sequence: None}).where(
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
        raise _wrong_state(meeting["status"], _("回复参会情况"))
    form = FormReader(data)
    answer = form.choice("reply", _("参会情况"), {k: REPLY_LABELS[k] for k in FORM_REPLIES})
    values: dict[str, Any] = {"reply": answer, "attendee_name": "", "attendee_title": "", "leave_reason": ""}
    if answer in ("attending", "delegated"):
        values["attendee_name"] = form.text("attendee_name", _("参会人姓名"), required=True, max_length=40)
        values["attendee_title"] = form.text("attendee_title", _("参会人职务"), required=True, max_length=60)
    if answer == "leave":
        values["leave_reason"] = form.text("leave_reason", _("请假事由"), required=True, max_length=500)
    form.done()
    await save_reply(actor, invitation["id"], meeting, values, via=_("回执链接"))


async def save_reply(actor: Actor | None, invitation_id: int, meeting: Mapping[str, Any], values: Mapping[str, Any], *,
                     via: str) -> None:
    """Records a unit's answer, from the reply form or from its calendar program's METHOD:REPLY
    (conference.mail.inbox): the same state rule and the same audit action. `via` names the channel
    in the audit trail when there is no signed-in actor."""
    if meeting["status"] not in EDITABLE:
        raise _wrong_state(meeting["status"], _("回复参会情况"))
    async with db.atomic(Invitation, invitation_id):
        current = await get_or_404(Invitation, invitation_id)
        unit = await MemberUnit.select(MemberUnit.name).where(MemberUnit.id == current["unit"]).first()
        await update_audited(actor, Invitation, "invitation", current, {**values, "replied_at": now()},
                             expected_version=None, action="reply", conference_id=meeting["conference"],
                             actor_name=None if actor else _("{unit}（{via}）").format(unit=unit["name"] if unit else "", via=via))


async def record_attendance(actor: Actor, invitation_id: int, data: Mapping[str, Any]) -> int:
    form = FormReader(data)
    attendance = form.choice("attendance", _("签到情况"), ATTENDANCE_LABELS)
    attendee = form.text("attendee_name", _("出席人"), max_length=40) if "attendee_name" in data else None
    form.done()
    async with db.atomic(Invitation, invitation_id):
        inv, meeting = await invitation_for_manager(actor, invitation_id)
        if meeting["status"] not in ("notified", "held"):
            raise _wrong_state(meeting["status"], _("签到"))
        meeting_day = meeting["starts_at"].astimezone(get_settings().tz).date()
        if now().astimezone(get_settings().tz).date() < meeting_day:
            raise Conflict(_("会议当天（{day}）起才能签到。").format(day=cn_date(meeting_day)))
        values: dict[str, Any] = {"attendance": attendance, "signed_in_at": now() if attendance == "present" else None}
        if attendee is not None:
            values["attendee_name"] = attendee
        await update_audited(actor, Invitation, "invitation", inv, values,
                             expected_version=None, action="sign_in", conference_id=meeting["conference"])
        return int(meeting["id"])


# ---------------------------------------------------------------- special meeting requests


async def street_conference(street_id: int | None) -> int:
    """The conference a street submits to, chosen deterministically when a street has several: the
    first (by id) with a convenor serving today, else the first by id."""
    rows = await Conference.select(Conference.id).where(Conference.street == street_id).order_by(Conference.id)
    if street_id is None or not rows:
        raise Conflict(_("本街道尚未设立联席会议，请联系办公室。"))
    ids = [int(r["id"]) for r in rows]
    day = now().astimezone(get_settings().tz).date()
    serving = await ConvenorAppointment.select(ConvenorAppointment.conference).where(
        ConvenorAppointment.conference.is_in(ids) & (ConvenorAppointment.start_date <= day)
        & (ConvenorAppointment.end_date.is_null() | (ConvenorAppointment.end_date >= day)))
    active = {int(r["conference"]) for r in serving}
    return next((i for i in ids if i in active), ids[0])


ITEMS_TAKEN = _("所选议题已列入会议、已在其他提请中，或不属于本街道，请重新选择。")


def _chosen_ids(form: FormReader, chosen: list[str], allowed: set[int]) -> list[int]:
    """The ticked items, in the order shown, each one the street may still put forward."""
    ids: list[int] = []
    for value in chosen:
        try:
            item_id = int(value)
        except (TypeError, ValueError):
            item_id = 0
        if item_id not in allowed:
            form.fail("items", ITEMS_TAKEN)
            return []
        if item_id not in ids:
            ids.append(item_id)
    if not ids:
        form.fail("items", _("请选择至少一项提请会议研究的议题。"))
    return ids


async def request_special_meeting(actor: Actor, data: Mapping[str, Any], item_ids: list[str] | None = None) -> int:
    """A street asks for a special meeting on some of its accepted items (item_ids, the ticked
    checkboxes); the title names the meeting the convenor's approval creates."""
    from conference.agenda.services import requestable_items  # agenda depends on meetings, not the reverse
    from conference.agenda.tables import AgendaItem, SpecialMeetingRequestItem

    if actor.role != "street":
        raise Forbidden(_("专题会议由街道提请。"))
    conference_id = await street_conference(actor.street_id)
    form = FormReader(data)
    title = form.text("title", _("会议名称"), required=True, max_length=120)
    reason = form.text("reason", _("提请事由"), required=True, max_length=2000)
    note = form.text("proposed_items", _("补充说明"), max_length=2000)
    day = form.date("proposed_date", _("建议日期"), required=True)
    if day and day < now().astimezone(get_settings().tz).date():
        form.fail("proposed_date", _("建议日期不能早于今天。"))
    allowed = {int(r["id"]) for r in await requestable_items(actor.street_id, conference_id)}
    chosen = _chosen_ids(form, item_ids or [], allowed)
    form.done()
    async with db.atomic():
        # "Named in one waiting request at most" holds only if checked again under the items' row
        # locks: the same form sent twice at once read the same free items above.
        for item_id in sorted(chosen):
            await db.lock_row(AgendaItem, item_id)
        if not set(chosen) <= {int(r["id"]) for r in await requestable_items(actor.street_id, conference_id)}:
            raise ValidationFailed({"items": ITEMS_TAKEN})
        request_id = await insert_audited(actor, SpecialMeetingRequest, "special_request", {
            "conference": conference_id, "street": actor.street_id, "requested_by": actor.id, "title": title,
            "reason": reason, "proposed_items": note, "proposed_date": day, "status": "requested", "created_at": now(),
        }, conference_id=conference_id)
        for item_id in chosen:
            await SpecialMeetingRequestItem.insert(SpecialMeetingRequestItem(request=request_id, item=item_id))
        await record(actor, "propose_items", "special_request", request_id, after={"items": chosen},
                     conference_id=conference_id)
        return request_id


async def special_request_for(actor: Actor, request_id: int) -> dict[str, Any]:
    row = await SpecialMeetingRequest.select().where(SpecialMeetingRequest.id == request_id).first()
    if row is None:
        raise NotFound(_("没有找到该提请，或您无权查看。"))
    if actor.role == "street":
        if row["street"] != actor.street_id:
            raise NotFound(_("没有找到该提请，或您无权查看。"))
        return row
    if actor.role == "unit":
        raise NotFound(_("没有找到该提请，或您无权查看。"))
    visible = await visible_conference_ids(actor)
    if visible is not None and row["conference"] not in visible:
        raise NotFound(_("没有找到该提请，或您无权查看。"))
    return row


async def decide_special_request(actor: Actor, request_id: int, approve: bool, data: Mapping[str, Any]) -> int | None:
    """The convenor approves (a draft special meeting is created) or declines with a comment."""
    if actor.role not in ("convenor", "admin"):
        raise Forbidden(_("专题会议由召集人审批。"))
    form = FormReader(data)
    comment = form.text("comment", _("审批意见"), required=not approve, max_length=1000)
    form.done()
    async with db.atomic(SpecialMeetingRequest, request_id):
        req = await special_request_for(actor, request_id)
        if req["status"] != "requested":
            raise Conflict(_("该提请已经审批过了。"))
        meeting_id = None
        if approve:
            meeting_id = await _special_meeting_from(actor, req)
        await update_audited(actor, SpecialMeetingRequest, "special_request", req, {
            "status": "approved" if approve else "declined", "decision_comment": comment, "decided_by": actor.id,
            "decided_at": now(), "meeting": meeting_id,
        }, expected_version=None, action="approve" if approve else "decline", conference_id=req["conference"])
        await queue("special_request_decided", conference_id=req["conference"], street_id=req["street"], entity="special_request", entity_id=request_id,
                    subject=(_("专题会议提请已同意") if approve else _("专题会议提请未获同意")),
                    body=_("提请事由：{reason}\n审批意见：{comment}").format(reason=req["reason"], comment=comment or "—"))
        return meeting_id


async def _special_meeting_from(actor: Actor, req: Mapping[str, Any]) -> int:
    """The draft special meeting an approved request becomes: named as the street asked, its items
    on the agenda, and the units those items name invited (members of the conference as members,
    others as observers, 列席); the office completes time and place and may invite more."""
    from conference.agenda.services import schedule_request_items  # agenda depends on meetings, not the reverse

    day = req["proposed_date"]
    tz = get_settings().tz
    title = req["title"] or _("{date}专题会议").format(date=cn_date(day))  # requests filed before titles existed
    meeting = {
        "conference": req["conference"], "kind": "special", "title": title,
        "starts_at": dt.datetime.combine(day, dt.time(9, 0), tz), "ends_at": dt.datetime.combine(day, dt.time(11, 0), tz),
        "location": "", "presiding": actor.person_id or await current_convenor(req["conference"], day),
        "status": "draft", "uid": f"{uuid.uuid4()}@conference", "sequence": 0, "notes": req["reason"],
        "created_at": now(),
    }
    meeting_id = await insert_audited(actor, Meeting, "meeting", meeting, conference_id=req["conference"])
    named = await schedule_request_items(actor, int(req["id"]), {**meeting, "id": meeting_id})
    members = set(await active_member_ids(req["conference"], day))
    current = {int(r["id"]) for r in await MemberUnit.select(MemberUnit.id).where(
        MemberUnit.id.is_in(named or [0]) & MemberUnit.ended_on.is_null())}
    for unit_id in named:
        if unit_id in current:
            await _invite(meeting_id, unit_id, "member" if unit_id in members else "observer")
    return meeting_id
