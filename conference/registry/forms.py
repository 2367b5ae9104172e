"""The registry's forms, each described once (conference.web.formspec): the pages show their fields,
the services read them through the spec (the Chinese messages), and the API bodies
(conference.registry.api_types) are derived from them, their JSON types checked by `json_fields`.
"""

from __future__ import annotations

from conference.i18n import gettext as _
from conference.web.formspec import FieldSpec, FormSpec

LEVEL_LABELS = {"city": _("市级"), "district": _("县区级"), "street": _("街道级")}

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
