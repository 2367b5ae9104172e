"""Intake JSON API (issue 15 item 2) for machine accounts of other systems (role "intake": the
12345 hotline, the grid platform), each bound to one street:

  POST /api/intake/items        one ticket; header Idempotency-Key (required)
  POST /api/intake/items/bulk   a list of tickets, each with its own key; per-record results

The rules (idempotency, scope, validation) are conference.agenda.intake; these handlers only carry
the header and body in and the answer out. A replayed request answers exactly what the first one
did (same status, same body) plus the header `Idempotent-Replayed: true`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Response, Router, post
from litestar.exceptions import ValidationException
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter

from conference.accounts.actor import CurrentActor
from conference.agenda import intake
from conference.agenda.tables import AgendaItem
from conference.errors import NotFound, ValidationFailed
from conference.i18n import gettext as _
from conference.records import get_or_404
from conference.roles import Role
from conference.web.apikit import WRITE_ERRORS, answers, body, relabelled
from conference.web.formspec import FieldSpec, FormSpec

INTAKE = (Role.INTAKE,)
TAGS = ["接入（12345 / 网格化平台）"]
# A ticket's body is derived from its spec (intake.TICKET_FORM: the reference and the item form's
# fields), its JSON types checked by `json_fields` in Chinese; so is a bulk record's key. msgspec
# still reports a bulk body's own shape (records missing or no list, a record or ticket no object).
TicketIn = intake.TICKET_FORM.struct("TicketIn")
RECORD_FORM = FormSpec((FieldSpec("idempotency_key", _("Idempotency-Key"), max_length=100, on="api",
                                  help=_("本条记录的唯一标识，作用同请求头 Idempotency-Key。")),))
BulkTicketIn = RECORD_FORM.struct("BulkTicketIn", extra=[("ticket", TicketIn | None, None)])
LABELS = {**intake.TICKET_FORM.labels("api"), **RECORD_FORM.labels("api"), "records": _("工单列表")}


class BulkIn(msgspec.Struct, forbid_unknown_fields=True):
    records: Annotated[list[BulkTicketIn], msgspec.Meta(title=LABELS["records"])]  # type: ignore[valid-type]


class IntakeItemOut(msgspec.Struct):
    id: int
    title: str
    status: str
    conference: int
    street: int | None
    external_ref: str
    external_source: str
    submitted_at: dt.datetime | None
    created_at: dt.datetime


class BulkResultOut(msgspec.Struct):
    index: int  # position in `records`
    idempotency_key: str | None
    status: int  # 201 created, 200 the same key and body seen before, else the error's status
    item: IntakeItemOut | None = None
    detail: str = ""
    errors: dict[str, str] | None = None


class BulkOut(msgspec.Struct):
    results: list[BulkResultOut]
    created: int
    replayed: int
    failed: int


TICKET_EXAMPLE = {"external_ref": "12345-20261204-0007", "external_source": "12345", "title": "沂蒙路占道经营反复出现",
                  "description": "市民反映沂蒙路与金雀山路交叉口早市占道经营，影响通行。", "category": "urban_management",
                  "urgency": "urgent", "units": []}
KeyHeader = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", description=_("本次提交的唯一标识（1 至 100 个可见 ASCII 字符，如来源系统的工单号或 UUID）。"
                                            "同一标识、同一内容重发时返回同一议题；同一标识、不同内容返回 409。"),
    examples=[Example(value="12345-20261204-0007")])]


async def _item_out(item_id: int) -> IntakeItemOut:
    row = await get_or_404(AgendaItem, item_id, _("没有找到该议题。"))
    return msgspec.convert(row, IntakeItemOut, from_attributes=False, strict=False)


def _payload(data: msgspec.Struct) -> dict[str, Any]:
    """The ticket as the service takes (and hashes) it: every field, its JSON type checked."""
    return intake.TICKET_FORM.json_fields(data)


def _records(data: BulkIn) -> list[tuple[Any, dict[str, Any]]]:
    """The records' keys and tickets; a wrong JSON type in any of them answers 400 for the whole
    request (as msgspec did), every such message at once, keyed by the record's place."""
    records, errors = [], {}
    sent: list[Any] = data.records
    for index, record in enumerate(sent):
        checked: list[dict[str, Any]] = []
        for prefix, spec, part in ((f"records[{index}].", RECORD_FORM, record),
                                   (f"records[{index}].ticket.", intake.TICKET_FORM, record.ticket)):
            try:
                checked.append(spec.json_fields(part) if part is not None else {})
            except ValidationFailed as exc:
                errors.update({prefix + name: message for name, message in exc.errors.items()})
        if not errors:
            records.append((checked[0]["idempotency_key"], checked[1]))
    if errors:
        raise ValidationFailed(errors, _("提交的数据格式不正确，请检查后重试。"))
    return records


@post("/", opt={"roles": INTAKE}, tags=TAGS, summary=_("推送工单（幂等）"), responses=answers(IntakeItemOut, WRITE_ERRORS, status=201),
      status_code=201)
async def intake_ticket(
    actor: CurrentActor,
    data: Annotated[TicketIn, body(TicketIn, TICKET_EXAMPLE, description=_("一张工单"))],  # type: ignore[valid-type]
    idempotency_key: KeyHeader = None,
) -> Response[IntakeItemOut]:
    """接入账号把来源系统的一张工单推送为本街道的议题（直接提交给办公室）。external_source 取 12345 或 grid，
    external_ref 为来源系统的工单编号，显示在议题页面上，也可在议题列表中搜索。重发同一请求（同一 Idempotency-Key、
    同一内容）返回第一次创建的议题和同样的答复，并带响应头 Idempotent-Replayed: true。"""
    done = await intake.intake_item(actor, idempotency_key, _payload(data))
    headers = {"Idempotent-Replayed": "true"} if done.replayed else {}
    return Response(await _item_out(done.item_id), status_code=201, headers=headers)


@post("/bulk", opt={"roles": INTAKE}, tags=TAGS, summary=_("批量推送工单"), responses=answers(BulkOut, WRITE_ERRORS),
      status_code=200)
async def intake_tickets(
    actor: CurrentActor,
    data: Annotated[BulkIn, body(BulkIn, {"records": [{"idempotency_key": "grid-2026-88121", "ticket": {
        **TICKET_EXAMPLE, "external_source": "grid", "external_ref": "grid-2026-88121"}}]},
        description=_("最多 100 张工单，每张带自己的 Idempotency-Key"))],
) -> BulkOut:
    """每条记录单独处理、单独幂等：results 按提交顺序给出每条的 status（201 新建，200 此前已收到同样的记录，
    4xx 为错误，附 detail 和按字段的 errors）。一条失败不影响其他各条；整批重发不会重复创建。"""
    results = await intake.intake_bulk(actor, _records(data))
    out: list[BulkResultOut] = []
    for r in results:
        item = None
        if r.item_id is not None:
            try:
                item = await _item_out(r.item_id)
            except NotFound:
                item = None
        out.append(BulkResultOut(index=r.index, idempotency_key=r.key, status=r.status, item=item, detail=r.detail,
                                 errors=r.errors))
    return BulkOut(results=out, created=sum(r.status == 201 for r in out), replayed=sum(r.status == 200 for r in out),
                   failed=sum(r.status >= 400 for r in out))


ROUTES: list[Any] = [
    Router(path="/api/intake/items", route_handlers=[intake_ticket, intake_tickets],
           exception_handlers={ValidationException: relabelled(LABELS)}),
]
