"""The last 文号 number given per conference, year and kind (conference.documents.numbers).
One row per (conference, year, kind): a unique index (migration 2026-12-04T12:01)."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, OnDelete, Serial, Varchar
from piccolo.table import Table

from conference.registry.tables import Conference


class DocumentCounter(Table, tablename="document_counter"):
    id = Serial(primary_key=True)
    conference = ForeignKey(Conference, on_delete=OnDelete.restrict)
    year = Integer(default=0)
    kind = Varchar(length=24, default="")
    last_number = Integer(default=0)
