"""Subscription feeds: one secret token per unit opens its calendar (meetings and task deadlines)
without a password, because calendar clients cannot log in. A revoked token answers 404."""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, OnDelete, Serial, Timestamptz, Varchar
from piccolo.table import Table

from conference.registry.tables import MemberUnit


class CalendarFeed(Table, tablename="calendar_feed"):
    id = Serial(primary_key=True)
    unit = ForeignKey(MemberUnit, index=True, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True)  # SHA-256 of the token: shown once, never stored
    revoked = Boolean(default=False)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
