"""Who is acting: the logged-in user as plain values (never an ORM object in templates)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    display_name: str
    role: str
    conference_id: int | None = None
    street_id: int | None = None
    unit_id: int | None = None
    person_id: int | None = None

    @property
    def label(self) -> str:
        return self.display_name or self.username


SYSTEM: Actor | None = None  # the CLI and jobs act as "system" (actor None in the audit log)
