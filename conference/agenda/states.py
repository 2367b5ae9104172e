"""An agenda item's states, urgencies, categories and outcomes, with their Chinese labels."""

from enum import StrEnum

from conference.i18n import gettext as _


class ItemStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    MERGED = "merged"
    SCHEDULED = "scheduled"
    DISCUSSED = "discussed"
    RESOLVED = "resolved"
    DEFERRED = "deferred"


ITEM_STATUS_LABELS: dict[str, str] = {
    ItemStatus.DRAFT: _("草稿"), ItemStatus.SUBMITTED: _("已提交"), ItemStatus.ACCEPTED: _("已受理"),
    ItemStatus.RETURNED: _("已退回"), ItemStatus.MERGED: _("已合并"), ItemStatus.SCHEDULED: _("已列入议程"),
    ItemStatus.DISCUSSED: _("已研究"), ItemStatus.RESOLVED: _("已解决"), ItemStatus.DEFERRED: _("暂缓，待下次会议"),
}
URGENCY_LABELS = {"normal": _("一般"), "urgent": _("紧急"), "critical": _("特急")}
CATEGORY_LABELS = {
    "urban_management": _("城市管理"), "planning": _("规划建设"), "market": _("市场监管"), "safety": _("安全生产"),
    "environment": _("生态环境"), "public_order": _("社会治安"), "services": _("民生服务"), "other": _("其他"),
}
OUTCOME_LABELS = {"pending": _("待研究"), "discussed": _("已研究"), "resolved": _("已解决"), "deferred": _("暂缓"),
                  "not_discussed": _("未及研究")}
