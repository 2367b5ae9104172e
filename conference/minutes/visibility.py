"""Which minutes an actor may see: those of the meetings it may see (meetings.visibility), the one
rule of every lookup of minutes by id (services.minutes_for, services.publication_for) and of the
meeting list's minutes column. What of them it reads is a matter of role: offices, admins and
convenors the drafts (a convenor those submitted to him or her), streets and units only what was
published."""

from __future__ import annotations

from conference.accounts.actor import Actor
from conference.meetings.tables import Meeting
from conference.meetings.visibility import visible_meetings
from conference.minutes.tables import Minutes
from conference.visibility import Condition


async def visible_minutes(actor: Actor) -> Condition:
    """A where-clause on Minutes: the minutes of every meeting visible_meetings admits."""
    return Minutes.meeting.is_in(Meeting.select(Meeting.id).where(await visible_meetings(actor)))
