"""The office's own part of the annual assessment (考核): the score it gives each member unit for its
other work (其他工作), per conference and year, beside the streets' evaluation computed from the task
ratings (conference.supervision.assessment)."""

from __future__ import annotations

from piccolo.columns import DoublePrecision, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from conference.accounts.tables import User
from conference.registry.tables import Conference, MemberUnit


class AssessmentScore(Table, tablename="assessment_score"):
    """One row per (conference, unit, year), unique (migration 2026-12-03T15:50); audited and
    version-checked like every record."""

    id = Serial(primary_key=True)
    conference = ForeignKey(Conference, index=True, on_delete=OnDelete.restrict)
    unit = ForeignKey(MemberUnit, index=True, on_delete=OnDelete.restrict)
    year = Integer()
    score = DoublePrecision()  # 0–100, one decimal
    note = Text(default="")
    entered_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    entered_by_name = Varchar(length=60, default="")
    entered_at = Timestamptz()
    version = Integer(default=1)
