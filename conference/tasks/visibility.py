"""Which tasks and resolutions an actor may see: the one rule of the task list, the calendar's
deadlines, the workbench counts, search and every lookup of a single task (services.task_for) or
resolution (amend.resolution_for)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda.tables import AgendaItem
from conference.meetings.tables import Meeting
from conference.meetings.visibility import visible_meetings
from conference.roles import Role
from conference.tasks.tables import Resolution, Task
from conference.visibility import EVERY_ROW, Condition, conference_in


async def visible_tasks(actor: Actor) -> Condition:
    """A where-clause on Task: a unit its own tasks, a street the tasks of its items, offices and
    convenors those of their conferences, admins all."""
    if actor.role == Role.UNIT:
        return Task.unit == (actor.unit_id or 0)
    if actor.role == Role.STREET:
        return Task.street == (actor.street_id or 0)
    visible = await visible_conference_ids(actor)
    return EVERY_ROW if visible is None else conference_in(Task, visible)


async def visible_resolutions(actor: Actor) -> Condition:
    """A where-clause on Resolution. A unit the resolutions it holds a task of (it sees only its own
    invitations and tasks: the meeting page lists it those, its task list and task pages name them).
    The others the resolutions the meeting page lists (resolution_views.meeting_resolutions): those
    of every meeting they see; a street that reaches another conference's meeting only through its
    own items sees there only the resolutions of its own items."""
    if actor.role == Role.UNIT:
        return Resolution.id.is_in(Task.select(Task.resolution).where(Task.unit == (actor.unit_id or 0)))
    meetings = Resolution.meeting.is_in(Meeting.select(Meeting.id).where(await visible_meetings(actor)))
    if actor.role != Role.STREET:
        return meetings
    visible = await visible_conference_ids(actor)
    if visible is None:
        return meetings
    own_items = AgendaItem.select(AgendaItem.id).where(AgendaItem.street == (actor.street_id or 0))
    own = conference_in(Resolution, visible) | Resolution.item.is_in(own_items)
    return meetings & own


def can_open(actor: Actor, task: Mapping[str, Any]) -> bool:
    """Whether visible_tasks admits `task`, a row already read for a page the viewer may see (the
    tasks of a meeting or resolution in scope): links are shown only where they do not answer 404.
    Offices and convenors see the tasks of their conferences, which are those of their meetings."""
    if actor.role == Role.UNIT:
        return task["unit"] == actor.unit_id
    if actor.role == Role.STREET:
        return task["street"] is not None and task["street"] == actor.street_id
    return True
