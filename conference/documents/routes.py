"""The papers of a meeting as PDF: /meetings/{id}/papers/{signin|agenda|replies}.pdf."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, get
from litestar.params import FromPath

from conference.accounts.actor import CurrentActor
from conference.documents import papers
from conference.errors import NotFound
from conference.forms import download_disposition
from conference.meetings.services import MEETING_NOT_FOUND
from conference.roles import PEOPLE

# Every role may ask; the service answers 404 to all but the office and the convenor, the same
# answer as for a meeting out of scope, so the address tells nothing.


@get("/{meeting_id:int}/papers/{name:str}", opt={"roles": PEOPLE})
async def meeting_paper(actor: CurrentActor, meeting_id: FromPath[int], name: FromPath[str]) -> Response[bytes]:
    if not name.endswith(".pdf"):
        raise NotFound(MEETING_NOT_FOUND)
    content, filename, ascii_name = await papers.meeting_paper(actor, meeting_id, name.removesuffix(".pdf"))
    # Made from the records as they stand now: never cached.
    return Response(content=content, media_type="application/pdf", headers={
        "Content-Disposition": download_disposition(filename, ascii_name=ascii_name, inline=True),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


# A page, not an API operation: kept out of the OpenAPI schema.
ROUTES: list[Any] = [Router("/meetings", route_handlers=[meeting_paper], include_in_schema=False)]
