"""Calendar replies read from the office mailbox (conference.mail.inbox): one row per METHOD:REPLY
part of a message, whatever became of it, so the office can see what arrived and what could not be
matched to an invitation."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from conference.meetings.tables import Invitation, Meeting
from conference.minutes.tables import MinutesPublication
from conference.notifications.tables import Notification
from conference.registry.tables import Conference

# applied: the unit's reply was recorded; stale: it answered an older SEQUENCE; unmatched: no
# invitation has that UID and ATTENDEE; sender: From is not the attendee's own address; closed: the
# meeting no longer takes replies; invalid: no PARTSTAT that means an answer.
REPLY_OUTCOMES = ("applied", "stale", "unmatched", "sender", "closed", "invalid")


class CalendarReply(Table, tablename="calendar_reply"):
    id = Serial(primary_key=True)
    # Message-ID, or "sha256:<hex>" of the message without one. (message_key, ical_uid, attendee) is
    # unique: a message read twice (two processes, a move that failed) is applied once.
    message_key = Varchar(length=250)
    ical_uid = Varchar(length=250, default="")
    attendee = Varchar(length=250, default="")
    sender = Varchar(length=250, default="")
    subject = Varchar(length=250, default="")
    partstat = Varchar(length=24, default="")
    sequence = Integer(default=0)
    delegate = Varchar(length=250, default="")
    comment = Text(default="")
    outcome = Varchar(length=16, index=True)
    meeting = ForeignKey(Meeting, null=True, index=True, on_delete=OnDelete.set_null)
    invitation = ForeignKey(Invitation, null=True, on_delete=OnDelete.set_null)
    conference = ForeignKey(Conference, null=True, index=True, on_delete=OnDelete.set_null)
    received_at = Timestamptz()


class NotificationAttachment(Table, tablename="notification_attachment"):
    """A file an outbox message carries. A published minutes PDF is referenced, not copied: its
    bytes are stored once in minutes_publication, whatever the number of recipients; the sender
    reads them when it composes the message (conference.mail.sender)."""

    id = Serial(primary_key=True)
    notification = ForeignKey(Notification, index=True, on_delete=OnDelete.cascade)
    publication = ForeignKey(MinutesPublication, null=True, index=True, on_delete=OnDelete.restrict)
    filename = Varchar(length=200, default="")
    content_type = Varchar(length=80, default="application/pdf")
    size = Integer(default=0)
    sha256 = Varchar(length=64, default="")
