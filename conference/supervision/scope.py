"""Whose tasks the supervision figures count: `visible_conference_ids` (a higher-level office sees the
conferences below it, a convenor the conferences he or she convenes); choosing a conference narrows
to it and the conferences below it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conference.accounts.actor import Actor
from conference.accounts.scope import subtree, visible_conference_ids
from conference.db import fetch
from conference.errors import NotFound
from conference.i18n import gettext as _


@dataclass(frozen=True)
class Scope:
    options: list[dict[str, Any]]  # the conferences the actor may choose, by name
    ids: set[int] | None  # conference ids whose records count (None: all)


async def figure_scope(actor: Actor, conference_id: int | None) -> Scope:
    """Two statements whatever the actor. A chosen conference outside the actor's scope is a 404,
    like every out-of-scope id; choosing one counts it and the conferences below it."""
    conferences = await fetch("SELECT c.id, c.name, c.level, c.parent FROM conference c ORDER BY c.sort_key, c.name")
    visible = await visible_conference_ids(actor)
    options = [c for c in conferences if visible is None or c["id"] in visible]
    if conference_id is None:
        return Scope(options, visible)
    parent_of = {int(c["id"]): c["parent"] for c in conferences}
    if conference_id not in parent_of or (visible is not None and conference_id not in visible):
        raise NotFound(_("没有找到该联席会议，或您无权查看。"))
    chosen = subtree(parent_of, conference_id)
    return Scope(options, chosen if visible is None else chosen & visible)
