"""The account-opening form, described once (conference.web.formspec): the office's page for one
record's account (conference.accounts.onboarding_routes) shows its fields, the service
(onboarding.create_account) reads them through the spec (the Chinese messages), and the API bodies
AccountIn and AccountPatch (conference.accounts.api) are derived from it, their JSON types checked
by `json_fields`.
"""

from __future__ import annotations

from conference.i18n import gettext as _
from conference.web.formspec import FieldSpec, FormSpec

LINK_HOURS = 72  # a set-password or reset link works this long, once
EMAIL_MAX = 120
# The kinds of registry record an office opens accounts for (onboarding.KINDS, by slug).
KIND_LABELS = {"units": _("成员单位"), "streets": _("街道"), "convenors": _("召集人")}

# The page opens the account of the record in its URL; the API names the kind and the record.
ACCOUNT_FORM = FormSpec((
    FieldSpec("kind", _("账号类别"), "choice", required=True, choices=KIND_LABELS, on="api"),
    FieldSpec("record", _("开通对象"), "ref", required=True, on="api"),
    FieldSpec("username", _("用户名"), required=True, max_length=40, help=_("登录时使用，可用字母、数字；已按登记信息建议。")),
    FieldSpec("display_name", _("姓名或名称"), max_length=60),
    FieldSpec("email", _("电子邮箱"), required=True, max_length=EMAIL_MAX,
              help=_("设置密码的链接发到这里，{h} 小时内有效，只能使用一次。").format(h=LINK_HOURS)),
))
# Changing an account over the API: switching it on or off. Role and linked record are fixed at
# creation; the API accepts them only with the values they have (api.update_account).
ACCOUNT_PATCH_FORM = FormSpec((
    FieldSpec("active", _("是否启用"), "bool", on="api"),
    FieldSpec("role", _("角色"), on="api"),
    FieldSpec("unit", _("所属成员单位"), "ref", on="api"),
    FieldSpec("street", _("所属街道"), "ref", on="api"),
    FieldSpec("person", _("召集人本人"), "ref", on="api"),
    FieldSpec("conference", _("所属联席会议"), "ref", on="api"),
))
