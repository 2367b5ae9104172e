"""The audit trail's vocabulary in Chinese: what each kind of record, action code and field is
called, and the labels of the codes stored in field values (statuses, kinds, roles, ratings), taken
from the domains that own them. Reading and presenting events is conference.audit.views."""

from __future__ import annotations

from collections.abc import Mapping

from conference.agenda.states import CATEGORY_LABELS, ITEM_STATUS_LABELS, OUTCOME_LABELS, URGENCY_LABELS
from conference.holidays.services import KIND_LABELS as HOLIDAY_KIND_LABELS
from conference.i18n import gettext as _
from conference.meetings.services import ATTENDANCE_LABELS
from conference.meetings.services import (
    KIND_LABELS as MEETING_KIND_LABELS,
)
from conference.meetings.services import ROLE_LABELS as INVITATION_ROLE_LABELS
from conference.meetings.states import MEETING_STATUS_LABELS, REPLY_LABELS, REQUEST_STATUS_LABELS
from conference.minutes.services import COMMENT_LABELS, SECTION_LABELS
from conference.minutes.states import MINUTES_STATUS_LABELS
from conference.notifications.states import MAIL_STATUS_LABELS
from conference.registry.services import KIND_LABELS as UNIT_KIND_LABELS
from conference.registry.services import LEVEL_LABELS
from conference.roles import ROLE_LABELS as ACCOUNT_ROLE_LABELS
from conference.tasks.states import EXTENSION_LABELS, RATING_LABELS, TASK_STATUS_LABELS
from conference.tasks.states import ROLE_LABELS as TASK_ROLE_LABELS

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
