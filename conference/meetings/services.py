"""Meeting rules, the base the others build on: labels, who may see and manage a meeting, the meeting
form's values, the members and convenor of a conference on a day, invitation tokens, creating a
draft with its default invitations, and a street's conference.

Built on it: conference.meetings.lifecycle (edits that re-notify, the notice, held, cancelled),
conference.meetings.invitations (invitees, replies through personal links, sign-in) and
conference.meetings.special_requests (special-meeting requests from streets)."""

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
from conference.errors import Conflict, Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.meetings.states import MEETING_STATUS_LABELS, REPLY_LABELS, MeetingStatus, Reply
from conference.meetings.tables import Invitation, Meeting
from conference.meetings.visibility import visible_meetings
from conference.records import insert_audited, update_audited
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit, Person
from conference.roles import OFFICE_ROLES
from conference.settings import get_settings
from conference.timefmt import cn_datetime, local, now
from conference.visibility import visible_row
from conference.web.formspec import FieldSpec, FormSpec

KIND_LABELS = {"plenary": _("全体会议"), "special": _("专题会议")}
# The answers of the reply form; "暂定" (TENTATIVE) comes only from a calendar program's reply.
FORM_REPLIES = (Reply.ATTENDING, Reply.LEAVE, Reply.DELEGATED)
# A pending reply that had been given before was reset by a change of date, time or place.
RECONFIRM_LABEL = _("待确认")
ATTENDANCE_LABELS = {"present": _("出席"), "leave": _("请假"), "absent": _("缺席")}
ROLE_LABELS = {"member": _("成员单位"), "observer": _("列席单位")}
# Changing one of these after notification re-notifies every invited unit (iCalendar SEQUENCE+1).
NOTIFIED_FIELDS = ("title", "starts_at", "ends_at", "location")
# ... and one of these also asks every unit to confirm again (its reply goes back to pending).
RECONFIRM_FIELDS = ("starts_at", "ends_at", "location")
MEETING_NOT_FOUND = _("没有找到该会议，或您无权查看。")
EDITABLE = (MeetingStatus.DRAFT, MeetingStatus.NOTIFIED)
NOTICE_LABELS = {"send": _("发送变更通知"), "skip": _("不通知")}

# The meeting form, once for the new and edit pages, the service's checks and the API body
# (conference.web.formspec): the page asks for the reply deadline as a date and a time, the API
# takes one date-time; the conference is chosen on the new page only.
MEETING_FORM = FormSpec((
    FieldSpec("conference", _("联席会议"), "ref", required=True),
    FieldSpec("kind", _("会议类型"), "choice", required=True, choices=KIND_LABELS),
    FieldSpec("title", _("会议名称"), required=True, max_length=120, help=_("例如：2026年第2次全体会议")),
    FieldSpec("date", _("会议日期"), "date", required=True),
    FieldSpec("start_time", _("开始时间"), "time", required=True),
    FieldSpec("end_time", _("结束时间"), "time", required=True),
    FieldSpec("location", _("会议地点"), required=True, max_length=200),
    FieldSpec("presiding", _("主持召集人"), "ref"),
    FieldSpec("notes", _("备注"), "multiline", max_length=2000),
    FieldSpec("requirements", _("参会要求"), "multiline", max_length=2000,
              help=_("印在会议通知、邮件和回执页上；留空则使用默认要求。")),
    FieldSpec("reply_date", _("回执截止日期"), "date", help=_("须早于会议开始时间；逾期仍可回复，将标注为逾期回复。"), on="page"),
    FieldSpec("reply_time", _("回执截止时间"), "time", help=_("不填则为当日 17:00。"), on="page"),
    FieldSpec("reply_deadline", _("回执截止时间"), "datetime", help=_("须早于会议开始时间；逾期仍可回复，将标注为逾期回复。"),
              on="api"),
))
# What a save of a notified meeting does about the change notice (lifecycle.update_meeting).
NOTICE_FORM = FormSpec((
    FieldSpec("notice", _("变更通知"), "choice", choices=NOTICE_LABELS,
              help=_("修改会议名称、时间或地点后，保存时即向全部受邀单位发送变更通知。"), on="page"),
    FieldSpec("notice_reason", _("不通知的理由"), "multiline", max_length=500,
              help=_("选择“不通知”时必填，将记入操作日志。"), on="page"),
))


def wrong_state(status: str, doing: str) -> Conflict:
    return Conflict(_("会议当前状态为“{state}”，不能{doing}。").format(state=MEETING_STATUS_LABELS.get(status, status), doing=doing))


