"""The office's audit page: every change, filterable by record type, action, person and date."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, Router, get
from litestar.response import Template

from conference import workers
from conference.accounts.actor import Actor, CurrentActor
from conference.accounts.scope import read_once, visible_conference_ids
from conference.audit import labels, views
from conference.audit.tables import AuditEvent
from conference.db import ids, listed
from conference.errors import Conflict
from conference.forms import download_disposition
from conference.i18n import gettext as _
from conference.roles import OFFICE_ROLES
from conference.settings import get_settings
from conference.spreadsheets import Heading, xlsx_bytes
from conference.sqlcompile import SQL, RawWhere
from conference.supervision.ledgers import XLSX_TYPE
from conference.timefmt import today
from conference.web.listing import escape_like, paginate, parse_day
from conference.web.templating import render

EXPORT_LIMIT = 20_000  # events per export (each becomes several lines); more asks to narrow the filters


@dataclass
class AuditFilter:
    where: Any
    query: dict[str, str]  # the request's parameters, with the default order (newest first)
    chosen: dict[str, str]  # the filters in force, to keep on the pager and the export link


# The trail's conditions as the SQL Piccolo's conditions on AuditEvent give (with bound values),
# written directly: the page makes them on every request, and Piccolo's condition objects,
# their checks and their compilation cost more than the rest of the filter (~0.1 ms a page).
SCOPE = '("audit_event"."conference_id" IN ({}) OR "audit_event"."actor" = {})'
ENTITY_IS = '"audit_event"."entity" = {}'
ACTION_IN = '"audit_event"."action" IN ({})'
AT_FROM = '"audit_event"."at" >= {}'
AT_BEFORE = '"audit_event"."at" < {}'


async def audit_filter(request: Request[Any, Any, Any], actor: Actor) -> AuditFilter:
    """The office's scope and the chosen filters, shared by the page and its export."""
    query = dict(request.query_params)
    conditions: list[SQL] = []
    visible = await visible_conference_ids(actor)
    if visible is not None:  # its conferences' records and its own actions; the admin sees all
        conditions.append(SQL(SCOPE, ids(visible), actor.id))
    if query.get("entity") in labels.ENTITY_LABELS:
        conditions.append(SQL(ENTITY_IS, query["entity"]))
    if query.get("action") in labels.ACTION_LABELS:
        conditions.append(SQL(ACTION_IN, listed(labels.action_codes(query["action"]))))
    tz = get_settings().tz
    if start := parse_day(query.get("start")):
        conditions.append(SQL(AT_FROM, dt.datetime.combine(start, dt.time(), tz)))
    if end := parse_day(query.get("end")):
        conditions.append(SQL(AT_BEFORE, dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz)))
    where: Any = RawWhere(" AND ".join(["{}"] * len(conditions)), *conditions) if conditions else None
    if q := (query.get("q") or "").replace("\x00", "").strip()[:100]:
        # Piccolo's ILIKE (LIKE on SQLite, which has no ILIKE and matches ASCII case-insensitively anyway)
        match = AuditEvent.actor_name.ilike(f"%{escape_like(q)}%")
        where = match if where is None else (where & match)
    if "sort" not in query:  # newest first
        query["desc"] = "1"
    chosen = {k: query[k] for k in ("entity", "action", "start", "end", "q") if query.get(k)}
    return AuditFilter(where, query, chosen)


@get("/audit", opt={"roles": OFFICE_ROLES})
async def audit_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    with read_once():  # the filter and the records' links ask for the same scope
        flt = await audit_filter(request, actor)
        # The person filter is already in `flt.where` (the export uses it too).
        page = await paginate(AuditEvent, [], {k: v for k, v in flt.query.items() if k != "q"}, search=[],
                              sorts={"at": AuditEvent.at}, default_sort="at", where=flt.where)
        page.q = flt.chosen.get("q", "")
        page.extra = {k: v for k, v in flt.chosen.items() if k != "q"}
        entries = await views.present(actor, page.rows)
    return render(request, "audit/list.html", page=page, entries=entries, filters=flt.query,
                  entity_labels=labels.ENTITY_LABELS, action_labels=labels.ACTION_LABELS,
                  xlsx_url="/audit.xlsx?" + urllib.parse.urlencode(flt.chosen), export_limit=EXPORT_LIMIT)


@get("/audit.xlsx", opt={"roles": OFFICE_ROLES})
async def audit_xlsx(request: Request[Any, Any, Any], actor: CurrentActor) -> Response[bytes]:
    """The filtered trail, newest first, as the page shows it: one line per changed field."""
    with read_once():  # the filter and the records' links ask for the same scope
        flt = await audit_filter(request, actor)
        select = AuditEvent.select().order_by(AuditEvent.at, ascending=False).order_by(AuditEvent.id, ascending=False)
        if flt.where is not None:
            select = select.where(flt.where)
        rows = await select.limit(EXPORT_LIMIT + 1)
        if len(rows) > EXPORT_LIMIT:
            raise Conflict(_("符合条件的记录超过 {n} 条，请缩小筛选范围后再导出。").format(n=EXPORT_LIMIT))
        cells = [views.export_row(entry) for entry in await views.present(actor, rows)]
    stamp = today().strftime("%Y%m%d")
    heading = Heading(_("操作日志"), views.export_subtitle(flt.chosen, len(cells)), ())
    content = await workers.run(xlsx_bytes, _("操作日志"), views.EXPORT_COLUMNS, cells, heading=heading)
    return Response(content=content, media_type=XLSX_TYPE, headers={
        "Content-Disposition": download_disposition(_("操作日志_{stamp}.xlsx").format(stamp=stamp),
                                                    ascii_name=f"audit-{stamp}.xlsx"),
        "Cache-Control": "no-store"})


# Pages, not API operations: kept out of the OpenAPI schema as a group (/audit and its export /audit.xlsx).
ROUTES: list[Any] = [Router("/", route_handlers=[audit_page, audit_xlsx], include_in_schema=False)]
