"""The office's side of integrations: its targets (webhook endpoints, WeCom and DingTalk robots) for
its own conferences, their deliveries, and delivering a dead one again. Every change is audited."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.audit.services import record
from conference.errors import Conflict, Forbidden, NotFound
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.integrations.events import EVENT_LABELS
from conference.integrations.forms import KIND_LABELS as KIND_LABELS
from conference.integrations.forms import TARGET_FORM
from conference.integrations.states import DELIVERY_STATUS_LABELS
from conference.integrations.tables import IntegrationDelivery, IntegrationTarget
from conference.integrations.urls import UnsafeUrl, check_url
from conference.records import update_audited
from conference.registry.tables import Conference, Membership
from conference.roles import OFFICE_ROLES
from conference.settings import get_settings
from conference.timefmt import now

TARGET_NOT_FOUND = _("没有找到该接收地址，或您无权查看。")
DELIVERY_NOT_FOUND = _("没有找到该投递记录，或您无权查看。")
T = IntegrationTarget
D = IntegrationDelivery


def _office(actor: Actor) -> None:
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以管理推送地址。"))


async def scope(actor: Actor) -> Any:
    """None for the admin; else the condition 'target of one of the office's conferences'."""
    _office(actor)
    visible = await visible_conference_ids(actor)
    return None if visible is None else T.conference.is_in(sorted(visible) or [0])


async def conference_choices(actor: Actor) -> list[tuple[str, str]]:
    _office(actor)
    visible = await visible_conference_ids(actor)
    query = Conference.select(Conference.id, Conference.name).order_by(Conference.id)
    if visible is not None:
        query = query.where(Conference.id.is_in(sorted(visible) or [0]))
    return [(str(r["id"]), r["name"]) for r in await query]


async def unit_choices(actor: Actor) -> list[tuple[str, str]]:
    """Units that are members of the office's conferences (a robot may serve one unit's group)."""
    _office(actor)
    visible = await visible_conference_ids(actor)
    query = Membership.select(Membership.unit.id.as_alias("id"), Membership.unit.name.as_alias("name")).distinct()
    if visible is not None:
        query = query.where(Membership.conference.is_in(sorted(visible) or [0]))
    rows = sorted({(int(r["id"]), r["name"]) for r in await query})
    return [(str(i), name) for i, name in rows]


async def targets_for(actor: Actor) -> list[dict[str, Any]]:
    where = await scope(actor)
    query = T.select(T.id, T.kind, T.name, T.url, T.events, T.active, T.created_at, T.conference.name.as_alias("conference_name"),
                     T.unit.name.as_alias("unit_name")).order_by(T.id)
    if where is not None:
        query = query.where(where)
    rows = await query
    counts = {int(r["target"]): r for r in await db.fetch(
        "SELECT target, SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead, "
        "SUM(CASE WHEN status IN ('queued', 'sending') THEN 1 ELSE 0 END) AS pending FROM integration_delivery "
        "WHERE target IN ({}) GROUP BY target", db.ids(r["id"] for r in rows))}
    for row in rows:
        row["events"] = _event_list(row["events"])
        found = counts.get(int(row["id"]))
        row["dead"] = int(found["dead"] or 0) if found else 0
        row["pending"] = int(found["pending"] or 0) if found else 0
    return rows


def _event_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [str(v) for v in value or []]


async def target_for(actor: Actor, target_id: int) -> dict[str, Any]:
    where = await scope(actor)
    condition = T.id == target_id if where is None else (T.id == target_id) & where
    row = await T.select(*T.all_columns(), T.conference.name.as_alias("conference_name")).where(condition).first()
    if row is None:
        raise NotFound(TARGET_NOT_FOUND)
    row["events"] = _event_list(row["events"])
    return row


async def _read(actor: Actor, data: Mapping[str, Any], *, kind: str | None) -> dict[str, Any]:
    """The form's values (forms.TARGET_FORM: labels, limits), checked; every message at once."""
    form, spec = FormReader(data), TARGET_FORM
    name = spec["name"].read(form)
    if kind is None:
        kind = spec["kind"].read(form)
    conferences = dict(await conference_choices(actor))
    conference = form.choice("conference", spec["conference"].label, conferences)
    unit = ""
    if kind in ("wecom", "dingtalk"):
        unit = form.choice("unit", spec["unit"].label, dict(await unit_choices(actor)), required=False)
    url = spec["url"].read(form)
    if url and "url" not in form.errors:
        try:
            await check_url(url, get_settings())
        except UnsafeUrl as exc:
            form.fail("url", str(exc))
    secret = ""
    if kind == "dingtalk":
        secret = spec["secret"].read(form)
        if secret and not secret.startswith("SEC"):
            form.fail("secret", _("钉钉的加签密钥以 SEC 开头，请从机器人设置中复制。"))
    raw_events = data.get("events", [])
    chosen = [raw_events] if isinstance(raw_events, str) else list(raw_events or [])
    events = [e for e in EVENT_LABELS if e in chosen]
    if not events:
        form.fail("events", _("请至少选择一种事件。"))
    form.done()
    return {"name": name, "kind": kind, "conference": int(conference), "unit": int(unit) if unit else None, "url": url,
            "secret": secret, "events": events}


