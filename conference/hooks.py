"""Hooks: how a lower layer tells the layers above it that something happened, without importing them.

Every audited change (conference.audit.services.record) is handed, inside its own transaction, to
the listeners registered with `on_audit`. The integrations outbox is one: the app factory, the CLI
and the test suite call conference.integrations.events.listen() at start, so that each change that
is an integration event leaves its delivery rows in the same transaction (a listener that raises
rolls the change back, as the direct call it replaces did)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuditedChange:
    action: str
    entity: str
    entity_id: int
    conference_id: int | None
    actor: str  # the actor's label, or the name of an actor without an account, or "system"
    before: Mapping[str, Any] | None  # secrets already removed
    after: Mapping[str, Any] | None


AuditListener = Callable[[AuditedChange], Awaitable[None]]
_audit_listeners: list[AuditListener] = []


def on_audit(listener: AuditListener) -> None:
    """Registers `listener` for every audited change (once, however often this is called)."""
    if listener not in _audit_listeners:
        _audit_listeners.append(listener)


async def audited(change: AuditedChange) -> None:
    for listener in _audit_listeners:
        await listener(change)
