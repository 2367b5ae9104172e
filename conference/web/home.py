"""The landing page (each role's own scope at a glance) and the health check."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.response import Template

from conference import db
from conference.accounts.scope import visible_conference_ids
from conference.registry import views
from conference.registry.tables import Conference, MemberUnit, Street
from conference.web.auth import actor_of
from conference.web.templating import render

ALL_ROLES = ("admin", "office", "convenor", "street", "unit")


@get("/", opt={"roles": ALL_ROLES}, include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template:
    actor = actor_of(request)
    visible = await visible_conference_ids(actor)
    query = Conference.select(Conference.id, Conference.name, Conference.level).order_by(Conference.name)
    if visible is not None:
        query = query.where(Conference.id.is_in(list(visible) or [0]))
    context: dict[str, Any] = {"conferences": await query}
    if actor.role == "unit" and actor.unit_id:
        context["unit"] = await MemberUnit.select().where(MemberUnit.id == actor.unit_id).first()
        context["memberships"] = await views.unit_memberships(actor.unit_id)
    if actor.role == "street" and actor.street_id:
        context["street"] = await Street.select().where(Street.id == actor.street_id).first()
    return render(request, "home.html", **context)


@get("/healthz", opt={"public": True}, include_in_schema=False)
async def healthz() -> Response[dict[str, str]]:
    ok = await db.ping()
    return Response({"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503)


ROUTES = [home, healthz]
