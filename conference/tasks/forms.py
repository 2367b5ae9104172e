"""The task page's action forms, each described once (conference.web.formspec): the task page
(templates/tasks/detail.html, and the list's 催办 form) shows their labels and limits through
`PAGE_FIELDS`, the services (conference.tasks.services, conference.tasks.urging) read them through
the spec (the Chinese messages, the same for the page, the personal link and the API), and the
API bodies (conference.tasks.api) are derived from them, their JSON types checked by `json_fields`.

A comment or reason is required only in some cases (declining an extension, a dissatisfied
rating): the service reads that field with `required` set for the case (dataclasses.replace).
"""

from __future__ import annotations

from typing import Any

from conference.i18n import gettext as _
from conference.tasks.states import RATING_LABELS
from conference.web.formspec import FieldSpec, FormSpec

# The unit's reports (multipart over the API, with files: conference.tasks.api.ReportForm).
PROGRESS_FORM = FormSpec((FieldSpec("text", _("进展情况"), "multiline", required=True, max_length=5000),))
DONE_FORM = FormSpec((FieldSpec("evidence", _("办结情况及佐证"), "multiline", required=True, max_length=5000),))
EXTENSION_FORM = FormSpec((
    FieldSpec("extension_deadline", _("申请延期至"), "date", required=True),
    FieldSpec("extension_reason", _("延期理由"), "multiline", required=True, max_length=2000),
))
# The office's decision: approve and decline are two buttons on the page, `approve` in the API body.
DECISION_FORM = FormSpec((
    FieldSpec("approve", _("是否同意"), "bool", required=True, on="api"),
    FieldSpec("comment", _("审批意见"), "multiline", max_length=1000, help=_("不同意延期时必须填写意见。")),
))
CLOSE_FORM = FormSpec((FieldSpec("comment", _("销号意见"), "multiline", max_length=1000),))
RETURN_FORM = FormSpec((FieldSpec("reason", _("退回理由"), "multiline", required=True, max_length=1000),))
CANCEL_FORM = FormSpec((FieldSpec("reason", _("撤销理由"), "multiline", required=True, max_length=1000),))
REOPEN_FORM = FormSpec((
    FieldSpec("reason", _("重新办理的要求"), "multiline", required=True, max_length=1000),
    FieldSpec("deadline", _("新的办结期限"), "date", required=True),
))
RATING_FORM = FormSpec((
    FieldSpec("rating", _("评价"), "choice", required=True, choices=RATING_LABELS),
    FieldSpec("rating_comment", _("评价意见"), "multiline", max_length=1000, help=_("评价为“不满意”时必须填写意见。")),
))
URGE_MESSAGE = FieldSpec("message", _("催办意见"), "multiline", required=True, max_length=1000,
                         help=_("通过邮件发送给承办单位联络员，记入办理记录和操作日志。"))
URGE_FORM = FormSpec((URGE_MESSAGE,))
# 催办 of the tasks ticked on the list: the ids (checked by conference.tasks.urging) and one message.
URGE_MANY_FORM = FormSpec((FieldSpec("tasks", _("任务"), "ids", required=True, on="api"), URGE_MESSAGE))

# A resolution (议定事项), adopted on the meeting page (conference.tasks.resolutions) and corrected
# there or over the API (conference.tasks.amend, ResolutionPatch): the deadline is a date or a number
# of working days after the meeting, whichever `deadline_mode` says (that one is then required); the
# cooperating units are ticked on the page, a list of ids in the API.
DEADLINE_MODES = {"date": _("指定日期"), "workdays": _("会后工作日数")}
RESOLUTION_FORM = FormSpec((
    FieldSpec("text", _("议定事项内容"), "multiline", required=True, max_length=2000),
    FieldSpec("lead_unit", _("牵头单位"), "ref", required=True),
    FieldSpec("cooperating", _("配合单位"), "ids", on="api"),
    FieldSpec("deadline_mode", _("期限方式"), "choice", required=True, choices=DEADLINE_MODES),
    FieldSpec("deadline", _("办结期限"), "date"),
    FieldSpec("deadline_workdays", _("工作日数"), "int", max_length=4, help=_("1 到 365")),
))
RESOLUTION_EDIT_FORM = FormSpec((
    *RESOLUTION_FORM.fields,
    FieldSpec("note", _("备注"), "multiline", max_length=2000),
    FieldSpec("reason", _("修改原因"), "multiline", required=True, max_length=1000,
              help=_("将随通知发给相关承办单位，例如：召集人审签纪要时要求增加配合单位。")),
))

# The task page's forms by the name it gives them (its fields are f-<form>-<field>), and the
# Field of each field they show, for the template's labels and maxlengths.
FORMS = {"progress": PROGRESS_FORM, "done": DONE_FORM, "extension": EXTENSION_FORM, "decision": DECISION_FORM,
         "close": CLOSE_FORM, "return": RETURN_FORM, "cancel": CANCEL_FORM, "reopen": REOPEN_FORM,
         "rate": RATING_FORM, "urge": URGE_FORM}
PAGE_FIELDS: dict[str, dict[str, Any]] = {
    name: {f.name: f for f in spec.page_fields()} for name, spec in FORMS.items()}
