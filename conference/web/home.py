"""The health check."""

from __future__ import annotations

from litestar import Response, get

from conference import db


@get("/healthz", opt={"public": True}, include_in_schema=False)
async def healthz() -> Response[dict[str, str]]:
    ok = await db.ping()
    return Response({"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503)


ROUTES = [healthz]  # "/" is the workbench (conference.workbench.routes)
