"""The office's audit page: every change, filterable by record type, action, person and date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.response import Template

from conference.accounts.scope import visible_conference_ids
from conference.audit.tables import AuditEvent
from conference.i18n import gettext as _
from conference.settings import get_settings
from conference.web.auth import actor_of
from conference.web.listing import paginate
from conference.web.templating import render

ENTITY_LABELS = {
    "street": _("街道"), "conference": _("联席会议"), "member_unit": _("成员单位"), "membership": _("成员资格"),
    "person": _("召集人"), "convenor_appointment": _("召集人任命"), "user": _("账号"),
}
ACTION_LABELS = {
    "create": _("新建"), "update": _("修改"), "end": _("结束/撤销"), "import": _("导入"),
    "issue_token": _("生成接口令牌"), "change_password": _("修改密码"),
}


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@get("/audit", opt={"roles": ("admin", "office")}, include_in_schema=False)
async def audit_page(request: Request[Any, Any, Any]) -> Template:
    actor = actor_of(request)
    query = dict(request.query_params)
    where: Any = None

    def both(clause: Any) -> None:
        nonlocal where
        where = clause if where is None else (where & clause)

    visible = await visible_conference_ids(actor)
    if visible is not None:
        both(AuditEvent.conference_id.is_in(list(visible) or [0]) | (AuditEvent.actor == actor.id))
    if query.get("entity") in ENTITY_LABELS:
        both(AuditEvent.entity == query["entity"])
    if query.get("action") in ACTION_LABELS:
        both(AuditEvent.action == query["action"])
    tz = get_settings().tz
    if start := _day(query.get("start")):
        both(AuditEvent.at >= dt.datetime.combine(start, dt.time(), tz))
    if end := _day(query.get("end")):
        both(AuditEvent.at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz))
    page = await paginate(AuditEvent, [], query, search=[AuditEvent.actor_name], sorts={"at": AuditEvent.at},
                          default_sort="at", where=where)
    if "sort" not in query:
        page.desc = True
        page = await paginate(AuditEvent, [], {**query, "desc": "1"}, search=[AuditEvent.actor_name],
                              sorts={"at": AuditEvent.at}, default_sort="at", where=where)
    page.extra = {k: query[k] for k in ("entity", "action", "start", "end") if query.get(k)}
    return render(request, "audit/list.html", page=page, filters=query,
                  entity_labels=ENTITY_LABELS, action_labels=ACTION_LABELS)


ROUTES = [audit_page]
