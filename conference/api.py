"""JSON API under /api/ (Bearer token), documented at /schema.

Every API route sits in one router that adds the Bearer security requirement to the OpenAPI
document and turns Litestar's request validation errors (wrong JSON types, unknown fields, bad
query or path parameters) into the same Chinese per-field answer the services give:
`{"status_code": 400, "detail": ..., "errors": {field: message}}`.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import MediaType, Request, Response, Router
from litestar.exceptions import ValidationException

from conference.agenda.api import ROUTES as AGENDA_ROUTES
from conference.agenda.intake_api import ROUTES as INTAKE_ROUTES
from conference.audit.api import ROUTES as AUDIT_ROUTES
from conference.holidays.api import ROUTES as HOLIDAY_ROUTES
from conference.i18n import gettext as _
from conference.mail.api import ROUTES as OUTBOX_ROUTES
from conference.meetings.api import ROUTES as MEETING_ROUTES
from conference.minutes.api import ROUTES as MINUTES_ROUTES
from conference.registry.api import ROUTES as REGISTRY_ROUTES
from conference.search.api import ROUTES as SEARCH_ROUTES
from conference.supervision.api import ROUTES as SUPERVISION_ROUTES
from conference.tasks.api import ROUTES as TASK_ROUTES
from conference.tasks.resolutions_api import ROUTES as RESOLUTION_ROUTES

SECURITY_SCHEME = "BearerToken"

LABELS = {
    "name": _("名称"),
    "district": _("所属县区"),
    "secretary_name": _("党工委书记"),
    "phone": _("联系电话"),
    "level": _("层级"),
    "parent": _("上级联席会议"),
    "street": _("所属街道"),
    "office_email": _("办公室邮箱"),
    "office_contact": _("办公室联系人"),
    "office_phone": _("办公室电话"),
    "doc_prefix": _("发文机关代字"),
    "kind": _("单位类别"),
    "parent_unit": _("上级单位"),
    "duties": _("职责任务"),
    "liaison_name": _("联络员"),
    "liaison_phone": _("联络员电话"),
    "liaison_email": _("联络员邮箱"),
    "leader_name": _("分管负责人"),
    "title": _("职务"),
    "email": _("电子邮箱"),
    "unit": _("成员单位"),
    "person": _("召集人"),
    "conference": _("联席会议"),
    "start_date": _("开始日期"),
    "end_date": _("结束日期"),
    "ended_on": _("撤销日期"),
    "version": _("版本"),
    "q": _("搜索词"),
    "page": _("页码"),
    "per_page": _("每页条数"),
    "sort": _("排序字段"),
    "desc": _("倒序"),
    "year": _("年份"),
    "day": _("日期"),
    "start": _("开始日期"),
    "end": _("结束日期"),
}
KINDS = {
    "str": _("文本"),
    "int": _("整数"),
    "bool": _("true 或 false"),
    "date": _("日期（如 2026-11-29）"),
    "datetime": _("日期时间"),
    "object": _("JSON 对象"),
    "array": _("JSON 数组"),
}
BODY = "data"  # Litestar's name for the request body


def _label(key: str) -> str:
    if key not in LABELS and key.endswith("_id"):
        return _("记录编号")  # a path parameter such as unit_id
    return LABELS.get(key, key)


def _message(key: str, text: str) -> str:
    """One msgspec/Litestar validation message, in Chinese."""
    label = _label(key)
    if expected := re.match(r"Expected `([^`]*)`, got", text):
        kinds = [k.strip() for k in expected.group(1).split("|") if k.strip() != "null"]
        kind = KINDS.get(kinds[0], kinds[0]) if kinds else ""
        return _("{label}应为{kind}。").format(label=label, kind=kind)
    if "date" in text.lower():
        return _("{label}不是有效日期，请按 2026-11-29 的格式填写。").format(label=label)
    if re.match(r"Expected `[^`]*` [<>]=? ", text):
        return _("{label}超出允许的范围。").format(label=label)
    if "enum" in text.lower():
        return _("{label}不是可选的值。").format(label=label)
    return _("{label}的格式不正确。").format(label=label)


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    detail = _("提交的数据格式不正确，请检查后重试。")
    errors: dict[str, str] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        key, text = str(item.get("key") or ""), str(item.get("message") or "")
        if key != BODY:
            errors.setdefault(key, _message(key, text))
        elif unknown := re.match(r"Object contains unknown field `([^`]*)`", text):
            errors.setdefault(unknown.group(1), _("不支持字段“{name}”。").format(name=unknown.group(1)))
        elif missing := re.match(r"Object missing required field `([^`]*)`", text):
            errors.setdefault(missing.group(1), _("请填写{label}。").format(label=_label(missing.group(1))))
        else:  # the body as a whole: empty, or not a JSON object
            detail = _("请求内容应为 JSON 对象。")
    body: dict[str, Any] = {"status_code": 400, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(content=body, status_code=400, media_type=MediaType.JSON)


def undecodable_body(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    # msgspec raises UnicodeDecodeError (not DecodeError, which Litestar maps to 400) for a body with
    # invalid UTF-8 such as an encoded lone surrogate.
    return Response(content={"status_code": 400, "detail": _("请求内容不是有效的 UTF-8 编码的 JSON。")},
                    status_code=400, media_type=MediaType.JSON)


ROUTES = [
    Router(path="/", route_handlers=[*REGISTRY_ROUTES, *MEETING_ROUTES, *AGENDA_ROUTES, *MINUTES_ROUTES, *HOLIDAY_ROUTES, *SEARCH_ROUTES,
                                         *INTAKE_ROUTES, *TASK_ROUTES, *RESOLUTION_ROUTES, *SUPERVISION_ROUTES,
                                         *AUDIT_ROUTES, *OUTBOX_ROUTES], security=[{SECURITY_SCHEME: []}],
           exception_handlers={ValidationException: validation_error, UnicodeDecodeError: undecodable_body}),
]
