"""The audit trail as office staff read it: Chinese field names, values as the rest of the UI labels
them (statuses, ratings, units by name, times in Asia/Shanghai), each change as before → after, and
each record named by its title and linked to its page when the viewer may open that page.

The trail stores codes and ids (`audit.services.record`); everything here is presentation, read in
a fixed number of queries per page (one per kind of record named on it), never one per row.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.accounts.services import ROLE_LABELS as ACCOUNT_ROLE_LABELS
from conference.agenda.states import CATEGORY_LABELS, OUTCOME_LABELS, URGENCY_LABELS
from conference.agenda.states import STATUS_LABELS as ITEM_STATUS_LABELS
from conference.db import fetch, int_list
from conference.holidays.services import KIND_LABELS as HOLIDAY_KIND_LABELS
from conference.i18n import gettext as _
from conference.meetings.services import (
    ATTENDANCE_LABELS,
    REPLY_LABELS,
    REQUEST_STATUS_LABELS,
)
from conference.meetings.services import (
    KIND_LABELS as MEETING_KIND_LABELS,
)
from conference.meetings.services import ROLE_LABELS as INVITATION_ROLE_LABELS
from conference.meetings.services import STATUS_LABELS as MEETING_STATUS_LABELS
from conference.minutes.services import COMMENT_LABELS, SECTION_LABELS
from conference.minutes.services import STATUS_LABELS as MINUTES_STATUS_LABELS
from conference.notifications.services import STATUS_LABELS as MAIL_STATUS_LABELS
from conference.registry.services import KIND_LABELS as UNIT_KIND_LABELS
from conference.registry.services import LEVEL_LABELS
from conference.spreadsheets import Column
from conference.tasks.states import EXTENSION_LABELS, RATING_LABELS
from conference.tasks.states import ROLE_LABELS as TASK_ROLE_LABELS
from conference.tasks.states import STATUS_LABELS as TASK_STATUS_LABELS
from conference.timefmt import cn_date, cn_datetime, now

ENTITY_LABELS = {
    "street": _("街道"), "conference": _("联席会议"), "member_unit": _("成员单位"), "membership": _("成员资格"),
    "person": _("召集人"), "convenor_appointment": _("召集人任命"), "user": _("账号"), "meeting": _("会议"),
    "invitation": _("参会邀请"), "special_request": _("专题会议提请"), "agenda_item": _("议题"),
    "resolution": _("议定事项"), "task": _("督办任务"), "minutes": _("会议纪要"), "calendar_feed": _("日历订阅"),
    "notification": _("邮件"), "holiday_day": _("节假日安排"), "assessment_score": _("考核得分"),
}
# One label per action code, each label used once: the action filter lists these. Codes that name
# the same act on a second record are folded into one code by ACTION_ALIASES below.
ACTION_LABELS = {
    "create": _("新建"), "update": _("修改"), "end": _("结束/撤销"), "delete": _("删除"), "import": _("导入"),
    "issue_token": _("生成接口令牌"), "change_password": _("修改密码"), "reset_password": _("重置密码"),
    "notify": _("发送会议通知"), "renotify": _("发送变更通知"), "reschedule": _("变更时间地点"), "hold": _("标记已召开"),
    "cancel": _("取消会议"), "invite": _("邀请单位"), "uninvite": _("移除受邀单位"), "reconfirm": _("变更后待重新确认"), "revoke_token": _("作废回执链接"),
    "reply": _("回执"), "sign_in": _("签到"), "approve": _("同意/签发"), "decline": _("不同意"),
    "submit": _("提交/送审"), "accept": _("受理"), "return": _("退回"), "merge": _("合并"), "schedule": _("列入议程"),
    "unschedule": _("撤出议程"), "move": _("调整议程顺序"), "attach": _("上传附件"), "detach": _("删除附件"),
    "discussed": _("记为已研究"), "resolved": _("记为已解决"), "deferred": _("记为暂缓"),
    "not_discussed": _("记为未及研究"), "amend": _("修改议定事项"), "amend_units": _("调整承办单位"),
    "amended": _("随议定事项调整"), "assign": _("交办"), "acknowledged": _("签收"), "progress": _("报送进展"),
    "done": _("报办结"), "closed": _("销号"), "returned": _("退回重办"), "cancelled": _("撤销任务"),
    "reopened": _("重新办理"), "rated": _("街道评价"), "urge": _("催办"), "extension_requested": _("申请延期"),
    "extension_approved": _("同意延期"), "extension_declined": _("不同意延期"),
    "recompute_deadline": _("按节假日重算期限"), "save_version": _("保存纪要版本"), "comment": _("审阅意见"),
    "publish": _("印发纪要"), "number": _("编发文号"), "start_correction": _("更正纪要"), "issue_feed": _("生成日历订阅地址"),
    "revoke_feed": _("作废日历订阅地址"), "mail_retry": _("重新投递邮件"),
    "skip_notice": _("变更不通知"), "propose_items": _("提请议题"),
    "activate": _("启用账号"), "deactivate": _("停用账号"), "send_reset_link": _("发送重置密码链接"),
    "request_reset_link": _("申请重置密码链接（忘记密码）"), "set_password": _("凭链接设置密码"),
    "reset_password_by_link": _("凭链接重置密码"), "resend_link": _("重发办理链接"), "revoke_link": _("作废办理链接"),
    "enable": _("启用推送地址"), "disable": _("停用推送地址"), "new_secret": _("更换签名密钥"),
    "redeliver": _("重新推送"),
}
# Publishing (and submitting) minutes also moves the meeting's status, recorded on the meeting under
# its own code: the same act, so it is listed, filtered and labelled as that act.
ACTION_ALIASES = {"minutes_published": "publish", "minutes_submitted": "submit"}
# Where a code means something more precise on one kind of record.
ENTITY_ACTION_LABELS = {
    ("minutes", "approve"): _("签发纪要"), ("minutes", "submit"): _("纪要送审"), ("meeting", "submit"): _("纪要送审"),
    ("minutes", "return"): _("退回纪要"), ("agenda_item", "return"): _("退回议题"), ("agenda_item", "submit"): _("提交议题"),
    ("special_request", "approve"): _("同意召开专题会议"), ("special_request", "decline"): _("不同意召开专题会议"),
    ("member_unit", "end"): _("撤销单位"), ("membership", "end"): _("结束成员资格"),
    ("convenor_appointment", "end"): _("结束任命"),
}


def action_codes(action: str) -> list[str]:
    """The stored codes a filter on `action` matches: the code and the codes folded into it."""
    return [action, *(code for code, target in ACTION_ALIASES.items() if target == action)]


def action_label(entity: str, action: str) -> str:
    action = ACTION_ALIASES.get(action, action)
    return ENTITY_ACTION_LABELS.get((entity, action)) or ACTION_LABELS.get(action, action)


FIELD_LABELS = {
    "name": _("名称"), "title": _("标题"), "status": _("状态"), "kind": _("类别"), "created_at": _("创建时间"),
    "conference": _("联席会议"), "street": _("街道"), "unit": _("成员单位"), "meeting": _("会议"), "item": _("议题"),
    "person": _("召集人"), "district": _("所属县区"), "phone": _("联系电话"), "email": _("电子邮箱"),
    "secretary_name": _("党工委书记"), "level": _("层级"), "parent": _("上级联席会议"), "office_email": _("办公室邮箱"),
    "office_contact": _("办公室联系人"), "office_phone": _("办公室电话"), "requirements": _("参会要求"),
    "reply_deadline": _("回执截止时间"), "notice_number": _("通知文号"),
    "doc_prefix": _("发文机关代字"), "doc_number": _("文号"),
    "duties": _("职责任务"), "leader_name": _("分管负责人"), "liaison_name": _("联络员"),
    "liaison_email": _("联络员邮箱"), "liaison_phone": _("联络员电话"), "parent_unit": _("上级单位"),
    "ended_on": _("撤销日期"), "start_date": _("开始日期"), "end_date": _("结束日期"), "username": _("用户名"),
    "display_name": _("姓名"), "role": _("角色"), "starts_at": _("开始时间"), "ends_at": _("结束时间"),
    "location": _("地点"), "notes": _("备注"), "presiding": _("主持召集人"), "sequence": _("通知版本"),
    "uid": _("日历标识"), "notified_at": _("通知时间"), "cancel_reason": _("取消原因"), "reply": _("回执"),
    "attendee_name": _("参会人"), "attendee_title": _("参会人职务"), "leave_reason": _("请假事由"),
    "replied_at": _("回执时间"), "attendance": _("出席情况"), "signed_in_at": _("签到时间"),
    "token_revoked": _("回执链接已作废"), "category": _("类别"), "description": _("情况说明"),
    "urgency": _("紧急程度"), "outcome": _("研究结果"), "position": _("议程顺序"), "meetings_waited": _("已等待会议次数"),
    "merged_into": _("合并至"), "return_reason": _("退回理由"), "submitted_at": _("提交时间"),
    "submitted_by": _("提交人"), "text": _("内容"), "lead_unit": _("牵头单位"), "cooperating": _("配合单位"),
    "units": _("单位"), "items": _("议题"), "owner_conference": _("登记的联席会议"), "deadline": _("办结期限"), "deadline_workdays": _("期限（工作日）"),
    "deadline_provisional": _("期限暂定"), "number": _("序号"), "adopted_at": _("议定时间"), "adopted_by": _("记录人"),
    "acknowledged_at": _("签收时间"), "reported_done_at": _("报办结时间"), "closed_at": _("销号时间"),
    "evidence": _("办结情况"), "extension_status": _("延期申请"), "extension_deadline": _("申请延至"),
    "extension_reason": _("延期理由"), "rating": _("评价"), "rating_comment": _("评价意见"), "rated_at": _("评价时间"),
    "reopened": _("重新办理次数"), "ack_due": _("签收期限"), "reason": _("理由"), "proposed_date": _("建议日期"),
    "proposed_items": _("拟议事项"), "decided_at": _("审批时间"), "decided_by": _("审批人"),
    "decision_comment": _("审批意见"), "requested_by": _("提请人"), "current_version": _("当前版本"),
    "submitted_version": _("送审版本"), "published_version": _("印发版本"), "issue_year": _("文号年份"),
    "issue_number": _("文号序号"), "correction_reason": _("更正原因"), "section": _("段落"), "seq": _("印发次序"),
    "version": _("版本"), "sha256": _("文件校验值"), "filename": _("文件名"), "size": _("文件大小"),
    "comment": _("意见"), "day": _("日期"), "year": _("年度"), "score": _("得分"), "note": _("说明"),
    "entered_by": _("录入人"), "subject": _("邮件主题"), "attempts": _("投递次数"), "reason_text": _("理由"),
    "external_ref": _("外部系统编号"), "external_source": _("来源系统"), "attachment": _("附件"),
    "active": _("启用"), "sessions_ended": _("结束的登录会话数"), "message": _("催办内容"), "urge_count": _("催办次数"),
    "holder": _("链接持有人"), "ended": _("作废链接数"), "revoked": _("已作废"), "revoked_at": _("作废时间"),
    "last_error": _("最近一次错误"), "fields": _("变更项目"), "rows": _("数据行数"), "created": _("新建数量"),
    "rejected": _("未导入数量"), "rejected_rows": _("未导入的行"), "conference_id": _("联席会议"),
    "url": _("接收地址"), "events": _("推送事件"), "changed_at": _("修改时间"), "expires_at": _("有效期至"),
    "assigned_at": _("交办时间"), "resolution": _("议定事项"), "notified_sequence": _("已通知版本"),
    "entered_at": _("录入时间"), "entered_by_name": _("录入人"), "uploaded_by": _("上传人"),
    "uploaded_by_name": _("上传人"), "content_type": _("文件类型"), "published_at": _("印发时间"),
    "published_by": _("印发人"), "published_by_name": _("印发人"), "version_number": _("版本号"),
}
ENTITY_FIELD_LABELS = {
    ("person", "name"): _("姓名"), ("person", "title"): _("职务"), ("convenor_appointment", "title"): _("职务"),
    ("meeting", "kind"): _("会议类型"), ("member_unit", "kind"): _("单位类别"), ("minutes", "kind"): _("意见类型"),
    ("meeting", "title"): _("会议名称"), ("agenda_item", "title"): _("议题名称"), ("resolution", "text"): _("议定事项内容"),
    ("minutes", "text"): _("纪要正文"), ("task", "role"): _("承办角色"), ("invitation", "role"): _("参会身份"),
    ("holiday_day", "kind"): _("安排"), ("holiday_day", "name"): _("节日"), ("conference", "street"): _("所属街道"),
    ("agenda_item", "meeting"): _("列入会议"), ("special_request", "meeting"): _("召开的会议"),
    ("agenda_item", "street"): _("提请街道"),
}


def field_label(entity: str, name: str) -> str:
    return ENTITY_FIELD_LABELS.get((entity, name)) or FIELD_LABELS.get(name) or name


# Codes shown as the rest of the UI shows them: (entity, field) first, then the field anywhere.
VALUE_LABELS: dict[tuple[str, str], Mapping[str, str]] = {
    ("agenda_item", "status"): ITEM_STATUS_LABELS, ("task", "status"): TASK_STATUS_LABELS,
    ("meeting", "status"): MEETING_STATUS_LABELS, ("minutes", "status"): MINUTES_STATUS_LABELS,
    ("special_request", "status"): REQUEST_STATUS_LABELS, ("notification", "status"): MAIL_STATUS_LABELS,
    ("meeting", "kind"): MEETING_KIND_LABELS, ("member_unit", "kind"): UNIT_KIND_LABELS,
    ("holiday_day", "kind"): HOLIDAY_KIND_LABELS, ("task", "role"): TASK_ROLE_LABELS,
    ("user", "role"): ACCOUNT_ROLE_LABELS, ("invitation", "role"): INVITATION_ROLE_LABELS,
    ("minutes", "section"): {**SECTION_LABELS, "": _("全文")}, ("minutes", "kind"): COMMENT_LABELS,
    ("*", "rating"): RATING_LABELS, ("*", "extension_status"): EXTENSION_LABELS, ("*", "level"): LEVEL_LABELS,
    ("*", "category"): CATEGORY_LABELS, ("*", "urgency"): URGENCY_LABELS, ("*", "outcome"): OUTCOME_LABELS,
    ("*", "reply"): REPLY_LABELS, ("*", "attendance"): ATTENDANCE_LABELS,
}
# Fields holding the id of another record, by the kind of record: shown by its name.
REFERENCE_FIELDS = {
    "unit": "unit", "lead_unit": "unit", "parent_unit": "unit", "cooperating": "unit", "units": "unit",
    "conference": "conference", "parent": "conference", "owner_conference": "conference", "street": "street", "meeting": "meeting", "item": "item",
    "merged_into": "item", "items": "item", "person": "person", "presiding": "person", "adopted_by": "user", "submitted_by": "user",
    "requested_by": "user", "decided_by": "user", "entered_by": "user",
}
NAME_QUERIES = {
    "unit": "SELECT id, name FROM member_unit WHERE id IN ({ids})",
    "conference": "SELECT id, name FROM conference WHERE id IN ({ids})",
    "street": "SELECT id, name FROM street WHERE id IN ({ids})",
    "meeting": "SELECT id, title AS name FROM meeting WHERE id IN ({ids})",
    "item": "SELECT id, title AS name FROM agenda_item WHERE id IN ({ids})",
    "person": "SELECT id, name FROM person WHERE id IN ({ids})",
    "user": "SELECT id, display_name AS name FROM app_user WHERE id IN ({ids})",
}
# Each record named in the trail: its title, the page that shows it, the conference whose office may
# open it. `{ids}` is an int_list; `day` (when selected) is added to the title as a Chinese date.
RECORD_QUERIES = {
    "task": ("""SELECT t.id, i.title || '（' || u.name || '）' AS title, t.conference
                FROM task t JOIN resolution r ON r.id = t.resolution JOIN agenda_item i ON i.id = r.item
                JOIN member_unit u ON u.id = t.unit WHERE t.id IN ({ids})""", "/tasks/{id}"),
    "agenda_item": ("SELECT id, title, conference FROM agenda_item WHERE id IN ({ids})", "/items/{id}"),
    "meeting": ("SELECT id, title, conference FROM meeting WHERE id IN ({ids})", "/meetings/{id}"),
    "resolution": ("""SELECT r.id, m.title || ' · ' || i.title AS title, r.conference, r.meeting
                      FROM resolution r JOIN meeting m ON m.id = r.meeting JOIN agenda_item i ON i.id = r.item
                      WHERE r.id IN ({ids})""", "/meetings/{meeting}"),
    "minutes": ("""SELECT mi.id, m.title AS title, mi.conference, mi.meeting
                   FROM minutes mi JOIN meeting m ON m.id = mi.meeting WHERE mi.id IN ({ids})""",
                "/meetings/{meeting}/minutes"),
    "invitation": ("""SELECT v.id, m.title || ' · ' || u.name AS title, m.conference, v.meeting
                      FROM invitation v JOIN meeting m ON m.id = v.meeting JOIN member_unit u ON u.id = v.unit
                      WHERE v.id IN ({ids})""", "/meetings/{meeting}"),
    "special_request": ("""SELECT q.id, s.name AS title, q.proposed_date AS day, q.conference
                           FROM special_meeting_request q JOIN street s ON s.id = q.street WHERE q.id IN ({ids})""",
                        "/special-requests/{id}"),
    "conference": ("SELECT id, name AS title, id AS conference FROM conference WHERE id IN ({ids})",
                   "/registry/conferences/{id}"),
    "street": ("SELECT id, name AS title FROM street WHERE id IN ({ids})", "/registry/streets/{id}"),
    "member_unit": ("SELECT id, name AS title FROM member_unit WHERE id IN ({ids})", "/registry/units/{id}"),
    "person": ("SELECT id, name AS title FROM person WHERE id IN ({ids})", "/registry/convenors/{id}"),
    "membership": ("""SELECT b.id, u.name || ' · ' || c.name AS title, b.conference
                      FROM membership b JOIN member_unit u ON u.id = b.unit JOIN conference c ON c.id = b.conference
                      WHERE b.id IN ({ids})""", "/registry/conferences/{conference}"),
    "convenor_appointment": ("""SELECT a.id, p.name || ' · ' || c.name AS title, a.conference
                                FROM convenor_appointment a JOIN person p ON p.id = a.person
                                JOIN conference c ON c.id = a.conference WHERE a.id IN ({ids})""",
                             "/registry/conferences/{conference}"),
    "user": ("SELECT id, display_name AS title FROM app_user WHERE id IN ({ids})", "/admin/users"),
    "notification": ("SELECT id, subject AS title, conference FROM notification WHERE id IN ({ids})",
                     "/mail/messages/{id}"),
}
# Who may open the page a record links to, besides the admin: registry records (streets, units,
# convenors) any office; the accounts list nobody else; every other record the offices whose scope
# holds its conference (the same rule as the pages themselves).
OPEN_TO_EVERY_OFFICE = frozenset({"street", "member_unit", "person"})
ADMIN_ONLY = frozenset({"user"})

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMPTY = "—"


@dataclass
class Change:
    label: str
    before: str | None  # None: the field had no earlier value in this event (a creation)
    after: str | None  # None: removed or not written


@dataclass
class Entry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: int
    record: str  # "督办任务" etc.
    title: str  # the record's own title, or "#30" when it is gone
    url: str | None  # None when the viewer may not open it
    changes: list[Change] = field(default_factory=list)


def _loads(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _plain_value(value: Any, labels: Mapping[str, str] | None) -> str:
    """A stored value as text, without looking anything up."""
    if labels is not None and isinstance(value, str) and value in labels:
        return labels[value] or EMPTY
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, str):
        if ISO_DATETIME.match(value):
            try:
                return cn_datetime(dt.datetime.fromisoformat(value))
            except ValueError:
                return value
        if ISO_DATE.match(value):
            try:
                return cn_date(dt.date.fromisoformat(value))
            except ValueError:
                return value
        return value
    if isinstance(value, (list, tuple)):
        return "、".join(_plain_value(v, labels) for v in value) or EMPTY
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class Names:
    """Names of referenced records, read in one query per kind for a whole page."""

    def __init__(self) -> None:
        self.wanted: dict[str, set[int]] = defaultdict(set)
        self.names: dict[str, dict[int, str]] = {}

    def want(self, kind: str, value: Any) -> None:
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31:
                self.wanted[kind].add(v)

    async def load(self) -> None:
        for kind, ids in self.wanted.items():
            rows = await fetch(NAME_QUERIES[kind].format(ids=int_list(ids)))
            self.names[kind] = {int(r["id"]): str(r["name"]) for r in rows}

    def show(self, kind: str, value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return "、".join(self.show(kind, v) for v in value) or EMPTY
        if value is None or value == "":
            return EMPTY
        if isinstance(value, int) and not isinstance(value, bool):
            return self.names.get(kind, {}).get(value) or f"#{value}"
        return str(value)


def _value(names: Names, entity: str, name: str, value: Any) -> str:
    if name in REFERENCE_FIELDS:
        return names.show(REFERENCE_FIELDS[name], value)
    labels = VALUE_LABELS.get((entity, name)) or VALUE_LABELS.get(("*", name))
    return _plain_value(value, labels)


def _changes(names: Names, entity: str, before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    keys = list(dict.fromkeys([*after, *before]))
    return [Change(field_label(entity, k), _value(names, entity, k, before[k]) if k in before else None,
                   _value(names, entity, k, after[k]) if k in after else None) for k in keys]


def _may_open(actor: Actor, entity: str, conference: Any, visible: set[int] | None) -> bool:
    if actor.role == "admin":
        return True
    if actor.role != "office" or entity in ADMIN_ONLY:
        return False
    if entity in OPEN_TO_EVERY_OFFICE:
        return True
    return conference is not None and (visible is None or int(conference) in visible)


async def _records(actor: Actor, events: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], tuple[str, str | None]]:
    """(entity, id) -> (title, url or None): the url only where the viewer may open the page."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if e["entity"] in RECORD_QUERIES:
            wanted[e["entity"]].add(int(e["entity_id"]))
    visible = await visible_conference_ids(actor) if wanted else set()
    out: dict[tuple[str, int], tuple[str, str | None]] = {}
    for entity, ids in wanted.items():
        sql, url = RECORD_QUERIES[entity]
        for r in await fetch(sql.replace("{ids}", int_list(ids))):
            title = str(r["title"]) + (" · " + _("会议纪要") if entity == "minutes" else "")
            if r.get("day"):
                day = r["day"]
                title += " · " + cn_date(day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10]))
            link = url.format(**r) if _may_open(actor, entity, r.get("conference"), visible) else None
            out[(entity, int(r["id"]))] = (title, link)
    return out