# ---------------------------------------------------------------- access


async def meeting_for(actor: Actor, meeting_id: int) -> dict[str, Any]:
    """The meeting if the actor may see it (visibility.visible_meetings, the rule of the lists);
    else 404, as for a missing one."""
    return await visible_row(Meeting, meeting_id, await visible_meetings(actor), MEETING_NOT_FOUND)


def require_manager(actor: Actor) -> None:
    if actor.role not in OFFICE_ROLES:
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


async def meeting_values(actor: Actor, data: Mapping[str, Any], conference_id: int) -> dict[str, Any]:
    form, spec = FormReader(data), MEETING_FORM
    kind, title, day = (spec[name].read(form) for name in ("kind", "title", "date"))
    starts_at = _local(day, spec["start_time"].read(form), form, "start_time", spec["start_time"].label)
    ends_at = _local(day, spec["end_time"].read(form), form, "end_time", spec["end_time"].label)
    if starts_at and ends_at and ends_at <= starts_at:
        form.fail("end_time", _("结束时间必须晚于开始时间。"))
    location, presiding = spec["location"].read(form), spec["presiding"].read(form)
    if presiding is not None and not await Person.exists().where(Person.id == presiding):
        form.fail("presiding", _("所选召集人不存在。"))
    notes, requirements = spec["notes"].read(form), spec["requirements"].read(form)
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
    day, clock = MEETING_FORM["reply_date"].read(form), MEETING_FORM["reply_time"].read(form)
    if day is None:
        if clock:
            form.fail("reply_date", _("填写了回执截止时间，请同时填写回执截止日期。"))
        return None
    deadline = _local(day, clock or "17:00", form, "reply_time", MEETING_FORM["reply_time"].label)
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


def unsent_token_hash() -> str:
    """The hash of a token nobody ever sees: the link works only once a notice has sent a new one."""
    return digest(secrets.token_urlsafe(24))


async def new_reply_token(invitation_id: int) -> str:
    """A new personal link for the invitation, replacing the previous one; only its hash is stored,
    so the returned token exists in clear only in the message that carries it."""
    token = secrets.token_urlsafe(24)
    await Invitation.update({Invitation.token_hash: digest(token)}).where(Invitation.id == invitation_id)
    return token


async def invite(meeting_id: int, unit_id: int, role: str) -> int:
    rows = await Invitation.insert(
        Invitation(meeting=meeting_id, unit=unit_id, role=role, token_hash=unsent_token_hash())
    ).returning(Invitation.id)
    return int(rows[0]["id"])


async def create_meeting(actor: Actor, conference_id: int | None, data: Mapping[str, Any]) -> int:
    """A draft meeting inviting the conference's active members on the meeting date. Without a
    conference the other fields are still checked, so that the form lists every message at once."""
    require_manager(actor)
    if conference_id is None:
        form = FormReader(data)
        with form.collecting():
            await meeting_values(actor, data, 0)
        raise ValidationFailed({"conference": _("请选择联席会议。"), **form.errors})
    visible = await visible_conference_ids(actor)
    if (visible is not None and conference_id not in visible) or not await Conference.exists().where(Conference.id == conference_id):
        raise NotFound(_("没有找到该联席会议，或您无权查看。"))
    values = await meeting_values(actor, data, conference_id)
    day = values["starts_at"].astimezone(get_settings().tz).date()
    if values["presiding"] is None:
        values["presiding"] = await current_convenor(conference_id, day)
    async with db.atomic():
        meeting_id = await insert_audited(actor, Meeting, "meeting", {
            **values, "conference": conference_id, "status": "draft", "uid": f"{uuid.uuid4()}@conference",
            "sequence": 0, "created_at": now(),
        }, conference_id=conference_id)
        for unit_id in await active_member_ids(conference_id, day):
            await invite(meeting_id, unit_id, "member")
    return meeting_id


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


async def transition(actor: Actor, meeting: Mapping[str, Any], status: str, action: str, **extra: Any) -> None:
    await update_audited(actor, Meeting, "meeting", meeting, {"status": status, **extra},
                         expected_version=None, action=action, conference_id=meeting["conference"])


def meeting_text(meeting: Mapping[str, Any]) -> str:
    return _("会议：{title}\n时间：{start}\n地点：{location}").format(
        title=meeting["title"], start=cn_datetime(meeting["starts_at"]), location=meeting["location"])


# ---------------------------------------------------------------- a street's conference


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
