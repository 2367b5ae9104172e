"""Append-only audit trail: who did what to which record, when, with before/after values."""

from __future__ import annotations

from piccolo.columns import JSON, ForeignKey, Integer, OnDelete, Serial, Timestamptz, Varchar
from piccolo.table import Table

from conference.accounts.tables import User


class AuditEvent(Table, tablename="audit_event"):
    id = Serial(primary_key=True)
    at = Timestamptz(index=True)
    actor = ForeignKey(User, null=True, index=True, on_delete=OnDelete.restrict)
    actor_name = Varchar(length=60, default="")
    action = Varchar(length=40, index=True)
    entity = Varchar(length=40, index=True)
    entity_id = Integer(index=True)
    # The conference the record belongs to, so that an office sees only its own trail.
    conference_id = Integer(null=True, default=None, index=True)
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
