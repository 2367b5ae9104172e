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

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, cast

import msgspec
from litestar import MediaType, Request, Response
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, Schema
from litestar.params import Body, KwargDefinition, Parameter, PathParameter, QueryParameter
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from conference.i18n import gettext as _
from conference.web.listing import MAX_ID, MAX_PAGE, MAX_PER_PAGE, Paging
from conference.web.listing import Page as Listing

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

__all__ = [
    "MAX_ID", "READ_ERRORS", "WRITE_ERRORS", "Desc", "Error", "IdPath", "IdQuery", "OptionalId", "Page", "PageNo",
    "PageQuery", "PageSchemas", "PerPage", "PerPageQuery", "Q", "RecordId", "TextQuery", "answers", "body", "convert", "error_responses",
    "example_of", "field_label", "list_query", "merged", "page_fields", "relabelled", "sent_fields", "undecodable_body",
    "validation_error",
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


class PageSchemas(OpenAPISchemaPlugin):
    """Names the OpenAPI component of each `Page[X]` after X without its Row/Out suffix: `Page[MeetingRow]`
    is `MeetingPage`, `Page[UnitOut]` `UnitPage` (the names of the per-entity page structs it replaced),
    where Litestar would write `Page_conference.meetings.api_types.MeetingRow_`. Registered on the app."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        kwargs = field_definition.kwarg_definition
        return field_definition.origin is Page and not (isinstance(kwargs, KwargDefinition) and kwargs.schema_component_key)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        (item,) = field_definition.args
        name = re.sub(r"(Row|Out)$", "", item.__name__) + "Page"
        kwargs = field_definition.kwarg_definition
        extra = {"title": name}  # the component's title too (Litestar's would be "Page[MeetingRow]")
        named = (dataclasses.replace(kwargs, schema_component_key=name, schema_extra={**(kwargs.schema_extra or {}), **extra})
                 if isinstance(kwargs, KwargDefinition) else KwargDefinition(schema_component_key=name, schema_extra=extra))
        # Litestar's own struct schema under that key: a reference to the component, which the
        # caller returns as it is (the protocol says Schema; SchemaCreator accepts either).
        return cast(Schema, schema_creator.for_field_definition(FieldDefinition.from_kwarg(
            field_definition.annotation, name=field_definition.name, default=field_definition.default,
            kwarg_definition=named)))


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

# The Chinese names of the fields and parameters whose errors Litestar reports (msgspec's English,
# translated by `_message`): query and path parameters and `version`. A body derived from a spec
# (conference.web.formspec) takes any JSON value and checks the types itself, in Chinese, with its
# own labels: the registry's bodies, the meetings', the holidays', the accounts' and the push
# targets' need no entry here (a part of the API names its own fields with `relabelled`).
LABELS = {
    "street": _("所属街道"),
    "unit": _("成员单位"),
    "person": _("召集人"),
    "conference": _("联席会议"),
    "version": _("版本"),
    "q": _("搜索词"),
    "page": _("页码"),
    "per_page": _("每页条数"),
    "sort": _("排序字段"),
    "desc": _("倒序"),
    "year": _("年份"),
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


# ---------------------------------------------------------------- OpenAPI examples
#
# Every /api operation documents an example of its request body (`body`) and of its success answer
# (`answers`), as Litestar `Example`s on the media types. A value not given is made from the type
# (`example_of`): the field's sample below where there is one, else a value of its type. tests/
# test_api_openapi.py checks that no operation goes without.

SAMPLES: dict[str, Any] = {
    "id": 7, "version": 3, "total": 42, "page": 1, "per_page": 20, "conference": 2, "street": 3, "unit": 5,
    "meeting": 11, "item": 18, "task": 25, "person": 4, "resolution": 9, "position": 1, "sequence": 1,
    "name": "兰山街道党建引领街道社区治理联席会议", "conference_name": "兰山街道党建引领街道社区治理联席会议",
    "street_name": "兰山街道", "unit_name": "兰山区综合行政执法局", "person_name": "王建国",
    "title": "沂蒙路占道经营整治", "meeting_title": "2026年第四季度全体会议", "description": "沂蒙路与金雀山路交叉口早市占道经营，影响通行。",
    "location": "兰山街道办事处三楼会议室", "district": "兰山区", "secretary_name": "李明", "phone": "0539-8123456",
    "office_email": "lanshan@example.cn", "office_contact": "张丽", "office_phone": "0539-8123457", "doc_prefix": "兰联办",
    "liaison_name": "赵强", "liaison_phone": "13800000000", "liaison_email": "liaison@example.cn", "leader_name": "孙伟",
    "email": "office@example.cn", "username": "lanshan-office", "display_name": "兰山街道联席会议办公室",
    "duties": "负责市容秩序和占道经营执法", "reason": "需协调多个部门共同处置", "comment": "同意，请办公室安排会议",
    "note": "请执法局牵头，两周内整治到位", "text": "由区综合行政执法局牵头，于 12 月底前完成沂蒙路占道经营整治。",
    "q": "占道", "detail": "", "body": "兰山街道：您单位受邀参加 2026年第四季度全体会议……", "subject": "会议通知",
    "start_time": "09:00", "end_time": "11:00", "external_ref": "12345-20261204-0007", "external_source": "12345",
    "url": "/meetings/11", "heading": "沂蒙路占道经营整治", "kind": "plenary", "status": "notified", "urgency": "urgent",
    "category": "urban_management", "role": "member", "reply": "attending", "attendance": "present", "level": "street",
    "presiding_name": "王建国", "presiding_title": "街道党工委书记", "uid": "meeting-11@lanshan.example.cn",
    "notice_number": "兰联办〔2026〕6号", "attendee_name": "赵强", "attendee_title": "副局长", "filename": "现场照片.jpg",
    "content_type": "image/jpeg", "event": "meeting_notified", "outcome": "resolved", "label": "已通知",
    "context": "兰山街道", "direction": "up", "proposed_items": "沂蒙路占道经营", "message": "请于本周五前报送进展。",
    "rating": "satisfied", "action": "update", "entity": "meeting", "actor_name": "兰山街道联席会议办公室",
}


def _sample_for(info: Any, name: str) -> Any:
    import msgspec.inspect as mi

    if isinstance(info, mi.UnionType):
        kinds = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return _sample_for(kinds[0], name) if kinds else None
    if isinstance(info, mi.LiteralType):
        return info.values[0]
    if isinstance(info, mi.EnumType):
        return next(iter(info.cls)).value
    if isinstance(info, (mi.StructType, mi.DataclassType, mi.TypedDictType)):
        return {f.encode_name: _sample_for(f.type, f.name) for f in info.fields}
    if isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return [_sample_for(info.item_type, name)]
    if isinstance(info, mi.DictType):
        return {"edit": True} if name == "actions" else {}
    if isinstance(info, mi.BoolType):
        return True
    if isinstance(info, mi.IntType):
        sample = SAMPLES.get(name, SAMPLES.get(name.removesuffix("_id"), 1))
        return sample if isinstance(sample, int) else 1
    if isinstance(info, mi.FloatType):
        return 0.95
    if isinstance(info, mi.DateTimeType):
        return "2026-12-04T09:00:00+08:00"
    if isinstance(info, mi.DateType):
        return "2026-12-04"
    if isinstance(info, mi.StrType):
        sample = SAMPLES.get(name)
        return sample if isinstance(sample, str) else ""
    if isinstance(info, (mi.BytesType, mi.ByteArrayType, mi.MemoryViewType)):
        return ""
    return None


def example_of(tp: Any, **values: Any) -> Any:
    """A JSON example of `tp` (a Struct, a Page[...] or a list of them): every field filled from SAMPLES
    or by its type, then `values` put over the top-level fields. Checked against `tp` itself."""
    import msgspec.inspect as mi

    value = _sample_for(mi.type_info(tp), "")
    if values and isinstance(value, dict):
        value.update(values)
    msgspec.convert(value, tp, strict=False)  # an example that does not fit its own schema fails at import
    return value


def body(tp: Any, example: Any = None, *, description: str | None = None,
         media_type: RequestEncodingType | str = RequestEncodingType.JSON) -> Any:
    """The request-body marker for `data: Annotated[X, body(X)]`: X's media type with an example."""
    value = example_of(tp) if example is None else example
    return Body(media_type=media_type, description=description, examples=[Example(summary=_("示例"), value=value)])


def answers(tp: Any, errors: Mapping[int, ResponseSpec] = READ_ERRORS, *, status: int = 200, example: Any = None,
            description: str | None = None, media_type: str = MediaType.JSON) -> dict[int, ResponseSpec]:
    """An operation's `responses`: its success answer (`status`, a `tp`, with an example) and its errors."""
    value = example_of(tp) if example is None else example
    success = ResponseSpec(tp, description=description or _("成功"), media_type=media_type, generate_examples=False,
                           examples=[Example(summary=_("示例"), value=value)])
    return {**errors, status: success}
