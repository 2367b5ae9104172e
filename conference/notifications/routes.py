"""Notification pages: a unit's or street's own messages, and the outbox for the office."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import CurrentActor
from conference.i18n import gettext as _
from conference.mail.services import scope as mail_scope
from conference.notifications import inbox
from conference.notifications.services import mask_links
from conference.notifications.states import MAIL_STATUS_LABELS
from conference.notifications.tables import Notification
from conference.roles import NOTIFICATION_READERS, OFFICE_ROLES
from conference.web.listing import paginate
from conference.web.templating import redirect, render

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
N = Notification
READ_STATES = {"unread": _("未读"), "read": _("已读")}


@get("/", opt={"roles": NOTIFICATION_READERS})
async def my_notifications(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    """The message centre: the unit's or street's messages, newest first, 20 a page; ?state=unread
    or ?state=read filters."""
    query = dict(request.query_params)
    mine = inbox.recipient(actor)
    where: Any = (N.id == 0) if mine is None else mine  # an account not tied to a unit or street has no messages
    state = query.get("state", "")
    if state == "unread":
        where = where & N.read_at.is_null()
    elif state == "read":
        where = where & N.read_at.is_not_null()
    query["desc"] = "1"  # newest first, always
    columns = [N.id, N.created_at, N.event, N.subject, N.entity, N.entity_id, N.read_at]
    page = await paginate(N, columns, query, search=[N.subject, N.body], sorts={"created": N.id}, default_sort="created", where=where)
    page.extra = {"state": state} if state in READ_STATES else {}
    records = await inbox.records_for(page.rows)
    for row in page.rows:
        row["record"] = inbox.record_of(row, records)
    return render(request, "notifications/list.html", page=page, state=state, read_states=READ_STATES,
                  event_labels=EVENT_LABELS)


@get("/{notification_id:int}", opt={"roles": NOTIFICATION_READERS})
async def notification_page(request: Request[Any, Any, Any], actor: CurrentActor, notification_id: FromPath[int]) -> Template:
    """One message; opening it marks it read."""
    row = await inbox.open_message(actor, notification_id)
    record = inbox.record_of(row, await inbox.records_for([row]))
    # The badge was counted with the session, before this message was marked read.
    unread = max(0, actor.unread - 1) if row.get("was_unread") else actor.unread
    return render(request, "notifications/detail.html", message=row, record=record,
                  lines=inbox.body_lines(row["body"], record), event_labels=EVENT_LABELS, unread=unread)


@post("/read-all", opt={"roles": NOTIFICATION_READERS})
async def read_all(actor: CurrentActor) -> Redirect:
    count = await inbox.mark_all_read(actor)
    return redirect("/notifications", _("已将 {n} 条消息标为已读。").format(n=count) if count else _("没有未读消息。"))


@get("/", opt={"roles": OFFICE_ROLES})
async def outbox(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    query = dict(request.query_params)
    where = await mail_scope(actor)
    filters: dict[str, str] = {}
    status = query.get("status", "")
    if status in MAIL_STATUS_LABELS:
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
                  event_labels=EVENT_LABELS, status_labels=MAIL_STATUS_LABELS)


# Pages, not API operations: kept out of the OpenAPI schema as groups.
ROUTES: list[Any] = [
    Router("/notifications", route_handlers=[my_notifications, notification_page, read_all], include_in_schema=False),
    Router("/outbox", route_handlers=[outbox], include_in_schema=False),
]