async def present(actor: Actor, events: Sequence[Mapping[str, Any]]) -> list[Entry]:
    """The events of one page (or one export) as the audit page shows them."""
    names = Names()
    decoded = []
    for e in events:
        before, after = _loads(e["before"]), _loads(e["after"])
        for side in (before, after):
            for k, v in side.items():
                if k in REFERENCE_FIELDS:
                    names.want(REFERENCE_FIELDS[k], v)
        decoded.append((e, before, after))
    await names.load()
    records = await _records(actor, events)
    entries = []
    for e, before, after in decoded:
        entity, entity_id = str(e["entity"]), int(e["entity_id"])
        title, url = records.get((entity, entity_id), (f"#{entity_id}", None))
        entries.append(Entry(
            id=int(e["id"]), at=e["at"], actor=str(e["actor_name"]), action=action_label(entity, str(e["action"])),
            entity=entity, entity_id=entity_id, record=ENTITY_LABELS.get(entity, entity), title=title, url=url,
            changes=_changes(names, entity, before, after),
        ))
    return entries


def change_text(change: Change) -> str:
    """One change on one line, for the spreadsheet: 字段：前 → 后."""
    if change.before is None:
        return f"{change.label}：{change.after}"
    if change.after is None:
        return f"{change.label}：{change.before} → {EMPTY}"
    return f"{change.label}：{change.before} → {change.after}"


