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
from conference.web.listing import paginate, parse_day
from conference.web.templating import render

ENTITY_LABELS = {
    "street": _("街道"), "conference": _("联席会议"), "member_unit": _("成员单位"), "membership": _("成员资格"),
    "person": _("召集人"), "convenor_appointment": _("召集人任命"), "user": _("账号"), "meeting": _("会议"),
    "invitation": _("参会邀请"), "special_request": _("专题会议提请"), "agenda_item": _("议题"),
    "resolution": _("议定事项"), "task": _("督办任务"), "minutes": _("会议纪要"), "calendar_feed": _("日历订阅"),
    "notification": _("邮件"),
}
ACTION_LABELS = {
    "create": _("新建"), "update": _("修改"), "end": _("结束/撤销"), "import": _("导入"),
    "issue_token": _("生成接口令牌"), "change_password": _("修改密码"), "reset_password": _("重置密码"),
    "notify": _("发送会议通知"), "renotify": _("发送变更通知"), "reschedule": _("变更时间地点"), "hold": _("标记已召开"),
    "cancel": _("取消"), "invite": _("邀请单位"), "uninvite": _("移除受邀单位"), "revoke_token": _("作废回执链接"),
    "reply": _("回执"), "sign_in": _("签到"), "approve": _("同意"), "decline": _("不同意"),
    "submit": _("提交"), "accept": _("受理"), "return": _("退回"), "merge": _("合并"), "schedule": _("列入议程"),
    "unschedule": _("撤出议程"), "move": _("调整议程顺序"), "attach": _("上传附件"), "discussed": _("记为已研究"),
    "resolved": _("记为已解决"), "deferred": _("记为暂缓"), "not_discussed": _("记为未及研究"),
    "assign": _("交办"), "acknowledged": _("签收"), "progress": _("报送进展"), "done": _("报办结"), "closed": _("销号"),
    "returned": _("退回重办"), "cancelled": _("撤销任务"), "reopened": _("重新办理"), "rated": _("街道评价"),
    "extension_requested": _("申请延期"), "extension_approved": _("同意延期"), "extension_declined": _("不同意延期"),
    "save_version": _("保存纪要版本"), "comment": _("审阅意见"), "publish": _("印发纪要"), "start_correction": _("更正纪要"),
    "minutes_submitted": _("纪要送审"), "minutes_published": _("纪要印发"), "issue_feed": _("生成日历订阅地址"),
    "revoke_feed": _("作废日历订阅地址"), "mail_retry": _("重新投递邮件"),
}


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
    if start := parse_day(query.get("start")):
        both(AuditEvent.at >= dt.datetime.combine(start, dt.time(), tz))
    if end := parse_day(query.get("end")):
        both(AuditEvent.at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz))
    if "sort" not in query:  # newest first
        query["desc"] = "1"
    page = await paginate(AuditEvent, [], query, search=[AuditEvent.actor_name], sorts={"at": AuditEvent.at},
                          default_sort="at", where=where)
    page.extra = {k: query[k] for k in ("entity", "action", "start", "end") if query.get(k)}
    return render(request, "audit/list.html", page=page, filters=query,
                  entity_labels=ENTITY_LABELS, action_labels=ACTION_LABELS)


ROUTES = [audit_page]
