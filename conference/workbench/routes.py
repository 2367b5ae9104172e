"""The home page "/": the workbench of the logged-in role, then its own unit or street and the
conferences it sees."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.response import Template

from conference.accounts.actor import CurrentActor
from conference.accounts.scope import read_once, visible_conference_ids
from conference.db import fetch, ids
from conference.registry import views
from conference.registry.tables import MemberUnit, Street
from conference.roles import PEOPLE, Role
from conference.sqlcompile import SQL
from conference.web.templating import render
from conference.workbench.services import workbench


@get("/", opt={"roles": PEOPLE})
async def home(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    with read_once():  # the cards' counts and the conferences below ask for the same scope
        visible = await visible_conference_ids(actor)
        scope = SQL("1 = 1") if visible is None else SQL('"conference"."id" IN ({})', ids(visible))
        conferences = await fetch(SQL(
            'SELECT "conference"."id" AS "id", "conference"."name" AS "name", "conference"."level" AS "level" '
            'FROM "conference" WHERE {} ORDER BY "conference"."sort_key" ASC, "conference"."name" ASC', scope))
        context: dict[str, Any] = {"cards": await workbench(actor), "conferences": conferences}
        if actor.role == Role.UNIT and actor.unit_id:
            context["unit"] = await MemberUnit.select().where(MemberUnit.id == actor.unit_id).first()
            context["memberships"] = await views.unit_memberships(actor.unit_id)
        if actor.role == Role.STREET and actor.street_id:
            context["street"] = await Street.select().where(Street.id == actor.street_id).first()
    return render(request, "workbench/home.html", **context)


# A page, not an API operation: kept out of the OpenAPI schema.
ROUTES = [Router("/", route_handlers=[home], include_in_schema=False)]
