"""The outbox: notifications queued in the same transaction as the change they announce, delivered
later (e-mail) and shown in the UI to the unit or street they concern."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from conference.registry.tables import MemberUnit, Street


class Notification(Table, tablename="notification"):
    id = Serial(primary_key=True)
    created_at = Timestamptz(index=True)
    event = Varchar(length=40, index=True)  # e.g. meeting_notified, item_returned
    unit = ForeignKey(MemberUnit, null=True, index=True, on_delete=OnDelete.set_null)
    street = ForeignKey(Street, null=True, index=True, on_delete=OnDelete.set_null)
    email = Varchar(length=120, default="")
    subject = Varchar(length=200)
    body = Text()
    ics = Text(null=True, default=None)  # iCalendar attachment for meeting invitations
    # The conference the message is about: an office sees exactly the mail of its own conferences,
    # also when the recipient unit belongs to other conferences too.
    conference = Integer(null=True, default=None, index=True)
    entity = Varchar(length=40, default="")
    entity_id = Integer(null=True, default=None)
    # Unique when set: a rule that must fire once (a reminder per task per rule per day) inserts
    # with a key and the database refuses the duplicate, also across processes.
    dedupe_key = Varchar(length=120, null=True, default=None, unique=True)
    status = Varchar(length=16, default="queued", index=True)  # queued | sending | sent | dead
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    # Start of the current run of temporary delivery failures; retried until MAIL_RETRY_HOURS later.
    failing_since = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    sent_at = Timestamptz(null=True, default=None)
    # When the unit or street first opened the message in the message centre; NULL = unread
    # (partial indexes on unit and street WHERE read_at IS NULL keep the badge count cheap).
    read_at = Timestamptz(null=True, default=None)
