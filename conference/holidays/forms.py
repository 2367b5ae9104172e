"""The holiday calendar's forms, each described once (conference.web.formspec): the page's two forms
(a holiday range, a make-up working day) take their labels and limits from these specs, the service
reads them through the spec (the Chinese messages), and the API body HolidayIn
(conference.holidays.api) is derived from both, its JSON types checked by `json_fields`.
"""

from __future__ import annotations

from conference.i18n import gettext as _
from conference.web.formspec import FieldSpec, FormSpec

KIND_LABELS = {"holiday": _("放假"), "workday": _("调休上班")}

# 登记放假: a range of days off (one day when the end is left empty).
HOLIDAY_FORM = FormSpec((
    FieldSpec("name", _("节日名称"), required=True, max_length=20),
    FieldSpec("start", _("放假开始日期"), "date", required=True),
    FieldSpec("end", _("放假结束日期"), "date"),
))
# 登记调休上班日: one weekend day worked, and the holiday it makes up for.
WORKDAY_FORM = FormSpec((
    FieldSpec("day", _("调休上班日期"), "date", required=True),
    FieldSpec("name", _("对应节日"), required=True, max_length=20),
))
# The API takes either in one body: its kind, the name, and the dates of that kind.
HOLIDAY_BODY = FormSpec((
    FieldSpec("kind", _("登记类型"), "choice", required=True, choices=KIND_LABELS, on="api"),
    *HOLIDAY_FORM.fields,
    WORKDAY_FORM["day"],
))
