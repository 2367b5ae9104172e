"""Agenda items (议题) escalated by streets, their requested units, attachments, and their history
across meetings (one slot per meeting the item was put on, with the decision taken there)."""

from __future__ import annotations

from piccolo.columns import Bytea, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from conference.accounts.tables import User
from conference.meetings.tables import Meeting, SpecialMeetingRequest
from conference.registry.tables import Conference, MemberUnit, Street

ITEM_STATES = ("draft", "submitted", "accepted", "returned", "merged", "scheduled", "discussed", "resolved", "deferred")


class AgendaItem(Table, tablename="agenda_item"):
    id = Serial(primary_key=True)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.restrict)
    street = ForeignKey(Street, null=True, index=True, on_delete=OnDelete.restrict)  # None when the office raised it
    submitted_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    title = Varchar(length=120)
    description = Text(default="")
    category = Varchar(length=40, default="")
    urgency = Varchar(length=16, default="normal")  # normal | urgent | critical
    status = Varchar(length=16, default="draft", index=True)
    return_reason = Text(default="")
    merged_into: ForeignKey = ForeignKey("self", null=True, index=True, on_delete=OnDelete.restrict)
    meeting = ForeignKey(Meeting, null=True, index=True, on_delete=OnDelete.restrict)  # the meeting it is scheduled on now
    position = Integer(default=0)  # order on that meeting's agenda
    meetings_waited = Integer(default=0)  # meetings it was carried over from
    submitted_at = Timestamptz(null=True, default=None, index=True)
    version = Integer(default=1)
    created_at = Timestamptz()
    # The ticket the item came from in another system (conference.agenda.intake): its number there,
    # and which system ("12345" hotline or "grid" platform); "" for items raised on the pages.
    external_ref = Varchar(length=100, default="", index=True)
    external_source = Varchar(length=20, default="")


class AgendaItemUnit(Table, tablename="agenda_item_unit"):
    """The member units the street asks to deal with the item."""

    id = Serial(primary_key=True)
    item = ForeignKey(AgendaItem, index=True, on_delete=OnDelete.cascade)
    unit = ForeignKey(MemberUnit, index=True, on_delete=OnDelete.restrict)


class AgendaSlot(Table, tablename="agenda_slot"):
    """The item on one meeting's agenda and what was decided there; carry-over adds a new slot,
    so the item's history keeps every meeting it waited on."""

    id = Serial(primary_key=True)
    item = ForeignKey(AgendaItem, index=True, on_delete=OnDelete.restrict)
    meeting = ForeignKey(Meeting, index=True, on_delete=OnDelete.restrict)
    outcome = Varchar(length=16, default="pending")  # pending | discussed | resolved | deferred | not_discussed
    note = Text(default="")
    decided_at = Timestamptz(null=True, default=None)


class Attachment(Table, tablename="attachment"):
    """Kept in the database so that every server process sees it; size and type are limited."""

    id = Serial(primary_key=True)
    item = ForeignKey(AgendaItem, index=True, on_delete=OnDelete.cascade)
    filename = Varchar(length=200)
    content_type = Varchar(length=100)
    size = Integer()
    sha256 = Varchar(length=64)
    data = Bytea()
    uploaded_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class SpecialMeetingRequestItem(Table, tablename="special_meeting_request_item"):
    """An accepted item a street puts forward in its special-meeting request (unique per request
    and item); on approval these go on the new meeting's agenda. Kept here because it names an
    agenda item, and agenda depends on meetings, not the reverse."""

    id = Serial(primary_key=True)
    request = ForeignKey(SpecialMeetingRequest, index=True, on_delete=OnDelete.cascade)
    item = ForeignKey(AgendaItem, index=True, on_delete=OnDelete.restrict)


class IntakeRequest(Table, tablename="intake_request"):
    """One Idempotency-Key an account used to create an item: unique per (account, key) (an index
    of migration 2026-12-04T14:00), with the SHA-256 of the request body, so a repeated request
    returns the same item and a different body under the same key is refused."""

    id = Serial(primary_key=True)
    account = ForeignKey(User, on_delete=OnDelete.cascade)
    idempotency_key = Varchar(length=100)
    request_hash = Varchar(length=64)
    item = ForeignKey(AgendaItem, null=True, index=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz()
