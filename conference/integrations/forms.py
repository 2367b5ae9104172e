"""The form of a push target (a webhook endpoint or a group robot), described once
(conference.web.formspec): the /integrations page shows its labels and limits, the service
(services._read) reads the values through the spec (the Chinese messages), and the API bodies
TargetIn and TargetPatch (conference.integrations.api) are derived from it, their JSON types checked
by `json_fields`. The conference and the unit are picked from lists known at request time.
"""

from __future__ import annotations

from conference.i18n import gettext as _
from conference.integrations.events import EVENT_LABELS
from conference.web.formspec import FieldSpec, FormSpec

KIND_LABELS = {"webhook": _("Webhook 接收地址"), "wecom": _("企业微信群机器人"), "dingtalk": _("钉钉群机器人")}

TARGET_FORM = FormSpec((
    # The page's kind is fixed by the link that opens it (a hidden field); the API names it.
    FieldSpec("kind", _("类型"), "choice", required=True, choices=KIND_LABELS, on="api"),
    FieldSpec("name", _("名称"), required=True, max_length=60),
    FieldSpec("conference", _("联席会议"), "ref", required=True),
    FieldSpec("unit", _("成员单位群"), "ref", help=_("选择一个成员单位时，只推送该单位的通知，并 @ 该单位联络员。")),
    FieldSpec("url", _("网址"), required=True, max_length=500),
    FieldSpec("secret", _("加签密钥"), max_length=100, help=_("机器人安全设置中“加签”的密钥（SEC 开头）。修改时留空则保留原密钥。")),
    FieldSpec("events", _("推送事件"), "choices", required=True, choices=EVENT_LABELS),
    # Over the API a target is enabled and disabled by a change (the page has its own buttons).
    FieldSpec("active", _("是否启用"), "bool", on="api"),
))
