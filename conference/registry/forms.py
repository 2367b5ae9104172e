"""The registry's forms, each described once (conference.web.formspec): the pages show their fields,
the services read them through the spec (the Chinese messages), and the API bodies
(conference.registry.api_types) are derived from them, their JSON types checked by `json_fields`.
"""

from __future__ import annotations

from conference.i18n import gettext as _
from conference.web.formspec import FieldSpec, FormSpec

STREET_FORM = FormSpec((
    FieldSpec("name", _("街道名称"), required=True, max_length=60),
    FieldSpec("district", _("所属县区"), required=True, max_length=60),
    FieldSpec("secretary_name", _("党工委书记"), max_length=40),
    FieldSpec("phone", _("联系电话"), "phone", max_length=20),
))
