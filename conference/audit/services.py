"""Writing and reading the audit trail. Every service that changes state calls `record` inside the
same transaction as the change, so the trail and the data cannot disagree.

Secrets never enter the trail: password hashes, API, reply and feed tokens and their hashes, session
keys, SMTP passwords... are dropped from every snapshot and every before/after written (`SECRET_FIELDS`
and the name patterns of `is_secret`); migration 2026-12-03T10:02 removed those already stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from conference import hooks
from conference.audit.tables import AuditEvent
from conference.timefmt import now

if TYPE_CHECKING:
    from conference.accounts.actor import Actor

# Columns and keys that hold secrets or what stands for them (hashes open nothing by themselves but
# can be attacked offline, and a token hash identifies a live link).
SECRET_FIELDS = frozenset({
    "password", "password_hash", "new_password", "old_password", "api_token", "api_token_hash", "token",
    "token_hash", "reply_token", "reply_token_hash", "feed_token", "feed_token_hash", "key", "key_hash",
    "session_key", "csrf_token", "secret", "secret_key", "smtp_password",
})
SECRET_MARKERS = ("password", "secret", "token", "_hash", "passwd")


def is_secret(name: str) -> bool:
    """Deny list: the names above, and any name containing password/secret/passwd, ending in _hash
    or naming a token (token, *_token, token_*), except the flag `token_revoked`."""
    lowered = name.lower()
    if lowered in SECRET_FIELDS:
        return True
    if lowered == "token_revoked":
        return False
    return any(marker in lowered for marker in SECRET_MARKERS)


def without_secrets(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (without_secrets(v) if isinstance(v, Mapping) else v) for k, v in values.items() if not is_secret(str(k))}


def _plain(value: Any) -> Any:
    # Instants in UTC, so that one moment written in two zones is not reported as a change.
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def snapshot(row: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {name: _plain(row.get(name)) for name in fields if not is_secret(name)}


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
            actor=actor.account_id if actor else None,
            actor_name=actor.label if actor else (actor_name or "system"),
            action=action,
            entity=entity,
            entity_id=entity_id,
            conference_id=conference_id,
            before=without_secrets(before),
            after=without_secrets(after),
        )
    )
    # The same change, to whoever listens (the integrations outbox: its event rows are written in this
    # transaction and posted later by conference.integrations.sender).
    await hooks.audited(hooks.AuditedChange(
        action=action, entity=entity, entity_id=entity_id, conference_id=conference_id,
        actor=actor.label if actor else (actor_name or "system"), before=without_secrets(before), after=without_secrets(after)))
