"""Intake of agenda items from other systems (街呼区应: the 12345 hotline and the grid platform).

A machine account (role "intake", bound to one street) posts tickets; each becomes a submitted item
of that street's conference, carrying the ticket's number (`external_ref`) and system
(`external_source`). Each request names an Idempotency-Key: the first request with a key inserts an
intake_request row (unique per account and key) in the same transaction as the item, so

  same key, same body   -> the item created the first time (nothing new is written);
  same key, other body  -> Conflict (409);
  two at once           -> the second INSERT waits on the unique index (PostgreSQL) or on the write
                           queue (SQLite) and then finds the first one's row: one item, never two.

There is no "look first, then insert": the INSERT ... ON CONFLICT DO NOTHING decides. A request that
fails validation writes nothing, so its key stays free for the corrected request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.agenda import services
from conference.agenda.tables import IntakeRequest
from conference.errors import Conflict, DomainError, Forbidden, ValidationFailed
from conference.i18n import gettext as _
from conference.roles import Role
from conference.timefmt import now
from conference.web.formspec import FieldSpec, FormSpec

SOURCE_LABELS = {"12345": _("12345 热线"), "grid": _("网格化平台")}
# A ticket, once for the API body (conference.agenda.intake_api.TicketIn, its JSON types checked by
# `json_fields`) and its labels: the ticket's reference, then the item form's fields a ticket carries
# (services.ITEM_FORM: a ticket's conference is its street's, and it is always submitted). The
# reference is checked by `_external` (required, its own messages), the item's fields by the item form.
TICKET_FORM = FormSpec((
    FieldSpec("external_ref", _("工单编号"), max_length=100, on="api", help=_("来源系统的工单编号，如 12345-20261204-0007。")),
    FieldSpec("external_source", _("来源系统"), "choice", choices=SOURCE_LABELS, on="api"),
    *(services.ITEM_FORM[name] for name in ("title", "description", "category", "urgency", "units")),
))
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,100}")  # printable ASCII, no spaces, as HTTP header values allow
MAX_BULK = 100


@dataclass(frozen=True)
class Intake:
    item_id: int
    replayed: bool  # True when the key was seen before with the same body


def request_hash(payload: Mapping[str, Any]) -> str:
    """The SHA-256 of the body in a canonical form, so key order and spacing do not matter."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if not key:
        raise ValidationFailed({"Idempotency-Key": _("请在请求头 Idempotency-Key 中给出本次提交的唯一标识。")})
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationFailed({"Idempotency-Key": _("Idempotency-Key 应为 1 至 100 个可见 ASCII 字符。")})
    return key


def _external(payload: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    ref = str(payload.get("external_ref") or "").strip()
    source = str(payload.get("external_source") or "").strip()
    if not ref:
        errors["external_ref"] = _("请填写来源系统的工单编号。")
    elif len(ref) > 100:
        errors["external_ref"] = _("工单编号不能超过 100 个字符。")
    elif not ref.isprintable():  # NUL would reach PostgreSQL (which refuses it in text) as a 500
        errors["external_ref"] = _("工单编号含有不允许的字符。")
    if source not in SOURCE_LABELS:
        errors["external_source"] = _("来源系统应为 12345（12345 热线）或 grid（网格化平台）。")
    if errors:
        raise ValidationFailed(errors)
    return {"external_ref": ref, "external_source": source}


async def _checked(payload: Mapping[str, Any], fields: Mapping[str, Any], units: list[str]) -> dict[str, str]:
    """The ticket's reference, or every field's message at once (the item's fields too)."""
    try:
        return _external(payload)
    except ValidationFailed as exc:
        try:
            await services.item_values(fields, units)
        except ValidationFailed as item_errors:
            raise ValidationFailed({**exc.errors, **item_errors.errors}) from None
        raise


def _check_actor(actor: Actor) -> None:
    if actor.role != Role.INTAKE or not actor.street_id:
        raise Forbidden(_("只有绑定街道的接入账号可以推送工单。"))


async def intake_item(actor: Actor, key: str | None, payload: Mapping[str, Any]) -> Intake:
    """Create (or find again) the item of one ticket. `payload` holds the item fields (title,
    description, category, urgency, units) and external_ref, external_source."""
    _check_actor(actor)
    key = check_key(key)
    digest = request_hash(payload)
    fields = {k: payload.get(k) for k in ("title", "description", "category", "urgency")}
    units = [str(u) for u in payload.get("units") or []]
    external = await _checked(payload, fields, units)
    async with db.atomic():
        claimed = await IntakeRequest.raw(
            "INSERT INTO intake_request (account, idempotency_key, request_hash, created_at) VALUES ({}, {}, {}, {}) "
            "ON CONFLICT (account, idempotency_key) DO NOTHING RETURNING id", actor.id, key, digest, now())
        if claimed:
            item_id = await services.create_item(actor, fields, units, submit=True, external=external)
            await IntakeRequest.update({IntakeRequest.item: item_id}).where(IntakeRequest.id == claimed[0]["id"])
            return Intake(item_id, replayed=False)
    seen = await IntakeRequest.select(IntakeRequest.request_hash, IntakeRequest.item).where(
        (IntakeRequest.account == actor.id) & (IntakeRequest.idempotency_key == key)).first()
    if seen is None or seen["item"] is None:  # the item was deleted since: the key is spent
        raise Conflict(_("该 Idempotency-Key 已使用过，其议题已不存在，请换一个新的标识。"))
    if seen["request_hash"] != digest:
        raise Conflict(_("该 Idempotency-Key 已用于内容不同的另一次提交，请换一个新的标识，或按原内容重发。"))
    return Intake(int(seen["item"]), replayed=True)


@dataclass(frozen=True)
class BulkResult:
    index: int
    key: str | None
    status: int  # 201 created, 200 replayed, or the error's status code
    item_id: int | None = None
    detail: str = ""
    errors: dict[str, str] | None = None


async def intake_bulk(actor: Actor, records: Sequence[tuple[str | None, Mapping[str, Any]]]) -> list[BulkResult]:
    """Each record on its own, each idempotent by its own key: one failing record does not undo the
    others, and sending the whole batch again creates nothing twice."""
    _check_actor(actor)
    if len(records) > MAX_BULK:
        raise ValidationFailed({"records": _("一次最多提交 {n} 条。").format(n=MAX_BULK)})
    results: list[BulkResult] = []
    for index, (key, payload) in enumerate(records):
        try:
            done = await intake_item(actor, key, payload)
        except ValidationFailed as exc:
            results.append(BulkResult(index, key, exc.status_code, detail=exc.message, errors=exc.errors))
        except DomainError as exc:
            results.append(BulkResult(index, key, exc.status_code, detail=exc.message))
        else:
            results.append(BulkResult(index, key, 200 if done.replayed else 201, item_id=done.item_id))
    return results