EXPORT_COLUMNS = (
    Column("at", _("时间"), "text", 17), Column("actor", _("操作人"), "text", 14), Column("action", _("操作"), "text", 14),
    Column("record", _("记录类型"), "text", 11), Column("title", _("记录"), "text", 30),
    Column("changes", _("变更内容（修改前 → 修改后）"), "text", 60),
)


def export_row(entry: Entry) -> dict[str, Any]:
    return {"at": cn_datetime(entry.at), "actor": entry.actor, "action": entry.action, "record": entry.record,
            "title": entry.title, "changes": "\n".join(change_text(c) for c in entry.changes)}


def export_subtitle(chosen: Mapping[str, str], total: int) -> str:
    """The filters the file was made with, so that a printed copy says what it holds."""
    parts = []
    if entity := chosen.get("entity"):
        parts.append(_("记录类型：{v}").format(v=ENTITY_LABELS.get(entity, entity)))
    if action := chosen.get("action"):
        parts.append(_("操作：{v}").format(v=ACTION_LABELS.get(action, action)))
    if q := chosen.get("q"):
        parts.append(_("操作人：{v}").format(v=q))
    start, end = chosen.get("start"), chosen.get("end")
    if start or end:
        parts.append(_("日期：{a}至{b}").format(a=_day_text(start), b=_day_text(end)))
    parts.append(_("导出时间：{t}").format(t=cn_datetime(now())))
    parts.append(_("共 {n} 条").format(n=total))
    return "　　".join(parts)


def _day_text(value: str | None) -> str:
    try:
        return cn_date(dt.date.fromisoformat(value)) if value else ""
    except ValueError:
        return ""
