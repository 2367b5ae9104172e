"""The search page: /search?q=...&kind=...&page=... for every signed-in role."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from conference.roles import PEOPLE
from conference.search import services
from conference.web.auth import actor_of
from conference.web.listing import page_number
from conference.web.templating import render


@get("/search", opt={"roles": PEOPLE}, include_in_schema=False)
async def search_page(request: Request[Any, Any, Any]) -> Template:
    query = request.query_params
    results = await services.search(actor_of(request), query.get("q") or "", query.get("kind") or "",
                                    page_number(query.get("page")))
    return render(request, "search/results.html", results=results, kinds=services.KINDS)


ROUTES = [search_page]
