"""Meetings, their invitations (one per invited unit) and special-meeting requests from streets."""

from __future__ import annotations

from piccolo.columns import Boolean, Date, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from conference.accounts.tables import User
from conference.registry.tables import Conference, MemberUnit, Person, Street

MEETING_KINDS = ("plenary", "special")
MEETING_STATES = ("draft", "notified", "held", "minutes_in_review", "minutes_published", "cancelled")


class Meeting(Table, tablename="meeting"):
    id = Serial(primary_key=True)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=16)
    title = Varchar(length=120)  # the sequence label, e.g. 2026年第1次全体会议
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    location = Varchar(length=200, default="")
    presiding = ForeignKey(Person, null=True, index=True, on_delete=OnDelete.restrict)
    status = Varchar(length=24, default="draft", index=True)
    # iCalendar: a stable UID and a SEQUENCE that grows with every change of time, place or title
    # after notification, so calendar clients replace the event instead of adding a second one.
    uid = Varchar(length=80, unique=True)
    sequence = Integer(default=0)
    notes = Text(default="")
    requirements = Text(default="")  # 参会要求 of the notice ("" = services.DEFAULT_REQUIREMENTS)
    # 回执截止时间: before starts_at; a reply after it is still taken and shown as 逾期回复.
    reply_deadline = Timestamptz(null=True, default=None)
    # 文号 of the 会议通知 (兰联办〔2026〕7号), given once at the first notice (conference.documents.numbers);
    # "" before, or when the office has no 代字.
    notice_number = Varchar(length=40, default="")
    cancel_reason = Text(default="")
    notified_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz()
    # Set by every audited update (conference.records.update_audited): LAST-MODIFIED and DTSTAMP of
    # the meeting in the units' feeds.
    changed_at = Timestamptz(null=True, default=None)


class Invitation(Table, tablename="invitation"):
    """One per meeting per invited unit. The unit answers through a personal link /r/<token> (no
    password); only the token's SHA-256 is kept (`token_hash`), so the clear link exists only in
    the message that sends it (a new one with every notice, see services.notify_meeting). The link
    dies when the token is revoked, replaced by a later notice, or the meeting is cancelled."""

    id = Serial(primary_key=True)
    meeting = ForeignKey(Meeting, index=True, on_delete=OnDelete.restrict)
    unit = ForeignKey(MemberUnit, index=True, on_delete=OnDelete.restrict)
    role = Varchar(length=16, default="member")  # member | observer (列席)
    token_hash = Varchar(length=64, unique=True)
    token_revoked = Boolean(default=False)
    reply = Varchar(length=16, default="pending")  # pending | attending | leave | delegated
    attendee_name = Varchar(length=40, default="")
    attendee_title = Varchar(length=60, default="")
    leave_reason = Text(default="")
    replied_at = Timestamptz(null=True, default=None)
    attendance = Varchar(length=16, default="")  # "" | present | leave | absent (sign-in on the day)
    signed_in_at = Timestamptz(null=True, default=None)
    # The meeting SEQUENCE this unit was last notified of; lower than the meeting's means the
    # unit must be notified again (time, place or title changed after notification).
    notified_sequence = Integer(null=True, default=None)
    version = Integer(default=1)


class SpecialMeetingRequest(Table, tablename="special_meeting_request"):
    id = Serial(primary_key=True)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.restrict)
    street = ForeignKey(Street, index=True, on_delete=OnDelete.restrict)
    requested_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    title = Varchar(length=120, default="")  # the name the approved special meeting takes
    reason = Text()
    proposed_items = Text(default="")  # a free-text note beside the chosen items (SpecialMeetingRequestItem)
    proposed_date = Date()
    status = Varchar(length=16, default="requested")  # requested | approved | declined
    decision_comment = Text(default="")
    decided_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    decided_at = Timestamptz(null=True, default=None)
    meeting = ForeignKey(Meeting, null=True, index=True, on_delete=OnDelete.set_null)
    version = Integer(default=1)
    created_at = Timestamptz()
