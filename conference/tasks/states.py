"""A task's states (and the groups of them the rules name), roles, ratings, extension states and
report kinds, with their Chinese labels."""

from enum import StrEnum

from conference.i18n import gettext as _


class TaskStatus(StrEnum):
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    REPORTED_DONE = "reported_done"
    RETURNED = "returned"
    CLOSED = "closed"
    CANCELLED = "cancelled"


TASK_STATUS_LABELS: dict[str, str] = {
    TaskStatus.ASSIGNED: _("待签收"), TaskStatus.ACKNOWLEDGED: _("已签收"), TaskStatus.IN_PROGRESS: _("办理中"),
    TaskStatus.REPORTED_DONE: _("已报办结"), TaskStatus.RETURNED: _("退回重办"), TaskStatus.CLOSED: _("已销号"),
    TaskStatus.CANCELLED: _("已撤销"),
}
ROLE_LABELS = {"lead": _("牵头单位"), "cooperate": _("配合单位")}
RATING_LABELS = {"satisfied": _("满意"), "basically_satisfied": _("基本满意"), "dissatisfied": _("不满意")}
EXTENSION_LABELS = {"": "", "requested": _("延期申请中"), "approved": _("已同意延期"), "declined": _("未同意延期")}
REPORT_LABELS = {
    "assigned": _("交办"), "acknowledged": _("签收"), "progress": _("进展"), "done": _("报办结"), "returned": _("退回重办"),
    "closed": _("销号"), "cancelled": _("撤销"), "extension_requested": _("申请延期"), "extension_approved": _("同意延期"),
    "extension_declined": _("不同意延期"), "rated": _("街道评价"), "reopened": _("重新办理"),
    "deadline_recomputed": _("期限重算"), "amended": _("议定事项修改"),
    "urge": _("催办"),  # manual, by the office (conference.tasks.urging)
}
OPEN = (TaskStatus.ASSIGNED, TaskStatus.ACKNOWLEDGED, TaskStatus.IN_PROGRESS, TaskStatus.REPORTED_DONE,
        TaskStatus.RETURNED)
WORKING = (TaskStatus.ACKNOWLEDGED, TaskStatus.IN_PROGRESS, TaskStatus.RETURNED)
