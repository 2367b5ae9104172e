"""The health check."""

from __future__ import annotations

from litestar import Response, Router, get

from conference import db


@get("/", opt={"public": True})
async def healthz() -> Response[dict[str, str]]:
    ok = await db.ping()
    return Response({"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503)


ROUTES = [Router("/healthz", route_handlers=[healthz], include_in_schema=False)]  # "/" is the workbench (conference.workbench.routes)
