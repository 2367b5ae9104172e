"""Which agenda items an actor may see: the one rule of the item list, the workbench counts, search
and every lookup of a single item (services.item_for); and the list's filters on top of it
(item_conditions: the item list and the workbench's counts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda.states import ITEM_STATUS_LABELS, URGENCY_LABELS
from conference.agenda.tables import AgendaItem, AgendaItemUnit
from conference.roles import Role
from conference.sqlcompile import RawWhere
from conference.visibility import Condition, conference_in
from conference.web.listing import escape_like, parse_id

# The rule's SQL for a street, an office, an admin and a convenor is written here as the text
# Piccolo makes for the same conditions (`street == id`, `conference.is_in(ids) & (status != 'draft'
# | submitted_by == id)`; the conferences by conference_in, the shared rule), its values bound: building Piccolo's condition objects and their SQL on
# every list page cost more than the rest of the rule. The same statements either way.
_OWN_STREET = '"agenda_item"."street" = {}'
_NOT_DRAFT = '("agenda_item"."status" != {} OR "agenda_item"."submitted_by" = {})'


async def visible_items(actor: Actor, visible: set[int] | None = None) -> Condition:
    """A where-clause on AgendaItem. A street its own street's items (drafts included); offices,
    admins and convenors those of their conferences, without other people's drafts; a unit (which
    deals with tasks and has no item pages) the items that request it, without drafts. `visible`
    saves reading the actor's conferences again; None reads them."""
    if actor.role == Role.STREET:
        return RawWhere(_OWN_STREET, actor.street_id or 0)
    if actor.role == Role.UNIT:
        not_draft = (AgendaItem.status != "draft") | (AgendaItem.submitted_by == actor.id)
        requesting = AgendaItemUnit.select(AgendaItemUnit.item).where(AgendaItemUnit.unit == (actor.unit_id or 0))
        return not_draft & AgendaItem.id.is_in(requesting)
    if visible is None:
        visible = await visible_conference_ids(actor)
    if visible is None:
        return RawWhere(_NOT_DRAFT, "draft", actor.id)
    return RawWhere(f"({{}} AND {_NOT_DRAFT})", conference_in(AgendaItem, visible).querystring, "draft", actor.id)


# The list's filters as the SQL Piccolo makes for them (`column == value`, `ilike`, `a & b` as "(a AND
# b)", `a | b` as "(a OR b)"), written as text with the values bound: the same statements without
# building Piccolo's condition objects and their SQL on every request.
_FILTER_SQL = {
    "status": '"agenda_item"."status" = {}', "urgency": '"agenda_item"."urgency" = {}',
    "conference": '"agenda_item"."conference" = {}', "street": '"agenda_item"."street" = {}',
}
# Piccolo's ilike: ILIKE on PostgreSQL (and CockroachDB), LIKE elsewhere (SQLite has no ILIKE).
_SEARCH_SQL = {ilike: f'("agenda_item"."title" {op} {{}} OR "agenda_item"."external_ref" {op} {{}})'
               for ilike, op in ((True, "ILIKE"), (False, "LIKE"))}


async def item_conditions(actor: Actor, query: Mapping[str, str],
                          visible: set[int] | None = None) -> tuple[Condition, dict[str, str]]:
    """The items the list shows for a query (the actor's scope and the filters) and the filters in
    effect; also what the workbench counts (conference.workbench)."""
    template, values = "{}", [(await visible_items(actor, visible)).querystring]

    def both(sql: str, *bound: Any) -> None:  # Piccolo's `where & condition`
        nonlocal template
        template = f"({template} AND {sql})"
        values.extend(bound)

    extra: dict[str, str] = {}
    q = (query.get("q") or "").replace("\x00", "").strip()[:100]  # PostgreSQL rejects NUL in text
    if term := escape_like(q):
        # the ticket number of an item from the 12345 hotline or the grid platform finds it too
        both(_SEARCH_SQL[AgendaItem.title._meta.engine_type in ("postgres", "cockroach")], f"%{term}%", f"%{term}%")
    status = query.get("status") or ""
    if status in ITEM_STATUS_LABELS:
        both(_FILTER_SQL["status"], status)
        extra["status"] = status
    urgency = query.get("urgency") or ""
    if urgency in URGENCY_LABELS:
        both(_FILTER_SQL["urgency"], urgency)
        extra["urgency"] = urgency
    if (conference := parse_id(query.get("conference"))) is not None:
        both(_FILTER_SQL["conference"], conference)
        extra["conference"] = str(conference)
    if (street := parse_id(query.get("street"))) is not None:
        both(_FILTER_SQL["street"], street)
        extra["street"] = str(street)
    return RawWhere(template, *values), extra
