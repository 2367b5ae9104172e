"""The outbox's writing side: which audited changes are integration events, and the rows they leave.

Every state change already goes through `conference.audit.services.record` inside its own
transaction, which hands it to the listeners of conference.hooks: `listen` registers
`emit_for_audit`, the one place that turns (entity, action, after) into an event type
(`event_type`); the reminder job's alerts are queued through
`conference.notifications.services.queue`, which calls `emit` too. Nothing is written when no active
target of the conference wants the event; otherwise one integration_event row and one
integration_delivery row per matching target, in the transaction of the change: a change that rolls
back leaves no delivery, and a committed one always has its deliveries (the sender,
conference.integrations.sender, posts them later)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from conference import db, hooks
from conference.i18n import gettext as _
from conference.integrations import messages
from conference.integrations.tables import IntegrationDelivery, IntegrationEvent
from conference.settings import get_settings
from conference.timefmt import now

EVENT_LABELS = {
    "item.status_changed": _("议题状态变化"),
    "task.status_changed": _("督办任务状态变化"),
    "task.assigned": _("督办任务交办"),
    "task.urged": _("催办"),
    "task.alert": _("到期和逾期提醒"),
    "meeting.notified": _("会议通知"),
    "meeting.changed": _("会议变更"),
    "meeting.cancelled": _("会议取消"),
    "minutes.published": _("会议纪要印发"),
}
# What a new robot is subscribed to unless the office chooses otherwise: the notices a group reads.
ROBOT_DEFAULT_EVENTS = ("meeting.notified", "meeting.changed", "meeting.cancelled", "task.assigned", "task.urged",
                        "task.alert")


def event_type(entity: str, action: str, after: Mapping[str, Any] | None) -> str | None:
    """The integration event an audited change is, or None. `after` holds only the fields that changed."""
    after = after or {}
    if entity == "agenda_item" and "status" in after:
        return "item.status_changed"
    if entity == "task":
        if action == "assign":
            return "task.assigned"
        if action == "urge":
            return "task.urged"
        if "status" in after:
            return "task.status_changed"
    if entity == "meeting":
        if after.get("status") == "cancelled":
            return "meeting.cancelled"
        if action == "notify":
            return "meeting.notified"
        if action == "reschedule":  # a notified meeting's date, time or place changed
            return "meeting.changed"
    if entity == "minutes" and action == "publish":
        return "minutes.published"
    return None


def _events_of(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(v) for v in value] if isinstance(value, list) else []


async def _targets(conference_id: int, kind_event: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT id, kind, unit, events FROM integration_target WHERE conference = {} AND active = {}",
                          conference_id, True)
    return [r for r in rows if kind_event in _events_of(r["events"])]


async def emit(
    type_: str,
    *,
    conference_id: int | None,
    entity: str,
    entity_id: int | None,
    action: str = "",
    actor: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    title: str | None = None,
    text: str | None = None,
) -> int | None:
    """Writes the event and its deliveries for the conference's targets that want it; returns the
    event id, or None when no target wants it. `title`/`text` give a robot message's words when the
    caller already composed them (the reminder job)."""
    if conference_id is None:
        return None
    targets = await _targets(int(conference_id), type_)
    if not targets:
        return None
    occurred = now()
    rows = await IntegrationEvent.insert(IntegrationEvent(
        type=type_, conference=conference_id, entity=entity, entity_id=entity_id, occurred_at=occurred, payload={},
    )).returning(IntegrationEvent.id)
    event_id = int(rows[0]["id"])
    payload = {
        "id": str(event_id), "type": type_, "occurred_at": occurred.isoformat(), "conference_id": conference_id,
        "entity": entity, "entity_id": entity_id, "action": action, "actor": actor,
        "before": dict(before or {}), "after": dict(after or {}),
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    await IntegrationEvent.update({IntegrationEvent.payload: body}).where(IntegrationEvent.id == event_id)
    notice: messages.Notice | None = None
    deliveries = []
    for target in targets:
        if target["kind"] == "webhook":
            target_body = body
        else:
            if notice is None:
                notice = await messages.notice_for(type_, entity, entity_id, after or {}, title=title, text=text,
                                                   base_url=get_settings().base_url)
            if target["unit"] is not None and int(target["unit"]) not in notice.units:
                continue  # a unit's group hears only about that unit
            mobiles = notice.mobiles_for(None if target["unit"] is None else int(target["unit"]))
            target_body = messages.robot_body(target["kind"], notice, mobiles)
        deliveries.append(IntegrationDelivery(target=target["id"], event=event_id, body=target_body, status="queued",
                                              next_attempt_at=occurred, created_at=occurred))
    if deliveries:
        await IntegrationDelivery.insert(*deliveries)
    return event_id


async def emit_for_audit(change: hooks.AuditedChange) -> None:
    """Hears every audited change (registered by `listen`)."""
    type_ = event_type(change.entity, change.action, change.after)
    if type_ is not None:
        await emit(type_, conference_id=change.conference_id, entity=change.entity, entity_id=change.entity_id,
                   action=change.action, actor=change.actor, before=change.before, after=change.after)


def listen() -> None:
    """Audited changes become integration events from now on: called by the app factory, the CLI and
    the tests at start (conference.hooks)."""
    hooks.on_audit(emit_for_audit)


async def emit_for_notice(event: str, *, conference_id: int | None, entity: str, entity_id: int | None, subject: str,
                          body: str) -> None:
    """Called by `conference.notifications.services.queue`: the reminder job's 催办 and overdue
    alerts (reminder_<rule>) reach the groups with the words of the e-mail."""
    if event.startswith("reminder_") and entity == "task":
        await emit("task.alert", conference_id=conference_id, entity=entity, entity_id=entity_id,
                   action=event.removeprefix("reminder_"), actor="system", after={"alert": event.removeprefix("reminder_")},
                   title=subject, text=body)
