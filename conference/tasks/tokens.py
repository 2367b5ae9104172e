"""The tokens of personal task links (/t/<task>/<token>), like the invitation reply links: random,
192 bits, stored only as their SHA-256 (table task_link), so the clear link exists only in the
message that carries it. One live link per task and holder: issuing a new one revokes the older.

The rules of who may do what stay in conference.tasks.services; this module only issues, finds and
revokes tokens, inside the caller's transaction (which locks the task row)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from conference.settings import get_settings
from conference.tasks.tables import TaskLink
from conference.timefmt import now

UNIT = "unit"  # the unit named in the task: acknowledge, report, ask for an extension
STREET = "street"  # the street that raised the item: rate the closed task
# A unit's link lasts the life of an ordinary task with extensions; the office re-sends it if needed.
LIFETIME = {UNIT: dt.timedelta(days=180), STREET: dt.timedelta(days=60)}
MAX_TOKEN_LENGTH = 64


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def url(task_id: int, token: str) -> str:
    return f"{get_settings().base_url}/t/{task_id}/{token}"


async def revoke(task_id: int, holder: str) -> int:
    """Ends every live link of the holder for the task; returns how many ended."""
    ended = await TaskLink.update({TaskLink.revoked_at: now()}).where(
        (TaskLink.task == task_id) & (TaskLink.holder == holder) & TaskLink.revoked_at.is_null()
    ).returning(TaskLink.id)
    return len(ended)


async def issue(task_id: int, holder: str) -> str:
    """A new link for the holder (the older one stops working); returns the clear token."""
    await revoke(task_id, holder)
    token = secrets.token_urlsafe(24)
    current = now()
    await TaskLink.insert(TaskLink(task=task_id, holder=holder, token_hash=digest(token), created_at=current,
                                   expires_at=current + LIFETIME[holder]))
    return token


async def find(task_id: int, token: str) -> dict[str, Any] | None:
    """The live link for this task and token, or None (wrong task, revoked, expired or unknown).
    The lookup is by hash; the stored hash is compared again in constant time, so the answer takes
    the same time whichever character of a guessed token is wrong."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    wanted = digest(token)
    row = await TaskLink.select().where(TaskLink.token_hash == wanted).first()
    if row is None or not hmac.compare_digest(row["token_hash"], wanted):
        return None
    expires = row["expires_at"] if row["expires_at"].tzinfo else row["expires_at"].replace(tzinfo=dt.UTC)
    if row["task"] != task_id or row["revoked_at"] is not None or expires <= now():
        return None
    return row


async def live(task_id: int) -> dict[str, dict[str, Any]]:
    """The live link of each holder of the task (for the office's task page): when issued, until when."""
    rows = await TaskLink.select(TaskLink.holder, TaskLink.created_at, TaskLink.expires_at).where(
        (TaskLink.task == task_id) & TaskLink.revoked_at.is_null() & (TaskLink.expires_at > now())
    ).order_by(TaskLink.id)
    return {r["holder"]: r for r in rows}