async def create_target(actor: Actor, data: Mapping[str, Any]) -> tuple[int, str]:
    """Returns the new target's id and, for a webhook, its signing secret (shown to the office once)."""
    values = await _read(actor, data, kind=None)
    shown = ""
    if values["kind"] == "webhook":
        shown = values["secret"] = "whsec_" + secrets.token_urlsafe(32)
    async with db.atomic():
        rows = await T.insert(T(conference=values["conference"], unit=values["unit"], kind=values["kind"], name=values["name"],
                                url=values["url"], secret=values["secret"], events=json.dumps(values["events"]), active=True,
                                created_at=now())).returning(T.id)
        target_id = int(rows[0]["id"])
        await record(actor, "create", "integration_target", target_id, conference_id=values["conference"],
                     after={k: v for k, v in values.items() if k != "secret"})
    return target_id, shown


async def update_target(actor: Actor, target_id: int, data: Mapping[str, Any]) -> None:
    current = await target_for(actor, target_id)
    values = await _read(actor, data, kind=current["kind"])
    version = FormReader(data).version()
    changes: dict[str, Any] = {"name": values["name"], "conference": values["conference"], "unit": values["unit"],
                               "url": values["url"], "events": json.dumps(values["events"])}
    if current["kind"] == "dingtalk" and values["secret"]:  # left empty: keep the secret it has
        changes["secret"] = values["secret"]
    async with db.atomic(T, target_id):
        row = await target_for(actor, target_id)
        row["events"] = json.dumps(row["events"])
        await update_audited(actor, T, "integration_target", row, changes, expected_version=version,
                             conference_id=values["conference"])


async def set_active(actor: Actor, target_id: int, active: bool) -> None:
    async with db.atomic(T, target_id):
        row = await target_for(actor, target_id)
        if bool(row["active"]) == active:
            return
        row["events"] = json.dumps(row["events"])
        await update_audited(actor, T, "integration_target", row, {"active": active}, expected_version=None,
                             action="enable" if active else "disable", conference_id=row["conference"])


async def new_secret(actor: Actor, target_id: int) -> str:
    """A new webhook signing secret (the old one stops working at once); shown once."""
    async with db.atomic(T, target_id):
        row = await target_for(actor, target_id)
        if row["kind"] != "webhook":
            raise Conflict(_("只有 Webhook 接收地址有签名密钥。"))
        secret = "whsec_" + secrets.token_urlsafe(32)
        await T.update({T.secret: secret, T.version: row["version"] + 1}).where(T.id == target_id)
        await record(actor, "new_secret", "integration_target", target_id, conference_id=row["conference"])
    return secret


async def deliveries_condition(actor: Actor, status: str = "", target_id: int | None = None) -> Any:
    """Deliveries to the targets of the office's conferences, by status and target when given."""
    _office(actor)
    visible = await visible_conference_ids(actor)
    condition: Any = D.id > 0
    if visible is not None:
        condition = D.target.conference.is_in(sorted(visible) or [0])
    if status in DELIVERY_STATUS_LABELS:
        condition = condition & (D.status == status)
    if target_id is not None:
        condition = condition & (D.target == target_id)
    return condition


async def redeliver(actor: Actor, delivery_id: int) -> None:
    """A dead delivery goes back to the queue, due now, with a fresh retry period ("重新投递")."""
    async with db.atomic(D, delivery_id):
        _office(actor)
        visible = await visible_conference_ids(actor)
        condition: Any = D.id == delivery_id
        if visible is not None:
            condition = condition & D.target.conference.is_in(sorted(visible) or [0])
        row = await D.select(D.id, D.status, D.attempts, D.last_error, D.target.conference.as_alias("conference")).where(
            condition).first()
        if row is None:
            raise NotFound(DELIVERY_NOT_FOUND)
        if row["status"] != "dead":
            raise Conflict(_("只有投递失败的记录可以重新投递。"))
        updated = await D.update({D.status: "queued", D.next_attempt_at: now(), D.failing_since: None}).where(
            (D.id == delivery_id) & (D.status == "dead")).returning(D.id)
        if updated:
            await record(actor, "redeliver", "integration_delivery", delivery_id, conference_id=row["conference"],
                         before={"status": "dead", "attempts": row["attempts"], "last_error": row["last_error"]},
                         after={"status": "queued"})
