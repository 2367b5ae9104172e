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


TASK_LINK = re.compile(r"(/t/\d+/[A-Za-z0-9_\-]+)")


async def sent_task_link(task_id: int, *, street: bool) -> str | None:
    """The path of the latest personal task link sent for the task: to its unit (the task e-mail, a
    re-send) or, with `street`, to its street (the request to rate). None when none was sent."""
    holder = Notification.street.is_not_null() if street else Notification.unit.is_not_null()
    rows = await Notification.select(Notification.body).where(
        (Notification.entity == "task") & (Notification.entity_id == task_id) & holder
    ).order_by(Notification.id, ascending=False)
    for row in rows:
        if found := TASK_LINK.search(row["body"]):
            return found.group(1)
    return None
