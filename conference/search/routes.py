"""The search page: /search?q=...&kind=...&page=... for every signed-in role."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.response import Template

from conference.accounts.actor import CurrentActor
from conference.roles import PEOPLE
from conference.search import services
from conference.web.listing import page_number
from conference.web.templating import render


@get("/", opt={"roles": PEOPLE})
async def search_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    query = request.query_params
    results = await services.search(actor, query.get("q") or "", query.get("kind") or "",
                                    page_number(query.get("page")))
    return render(request, "search/results.html", results=results, kinds=services.KINDS)


# A page, not an API operation: kept out of the OpenAPI schema.
ROUTES: list[Any] = [Router("/search", route_handlers=[search_page], include_in_schema=False)]
