"""Writing and reading the audit trail. Every service that changes state calls `record` inside the
same transaction as the change, so the trail and the data cannot disagree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from conference.accounts.actor import Actor
from conference.audit.tables import AuditEvent
from conference.timefmt import now


def _plain(value: Any) -> Any:
    # Instants in UTC, so that one moment written in two zones is not reported as a change.
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def snapshot(row: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {name: _plain(row.get(name)) for name in fields}


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, so that the trail shows what an edit did."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


async def record(
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: int,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    conference_id: int | None = None,
    actor_name: str | None = None,
) -> None:
    """`actor_name` names an actor without an account (e.g. a unit answering through its link)."""
    await AuditEvent.insert(
        AuditEvent(
            at=now(),
            actor=actor.id if actor else None,
            actor_name=actor.label if actor else (actor_name or "system"),
            action=action,
            entity=entity,
            entity_id=entity_id,
            conference_id=conference_id,
            before=dict(before) if before is not None else None,
            after=dict(after) if after is not None else None,
        )
    )
