"""The documents of the meetings JSON API (conference.meetings.api, invitations_api, special_api):
response and request bodies, the roles each part admits, and the labels that name their fields
in validation errors; plus the invitation as the API shows it (never its reply token)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec

from conference.accounts.actor import Actor
from conference.i18n import gettext as _
from conference.meetings.forms import ATTENDANCE_FORM, CANCEL_FORM, DECISION_FORM, INVITATION_FORM, REPLY_FORM
from conference.meetings.services import MEETING_FORM
from conference.meetings.special_requests import REQUEST_FORM
from conference.web.apikit import (
    convert,
)

INVITATION_NOT_FOUND = _("没有找到该会议邀请，或您无权查看。")
NOTIFICATION_LIMIT = 50


# The meeting form's labels are its spec's (services.MEETING_FORM); the others name the query
# parameters. Every request body is a spec's, its JSON types checked in Chinese by json_fields.
MEETING_LABELS = {
    **MEETING_FORM.labels("api"), "status": _("会议状态"), "start": _("开始日期"), "end": _("结束日期"), "sort": _("排序字段"),
}
REQUEST_LABELS = {
    **REQUEST_FORM.labels("api"), "status": _("审批状态"), "sort": _("排序字段"),
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


# The meeting form's API bodies, derived from its spec: fields, titles, limits (MEETING_FORM.json_fields
# checks the types of what is sent). A PATCH changes only the fields given, and carries the version read.
MeetingIn = MEETING_FORM.struct("MeetingIn")
MeetingPatch = MEETING_FORM.struct("MeetingPatch", patch=True, skip=("conference",), extra=[("version", int)])


# The bodies of the meeting page's smaller forms, derived from their specs (conference.meetings.forms;
# json_fields checks the types): cancel, invite a unit, sign-in, a unit's reply.
CancelIn = CANCEL_FORM.struct("CancelIn")
InvitationIn = INVITATION_FORM.struct("InvitationIn")
AttendanceIn = ATTENDANCE_FORM.struct("AttendanceIn")
ReplyIn = REPLY_FORM.struct("ReplyIn")


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


# The request form's API body, derived from its spec (REQUEST_FORM.json_fields checks the types):
# items are ids of the street's accepted items not yet on a meeting, at least one.
SpecialRequestIn = REQUEST_FORM.struct("SpecialRequestIn")


# Approving or declining a request (forms.DECISION_FORM): the comment is required when declining.
DecisionIn = DECISION_FORM.struct("DecisionIn")


class NotificationOut(msgspec.Struct):
    id: int
    created_at: dt.datetime
    event: str  # e.g. meeting_notified, item_returned
    subject: str
    body: str
    status: str  # queued | sending | sent | dead


# ---------------------------------------------------------------- invitations as shown


def invitation_data(row: Mapping[str, Any], meeting_id: int, actor: Actor) -> dict[str, Any]:
    data = {**row, "meeting": meeting_id}
    # The reply token is stored only as a hash and sent only in the unit's notice: nobody reads it here.
    data.pop("token", None)
    data.pop("token_hash", None)
    return data


def invitation_out(row: Mapping[str, Any], meeting_id: int, actor: Actor) -> InvitationOut:
    return convert(invitation_data(row, meeting_id, actor), InvitationOut)
