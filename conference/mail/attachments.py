"""Files that outbox messages carry (conference.mail.tables.NotificationAttachment).

A published minutes PDF is attached by reference: one row per message names the publication, whose
bytes are stored once (minutes_publication.pdf) and read when the message is composed, so a PDF
sent to forty units is not stored forty times. A PDF above MAIL_ATTACHMENT_MAX_BYTES is not
attached at all: the message gives its link instead (see conference.minutes.publication.distribute)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from conference.db import fetch
from conference.db import ids as ids_in
from conference.mail.tables import NotificationAttachment


def fits(size: int, cap: int) -> bool:
    """Whether a file of `size` bytes goes as an attachment under the cap (0 or less: never)."""
    return 0 < size <= cap


async def attach_publication(notification_id: int, publication: dict[str, Any], filename: str) -> None:
    """Attach a published PDF to a queued message (inside the transaction that queued it)."""
    await NotificationAttachment.insert(NotificationAttachment(
        notification=notification_id, publication=publication["id"], filename=filename,
        content_type="application/pdf", size=publication["size"], sha256=publication["sha256"]))


async def for_messages(ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The attachments of the given messages with their bytes, in one query: {notification id: [{filename,
    content_type, sha256, data}]}."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = await fetch(
        """SELECT a.notification, a.filename, a.content_type, a.sha256, p.pdf AS data
           FROM notification_attachment a JOIN minutes_publication p ON p.id = a.publication
           WHERE a.notification IN ({}) ORDER BY a.notification, a.id""", ids_in(wanted))
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(int(row["notification"]), []).append({**row, "data": bytes(row["data"])})
    return found
