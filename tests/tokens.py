"""Reply links as a unit receives them: the tables keep only token hashes, so tests read the clear
link from the notice that carried it (the outbox row), as the unit would from its e-mail."""

from __future__ import annotations

import re

from conference.notifications.tables import Notification

LINK = re.compile(r"/r/([A-Za-z0-9_\-]+)")


async def sent_reply_token(invitation_id: int) -> str | None:
    """The token of the latest notice for the invitation (None when none carried a link)."""
    rows = await Notification.select(Notification.body).where(
        (Notification.entity == "invitation") & (Notification.entity_id == invitation_id)
    ).order_by(Notification.id, ascending=False)
    for row in rows:
        if found := LINK.search(row["body"]):
            return found.group(1)
    return None
