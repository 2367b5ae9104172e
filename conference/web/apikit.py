"""The JSON API kit: what every API module under /api shares, so that they import this module and
their own domain's services, never each other (conference.api imports them all).

- the error shape (`Error`, READ_ERRORS, WRITE_ERRORS, `error_responses`) and the answer to
  Litestar's request validation errors in Chinese (`validation_error`, `undecodable_body`,
  `relabelled` for the field labels of one part of the API);
- query and path parameters (RecordId, OptionalId, Q, PageNo, PerPage, Desc; and the explicit
  FromQuery/FromPath-style IdPath, IdQuery, PageQuery, PerPageQuery, TextQuery) and a generic
  `Page[T]` (its total, page and per_page from conference.web.listing's Paging: `page_fields`);
- small helpers for handlers: the fields a client sent (`sent_fields`), a stored record merged
  with a PATCH (`merged`), a row as a response Struct (`convert`), a list query for
  conference.web.listing.paginate (`list_query`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter, PathParameter, QueryParameter

from conference.i18n import gettext as _
from conference.web.listing import MAX_ID, MAX_PAGE, MAX_PER_PAGE, Paging
from conference.web.listing import Page as Listing

__all__ = [
    "MAX_ID", "READ_ERRORS", "WRITE_ERRORS", "Desc", "Error", "IdPath", "IdQuery", "OptionalId", "Page", "PageNo",
    "PageQuery", "PerPage", "PerPageQuery", "Q", "RecordId", "TextQuery", "convert", "error_responses", "field_label",
    "list_query", "merged", "page_fields", "relabelled", "sent_fields", "undecodable_body", "validation_error",
]

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)


# ---------------------------------------------------------------- documents


class Page(msgspec.Struct, Generic[T]):
    """One page of a list: `items`, the `total` over all pages, and where this page is."""

    items: list[T]
    total: int
    page: int
    per_page: int


def page_fields(at: Paging | Listing) -> dict[str, int]:
    """A page's place in its list as `Page[T]` (and each list's own page document) carries it."""
    return {"total": at.total, "page": at.page, "per_page": at.per_page}


class Error(msgspec.Struct):
    """Every error answer: a Chinese message, and for invalid input one message per field."""

    status_code: int
    detail: str
    errors: dict[str, str] | None = None


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """The OpenAPI description of the error answers with these status codes."""
    texts = {
        400: _("提交的内容有误：detail 说明原因，errors 按字段给出提示。"),
        401: _("未提供令牌或令牌无效。"),
        403: _("您的角色无权执行此操作。"),
        404: _("没有找到该记录，或您无权查看。"),
        409: _("记录已被他人修改（version 不是最新），请重新读取后再保存。"),
    }
    return {code: ResponseSpec(Error, description=texts[code], generate_examples=False) for code in codes}


READ_ERRORS = error_responses(400, 401, 403, 404)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)


# ---------------------------------------------------------------- parameters

RecordId = Annotated[int, Parameter(ge=1, le=MAX_ID, description=_("记录编号"))]
OptionalId = Annotated[int | None, Parameter(ge=1, le=MAX_ID)]
Q = Annotated[str | None, Parameter(description=_("搜索词（名称等，不区分大小写）"))]
# Bounds shared with the pages' parser (conference.web.listing.parse_int); a value outside them is a 400.
PageNo = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description=_("页码，从 1 开始；超过末页时返回末页"))]
PerPage = Annotated[int, Parameter(ge=1, le=MAX_PER_PAGE, description=_("每页条数"))]
Desc = Annotated[bool, Parameter(description=_("是否倒序"))]

IdPath = Annotated[int, PathParameter(ge=1, le=MAX_ID, description=_("记录编号"))]
IdQuery = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
PageQuery = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description=_("页码，从 1 开始；超过末页时返回末页"))]
PerPageQuery = Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE, description=_("每页条数"))]
TextQuery = Annotated[str | None, QueryParameter(max_length=100, description=_("搜索词"))]


# ---------------------------------------------------------------- handler helpers


def list_query(q: str | None, page: int, per_page: int, sort: str, desc: bool) -> dict[str, str]:
    """A list's parameters as the query conference.web.listing.paginate reads."""
    return {"q": q or "", "page": str(page), "per_page": str(per_page), "sort": sort, "desc": "1" if desc else ""}


def sent_fields(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a client sent (for PATCH: UNSET ones left out)."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


def merged(stored: Mapping[str, Any], data: msgspec.Struct) -> dict[str, Any]:
    """The full record for an update service: stored values, overridden by the fields given."""
    return {**{name: stored[name] for name in data.__struct_fields__ if name in stored}, **sent_fields(data)}


def convert(row: Mapping[str, Any], out: type[S]) -> S:
    """A row (or any mapping) as the response Struct `out`."""
    return msgspec.convert(dict(row), out)


# ---------------------------------------------------------------- validation errors in Chinese

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
ELEMENT = re.compile(r"(\[\d+\])+$")


def field_label(key: str) -> str:
    """The Chinese name of a field or parameter, as the registry names it."""
    if key not in LABELS and key.endswith("_id"):
        return _("记录编号")  # a path parameter such as unit_id
    return LABELS.get(key, key)


def _message(key: str, text: str) -> str:
    """One msgspec/Litestar validation message, in Chinese."""
    label = field_label(key)
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
    """Litestar's request validation errors (wrong JSON types, unknown fields, bad query or path
    parameters) as the services' answer: `{"status_code": 400, "detail": ..., "errors": {field: message}}`."""
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
            errors.setdefault(missing.group(1), _("请填写{label}。").format(label=field_label(missing.group(1))))
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


def relabelled(labels: Mapping[str, str]) -> Callable[[Request[Any, Any, Any], ValidationException], Response[Any]]:
    """The validation-error answer naming the fields with the labels of one part of the API: the
    registry's labels are keyed by field name, and a meeting's `title` or `kind` is not a convenor's
    title or a unit's kind."""

    def handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
        response = validation_error(request, exc)
        content = response.content
        errors = content.get("errors") if isinstance(content, dict) else None
        if not isinstance(errors, dict):
            return response
        for key, message in list(errors.items()):
            field = ELEMENT.sub("", key)  # an element of a list (units[0]) is reported on the list field
            if field not in labels:
                continue
            old, missing = field_label(key), _("请填写{label}。")
            if message == missing.format(label=old):  # a required field left out
                relabelled = missing.format(label=labels[field])
            elif message.startswith(old):  # every other message opens with the label
                relabelled = labels[field] + message[len(old):]
            else:  # an unknown field: named as sent
                continue
            del errors[key]
            errors.setdefault(field, relabelled)
        return response

    return handler
