"""Who may see which conferences. Every list and every by-id lookup goes through these, so a role
never sees another's records: out-of-scope ids answer 404 exactly like missing ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from conference.accounts.actor import Actor
from conference.db import fetch
from conference.roles import Role
from conference.timefmt import today


def subtree(parent_of: dict[int, int | None], root: int) -> set[int]:
    children: dict[int | None, list[int]] = defaultdict(list)
    for cid, parent in parent_of.items():
        children[parent].append(cid)
    found, stack = set(), [root]
    while stack:
        cid = stack.pop()
        if cid in found:
            continue
        found.add(cid)
        stack.extend(children.get(cid, []))
    return found


# Inside `read_once()`: each actor's conferences, read on first use (None: every conference).
_remembered: ContextVar[dict[Actor, set[int] | None] | None] = ContextVar("visible_conferences", default=None)


@contextmanager
def read_once() -> Iterator[None]:
    """Within the block, visible_conference_ids reads an actor's conferences once and answers the
    same set after that. For a page that only reads (the home page asks for them once per card):
    nothing it does changes an appointment, a membership or the conference tree."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


async def visible_conference_ids(actor: Actor) -> set[int] | None:
    """None means every conference (admin). A higher-level office sees the conferences below it.

    Runs on nearly every request, so it reads through the fast path (db.fetch); once inside
    `read_once()`."""
    remembered = _remembered.get()
    if remembered is None:
        return await _conference_ids(actor)
    if actor not in remembered:
        remembered[actor] = await _conference_ids(actor)
    found = remembered[actor]
    return None if found is None else set(found)  # a copy: a caller may change the set it gets


async def _conference_ids(actor: Actor) -> set[int] | None:
    if actor.role == Role.ADMIN:
        return None
    if actor.role == Role.OFFICE and actor.conference_id:
        rows = await fetch("SELECT id, parent FROM conference")
        return subtree({r["id"]: r["parent"] for r in rows}, actor.conference_id)
    day = today()
    if actor.role == Role.CONVENOR and actor.person_id:
        rows = await fetch(
            """SELECT conference FROM convenor_appointment
               WHERE person = {} AND start_date <= {} AND (end_date IS NULL OR end_date >= {})""",
            actor.person_id, day, day)
        return {r["conference"] for r in rows}
    if actor.role == Role.STREET and actor.street_id:
        rows = await fetch("SELECT id FROM conference WHERE street = {}", actor.street_id)
        return {r["id"] for r in rows}
    if actor.role == Role.UNIT and actor.unit_id:
        rows = await fetch("SELECT conference FROM membership WHERE unit = {} AND (end_date IS NULL OR end_date >= {})",
                           actor.unit_id, day)
        return {r["conference"] for r in rows}
    return set()


