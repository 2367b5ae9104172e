"""Queueing notifications into the outbox. Called inside the transaction of the change it
announces, so a rolled-back change never sends anything."""

from __future__ import annotations

import re
from typing import Any

from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit
from conference.timefmt import now

# Personal links are passwords of sorts: offices read messages with them masked. Invitation replies
# /r/<token>, task actions /t/<task>/<token>, set-password links /password/<token>.
TOKEN_LINK = re.compile(r"(/r/|/t/\d+/|/password/)[A-Za-z0-9_\-]+")


def mask_links(text: str) -> str:
    """The text with the token of every personal link replaced by an ellipsis."""
    return TOKEN_LINK.sub(r"\1…", text)


async def queue(
    event: str,
    *,
    conference_id: int | None,
    subject: str,
    body: str,
    unit_id: int | None = None,
    street_id: int | None = None,
    email: str | None = None,
    entity: str = "",
    entity_id: int | None = None,
    ics: str | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Queue one message. Returns its id, or None when `dedupe_key` was already queued."""
    if email is None:
        email = await _address(unit_id, street_id)
    insert = Notification.insert(
        Notification(
            created_at=now(), event=event, unit=unit_id, street=street_id, email=email, subject=subject[:200],
            body=body, ics=ics, conference=conference_id, entity=entity, entity_id=entity_id, dedupe_key=dedupe_key, status="queued",
            next_attempt_at=now(),
        )
    )
    if dedupe_key is not None:
        # The unique key decides, not a prior SELECT: two processes queueing the same reminder at
        # the same moment both reach the INSERT, and the database keeps exactly one.
        insert = insert.on_conflict(target=Notification.dedupe_key, action="DO NOTHING")
    rows = await insert.returning(Notification.id)
    if not rows:
        return None
    # The reminder job's alerts also reach the groups' robots (conference.integrations).
    from conference.integrations.events import emit_for_notice

    await emit_for_notice(event, conference_id=conference_id, entity=entity, entity_id=entity_id, subject=subject, body=body)
    return int(rows[0]["id"])


async def _address(unit_id: int | None, street_id: int | None) -> str:
    if unit_id is not None:
        row: dict[str, Any] | None = await MemberUnit.select(MemberUnit.liaison_email).where(MemberUnit.id == unit_id).first()
        return row["liaison_email"] if row else ""
    # Streets have no mailbox in the registry: they read their notifications in the UI.
    return ""


async def recent_for(*, unit_id: int | None = None, street_id: int | None = None, limit: int = 20) -> list[dict[str, Any]]:
    query = Notification.select(Notification.id, Notification.created_at, Notification.event, Notification.subject,
                                Notification.body, Notification.status)
    if unit_id is not None:
        query = query.where(Notification.unit == unit_id)
    elif street_id is not None:
        query = query.where(Notification.street == street_id)
    else:
        return []
    return await query.order_by(Notification.id, ascending=False).limit(limit)
