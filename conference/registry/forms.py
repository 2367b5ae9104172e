"""The registry's forms, each described once (conference.web.formspec): the pages show their fields,
the services read them through the spec (the Chinese messages), and the API bodies
(conference.registry.api_types) are derived from them, their JSON types checked by `json_fields`.

A field's `api_label` is the name the API's type messages have always given it where that differs
from the page's label: the API calls a unit's name 名称 and an appointment's title 职务.
"""

from __future__ import annotations

from conference.i18n import gettext as _
from conference.web.formspec import FieldSpec, FormSpec

LEVEL_LABELS = {"city": _("市级"), "district": _("县区级"), "street": _("街道级")}
KIND_LABELS = {
    "department": _("区直部门"),
    "dispatched_agency": _("派驻机构"),
    "street": _("街道"),
    "other": _("其他"),
}

STREET_FORM = FormSpec((
    FieldSpec("name", _("街道名称"), required=True, max_length=60),
    FieldSpec("district", _("所属县区"), required=True, max_length=60),
    FieldSpec("secretary_name", _("党工委书记"), max_length=40),
    FieldSpec("phone", _("联系电话"), "phone", max_length=20),
))

# `parent` and `street` list the conferences and streets at request time (views.conference_fields).
CONFERENCE_FORM = FormSpec((
    FieldSpec("name", _("联席会议名称"), required=True, max_length=100),
    FieldSpec("level", _("层级"), "choice", required=True, choices=LEVEL_LABELS),
    FieldSpec("parent", _("上级联席会议"), "ref"),
    FieldSpec("street", _("所属街道"), "ref", help=_("仅街道级联席会议需要选择。")),
    FieldSpec("office_email", _("办公室邮箱"), "email", help=_("会议邀请的组织者邮箱。")),
    FieldSpec("office_contact", _("办公室联系人"), max_length=40, help=_("印在会议通知上的联系人。")),
    FieldSpec("office_phone", _("办公室电话"), "phone", max_length=20, help=_("印在会议通知上的联系电话。")),
    FieldSpec("doc_prefix", _("发文机关代字"), max_length=20,
              help=_("例如：兰联办。纪要和会议通知的文号按年编号，如“兰联办〔2026〕6号”；不填则不编文号。")),
))

# `parent_unit` lists the departments at request time (views.unit_fields).
UNIT_FORM = FormSpec((
    FieldSpec("name", _("单位名称"), required=True, max_length=100, api_label=_("名称")),
    FieldSpec("kind", _("单位类别"), "choice", required=True, choices=KIND_LABELS),
    FieldSpec("parent_unit", _("上级单位"), "ref", help=_("派驻机构请选择派出它的区直部门。")),
    FieldSpec("duties", _("职责任务"), "multiline", max_length=2000),
    FieldSpec("liaison_name", _("联络员"), max_length=40),
    FieldSpec("liaison_phone", _("联络员电话"), "phone", max_length=20),
    FieldSpec("liaison_email", _("联络员邮箱"), "email", help=_("会议通知和日历邀请发往此邮箱。")),
    FieldSpec("leader_name", _("分管负责人"), max_length=40),
))
# Ending (撤销) a unit: the day, and over the API the version read (optional).
UNIT_END_FORM = FormSpec((
    FieldSpec("ended_on", _("撤销日期"), "date", required=True),
    FieldSpec("version", _("版本"), "int", on="api"),
))

# The convenor (person) form.
PERSON_FORM = FormSpec((
    FieldSpec("name", _("姓名"), required=True, max_length=40),
    FieldSpec("title", _("职务"), max_length=60, help=_("例如：区委常委、组织部部长")),
    FieldSpec("phone", _("联系电话"), "phone", max_length=20),
    FieldSpec("email", _("电子邮箱"), "email"),
))

# A unit's membership of a conference, and a convenor's appointment to one (the conference page's
# forms; the unit and person lists are known at request time, views.conference_detail).
MEMBERSHIP_FORM = FormSpec((
    FieldSpec("unit", _("成员单位"), "ref", required=True),
    FieldSpec("start_date", _("开始日期"), "date", required=True),
    FieldSpec("end_date", _("结束日期"), "date"),
))
APPOINTMENT_FORM = FormSpec((
    FieldSpec("person", _("召集人"), "ref", required=True),
    FieldSpec("title", _("职级"), max_length=60, api_label=_("职务")),
    FieldSpec("start_date", _("开始日期"), "date", required=True),
    FieldSpec("end_date", _("结束日期"), "date"),
))
# Ending a membership or an appointment: the day, and over the API the version read (optional).
PERIOD_END_FORM = FormSpec((
    FieldSpec("end_date", _("结束日期"), "date", required=True),
    FieldSpec("version", _("版本"), "int", on="api"),
))
