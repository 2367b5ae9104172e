"""Notification pages: a unit's or street's own messages, and the outbox for the office."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from conference.i18n import gettext as _
from conference.mail.services import scope as mail_scope
from conference.notifications.services import STATUS_LABELS, mask_links, recent_for
from conference.notifications.tables import Notification
from conference.web.auth import actor_of
from conference.web.listing import paginate
from conference.web.templating import render

EVENT_LABELS = {
    "meeting_notified": _("会议通知"),
    "meeting_updated": _("会议变更"),
    "meeting_cancelled": _("会议取消"),
    "meeting_uninvited": _("参会调整"),
    "special_request_decided": _("专题会议提请审批"),
    "item_submitted": _("议题已提交"),
    "item_accepted": _("议题已受理"),
    "item_returned": _("议题被退回"),
    "item_merged": _("议题已合并"),
    "item_scheduled": _("议题已列入会议"),
    "item_resolved": _("议题已议定"),
    "item_discussed": _("议题已研究"),
    "item_deferred": _("议题暂缓"),
    "task_assigned": _("督办任务交办"),
    "task_closed": _("督办任务销号"),
    "task_returned": _("督办任务退回重办"),
    "task_cancelled": _("督办任务撤销"),
    "task_reopened": _("督办任务重新办理"),
    "task_link_resent": _("督办任务办理链接"),
    "task_rating_link_resent": _("督办任务评价链接"),
    "account_set_password": _("账号开通"),
    "account_reset_password": _("重置密码"),
    "task_extension_approved": _("延期申请已同意"),
    "task_extension_declined": _("延期申请未同意"),
    "reminder_red": _("催办：已逾期"),
    "reminder_yellow": _("催办：即将到期"),
    "reminder_unack": _("催办：超时未签收"),
    "minutes_submitted": _("纪要送审"),
    "minutes_returned": _("纪要退回修改"),
    "minutes_published": _("会议纪要印发"),
    "minutes_corrected": _("会议纪要更正"),
}
RECENT_LIMIT = 50
N = Notification


@get("/notifications", opt={"roles": ("unit", "street")}, include_in_schema=False)
async def my_notifications(request: Request[Any, Any, Any]) -> Template:
    actor = actor_of(request)
    if actor.role == "unit":
        rows = await recent_for(unit_id=actor.unit_id, limit=RECENT_LIMIT) if actor.unit_id else []
    else:
        rows = await recent_for(street_id=actor.street_id, limit=RECENT_LIMIT) if actor.street_id else []
    return render(request, "notifications/list.html", notifications=rows, event_labels=EVENT_LABELS, limit=RECENT_LIMIT)


@get("/outbox", opt={"roles": ("admin", "office")}, include_in_schema=False)
async def outbox(request: Request[Any, Any, Any]) -> Template:
    actor = actor_of(request)
    query = dict(request.query_params)
    where = await mail_scope(actor)
    filters: dict[str, str] = {}
    status = query.get("status", "")
    if status in STATUS_LABELS:
        filters["status"] = status
        where = (N.status == status) if where is None else (where & (N.status == status))
    event = query.get("event", "")
    if event and len(event) <= 40:
        filters["event"] = event
        where = (N.event == event) if where is None else (where & (N.event == event))
    if "sort" not in query:  # newest first
        query["desc"] = "1"
    columns = [
        N.id, N.created_at, N.event, N.email, N.subject, N.body, N.status, N.attempts, N.sent_at, N.last_error,
        N.unit.name.as_alias("unit_name"), N.street.name.as_alias("street_name"),
    ]
    page = await paginate(N, columns, query, search=[N.subject, N.email], sorts={"created": N.id}, default_sort="created",
                          where=where)
    page.extra = filters
    for row in page.rows:
        row["body"] = mask_links(row["body"] or "")
    events = sorted(EVENT_LABELS)  # every event the code queues has a label
    return render(request, "notifications/outbox.html", page=page, filters=filters, events=events,
                  event_labels=EVENT_LABELS, status_labels=STATUS_LABELS)


ROUTES: list[Any] = [my_notifications, outbox]
