"""The item page's action forms, each described once (conference.web.formspec): the item page
(templates/agenda/detail.html) shows their labels and limits through `PAGE_FIELDS`, the services
(conference.agenda.services, conference.agenda.scheduling) read them through the spec (the Chinese
messages, the same for the page, the list's bulk actions and the API), and the API bodies
(conference.agenda.api) are derived from them, their JSON types checked by `json_fields`. The item
form itself is services.ITEM_FORM; an intake ticket's is intake.TICKET_FORM.

A field's `api_label` is the name the API's type messages have always given it where that differs
from the page's label: the meeting an item is put on (列入会议) is 会议 there.
"""

from __future__ import annotations

from typing import Any

from conference.agenda.states import OUTCOME_LABELS
from conference.i18n import gettext as _
from conference.web.formspec import FieldSpec, FormSpec

RETURN_FORM = FormSpec((FieldSpec("reason", _("退回理由"), "multiline", required=True, max_length=1000),))
# The meetings and items to choose from are the page's (views.item_detail: schedule_meetings, merge_targets).
MERGE_FORM = FormSpec((FieldSpec("into", _("合并到的议题"), "ref", required=True),))
SCHEDULE_FORM = FormSpec((FieldSpec("meeting", _("列入会议"), "ref", required=True, api_label=_("会议")),))
# What a meeting may decide of an item (the page offers those its state allows: views.item_detail).
OUTCOMES = {k: v for k, v in OUTCOME_LABELS.items() if k != "pending"}
OUTCOME_FORM = FormSpec((
    FieldSpec("outcome", _("研究结果"), "choice", required=True, choices=OUTCOMES),
    FieldSpec("note", _("说明"), "multiline", max_length=1000),
))
# Up or down on the meeting's agenda: two buttons on the page (scheduling.move_item checks the value).
MOVE_FORM = FormSpec((FieldSpec("direction", _("调整方向"), "choice", choices={"up": _("上移"), "down": _("下移")}),))

# The item page's forms by name, and the Field of each field they show (labels and maxlengths).
FORMS = {"return": RETURN_FORM, "merge": MERGE_FORM, "schedule": SCHEDULE_FORM, "outcome": OUTCOME_FORM}
PAGE_FIELDS: dict[str, dict[str, Any]] = {
    name: {f.name: f for f in spec.page_fields()} for name, spec in FORMS.items()}
