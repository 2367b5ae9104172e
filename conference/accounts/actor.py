"""Who is acting: the logged-in user as plain values (never an ORM object in templates)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.di import NamedDependency


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
    # Acting through a personal link (a task's unit or street, no password): no account behind it,
    # so the audit trail and the task record name it by `display_name` and store no user id.
    via_link: bool = False
    # Unread messages of a unit or street account, counted with the session lookup of the page
    # request (conference.accounts.services.actor_for_session) for the navigation's badge.
    unread: int = 0

    @property
    def account_id(self) -> int | None:
        return None if self.via_link else self.id

    @property
    def label(self) -> str:
        return self.display_name or self.username



# A route handler's parameter `actor: CurrentActor` receives the logged-in account: the app's
# `actor` dependency (conference.web.auth.current_actor), behind the access guard.
CurrentActor = NamedDependency[Actor]
