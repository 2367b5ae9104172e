"""Which agenda items an actor may see: the one rule of the item list, the workbench counts, search
and every lookup of a single item (services.item_for)."""

from __future__ import annotations

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda.tables import AgendaItem, AgendaItemUnit
from conference.roles import Role
from conference.visibility import Condition


async def visible_items(actor: Actor, visible: set[int] | None = None) -> Condition:
    """A where-clause on AgendaItem. A street its own street's items (drafts included); offices,
    admins and convenors those of their conferences, without other people's drafts; a unit (which
    deals with tasks and has no item pages) the items that request it, without drafts. `visible`
    saves reading the actor's conferences again; None reads them."""
    if actor.role == Role.STREET:
        return AgendaItem.street == (actor.street_id or 0)
    not_draft = (AgendaItem.status != "draft") | (AgendaItem.submitted_by == actor.id)
    if actor.role == Role.UNIT:
        requesting = AgendaItemUnit.select(AgendaItemUnit.item).where(AgendaItemUnit.unit == (actor.unit_id or 0))
        return not_draft & AgendaItem.id.is_in(requesting)
    if visible is None:
        visible = await visible_conference_ids(actor)
    if visible is None:
        return not_draft
    return AgendaItem.conference.is_in(sorted(visible) or [0]) & not_draft
