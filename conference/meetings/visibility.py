"""Which meetings and special-meeting requests an actor may see: the one rule of the meeting list,
the calendar, the to-do counts, search and every lookup of a single meeting (services.meeting_for);
and of the request list and every lookup of a request (special_requests.special_request_for)."""

from __future__ import annotations

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda.tables import AgendaSlot
from conference.meetings.tables import Invitation, Meeting, SpecialMeetingRequest
from conference.roles import Role
from conference.visibility import EVERY_ROW, NO_ROW, Condition, conference_in


async def visible_meetings(actor: Actor) -> Condition:
    """A where-clause on Meeting. Offices, convenors and admins by the conferences they see; a
    unit the meetings it is invited to once notified (a draft has not been sent to anyone yet); a
    street its conferences' meetings and those of other conferences that one of its items is on."""
    if actor.role == Role.UNIT:
        invited = Invitation.select(Invitation.meeting).where(Invitation.unit == (actor.unit_id or 0))
        return (Meeting.status != "draft") & Meeting.id.is_in(invited)
    visible = await visible_conference_ids(actor)
    if visible is None:
        return EVERY_ROW
    own = conference_in(Meeting, visible)
    if actor.role == Role.STREET:
        with_own_items = AgendaSlot.select(AgendaSlot.meeting).where(AgendaSlot.item.street == (actor.street_id or 0))
        return own | Meeting.id.is_in(with_own_items)
    return own


async def visible_special_requests(actor: Actor) -> Condition:
    """A where-clause on SpecialMeetingRequest: a street its own requests; offices, convenors and
    admins those of their conferences; units none (a request is between a street and its convenor)."""
    if actor.role == Role.STREET:
        return SpecialMeetingRequest.street == (actor.street_id or 0)
    if actor.role == Role.UNIT:
        return NO_ROW
    visible = await visible_conference_ids(actor)
    return EVERY_ROW if visible is None else conference_in(SpecialMeetingRequest, visible)
