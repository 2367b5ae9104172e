"""The meeting page's smaller forms, each described once (conference.web.formspec): cancelling a
meeting, inviting a unit, recording sign-in, a unit's reply and a convenor's decision on a
special-meeting request. The pages take their labels and limits from these specs, the services read
the values through them (the Chinese messages), and the API bodies (conference.meetings.api_types)
are derived from them, their JSON types checked by `json_fields`. The meeting form itself is
services.MEETING_FORM, the special-meeting request form special_requests.REQUEST_FORM.
"""

from __future__ import annotations

from conference.i18n import gettext as _
from conference.meetings.services import ATTENDANCE_LABELS, FORM_REPLIES, ROLE_LABELS
from conference.meetings.states import REPLY_LABELS
from conference.web.formspec import FieldSpec, FormSpec

CANCEL_FORM = FormSpec((
    FieldSpec("reason", _("取消原因"), "multiline", required=True, max_length=500),
))
# The unit is picked from the units not yet invited (routes.detail_context lists them).
INVITATION_FORM = FormSpec((
    FieldSpec("unit", _("受邀单位"), "ref", required=True, api_label=_("单位")),
    FieldSpec("role", _("邀请身份"), "choice", required=True, choices=ROLE_LABELS, blank=False),
))
# One unit's row of the sign-in sheet; the sheet may also name who came (出席人), the API does not.
ATTENDANCE_FORM = FormSpec((
    FieldSpec("attendance", _("签到情况"), "choice", required=True, choices=ATTENDANCE_LABELS),
    FieldSpec("attendee_name", _("出席人"), max_length=40, on="page"),
))
# The unit's reply: who attends (name and title, required with 参会 or 委托参会), or leave with a
# reason (required with 请假); the service makes them required by the answer.
REPLY_FORM = FormSpec((
    FieldSpec("reply", _("参会情况"), "choice", required=True, choices={k: REPLY_LABELS[k] for k in FORM_REPLIES}),
    FieldSpec("attendee_name", _("参会人姓名"), max_length=40, help=_("选择“参会”或“委托参会”时填写；委托参会请填写受委托人。")),
    FieldSpec("attendee_title", _("参会人职务"), max_length=60),
    FieldSpec("leave_reason", _("请假事由"), "multiline", max_length=500, help=_("选择“请假”时填写。")),
))
# Approving or declining a special-meeting request: the comment is required when declining.
DECISION_FORM = FormSpec((
    FieldSpec("comment", _("审批意见"), "multiline", max_length=1000),
))
