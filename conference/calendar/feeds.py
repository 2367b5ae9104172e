"""Per-unit subscription feeds: the secret token behind /feeds/{token}.ics, and the feed itself.

The feed holds the meetings the unit was invited to (notified, held, cancelled: never drafts, never
a meeting without its invitation), each once whatever the number of conferences it belongs to,
and the deadlines of its supervised tasks as all-day events. Three queries whatever its size;
events are serialised once per content (see ics.EventCache)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.querystring import QueryString

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.services import digest
from conference.audit.services import record
from conference.calendar import ics
from conference.calendar.tables import CalendarFeed
from conference.db import fetch, listed
from conference.errors import Forbidden
from conference.i18n import gettext as _
from conference.roles import Role
from conference.settings import get_settings
from conference.timefmt import now, today

HISTORY_DAYS = 366  # meetings and closed tasks older than this drop out of the feed
TOKEN_BYTES = 32
TOKEN_MAX = 64
OPEN_TASKS = ("assigned", "acknowledged", "in_progress", "reported_done", "returned")


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str
    unit_name: str
    meetings: int
    tasks: int


# ---------------------------------------------------------------- tokens


def _own_unit(actor: Actor) -> int:
    if actor.role != Role.UNIT or actor.unit_id is None:
        raise Forbidden(_("只有成员单位账号可以管理日历订阅。"))
    return actor.unit_id


async def active_feed(unit_id: int) -> dict[str, Any] | None:
    return await CalendarFeed.select().where(
        (CalendarFeed.unit == unit_id) & (CalendarFeed.revoked == False)  # noqa: E712 - Piccolo column comparison
    ).order_by(CalendarFeed.id, ascending=False).first()


async def _revoke_all(unit_id: int) -> list[int]:
    rows = await CalendarFeed.select(CalendarFeed.id).where(
        (CalendarFeed.unit == unit_id) & (CalendarFeed.revoked == False))  # noqa: E712
    if rows:
        await CalendarFeed.update({CalendarFeed.revoked: True, CalendarFeed.revoked_at: now()}).where(
            CalendarFeed.id.is_in([r["id"] for r in rows]))
    return [r["id"] for r in rows]


async def issue_feed(actor: Actor) -> str:
    """A new secret address for the actor's unit; every earlier one stops working at once."""
    unit_id = _own_unit(actor)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with db.atomic():
        revoked = await _revoke_all(unit_id)
        # Only the hash is kept: the address is shown once, on the page answering this request.
        rows = await CalendarFeed.insert(CalendarFeed(unit=unit_id, token_hash=digest(token), revoked=False,
                                                      created_at=now())).returning(
            CalendarFeed.id)
        await record(actor, "issue_feed", "calendar_feed", int(rows[0]["id"]), after={"unit": unit_id, "revoked": revoked})
    return token


async def revoke_feed(actor: Actor) -> int:
    """Stops the unit's feed address; returns how many addresses were revoked."""
    unit_id = _own_unit(actor)
    async with db.atomic():
        revoked = await _revoke_all(unit_id)
        for feed_id in revoked:
            await record(actor, "revoke_feed", "calendar_feed", feed_id, after={"unit": unit_id})
    return len(revoked)


async def unit_for_token(token: str) -> int | None:
    if not token or len(token) > TOKEN_MAX or not all(c.isalnum() or c in "-_" for c in token):
        return None
    # Through the reused read connection (db.fetch): this is on the path of every poll.
    rows = await fetch("SELECT unit FROM calendar_feed WHERE token_hash = {} AND revoked = {}", digest(token), False)
    return int(rows[0]["unit"]) if rows else None


def feed_urls(token: str) -> dict[str, str]:
    base = get_settings().base_url.rstrip("/")
    https = f"{base}/feeds/{token}.ics"
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


# ---------------------------------------------------------------- the feed


async def feed_rows(unit_id: int, day: dt.date | None = None) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """The unit's name, its meetings (with `agenda`) and its task deadlines, as plain rows."""
    day = day or today()
    since = dt.datetime.combine(day - dt.timedelta(days=HISTORY_DAYS), dt.time(), get_settings().tz)
    unit = await fetch("SELECT name FROM member_unit WHERE id = {}", unit_id)
    if not unit:
        return "", [], []
    # A meeting is in the feed only through the unit's own invitation: membership alone is not enough.
    invited = QueryString("SELECT i.meeting FROM invitation i WHERE i.unit = {}", unit_id)
    meetings = await fetch(QueryString(
        """SELECT m.id, m.uid, m.sequence, m.status, m.kind, m.title, m.starts_at, m.ends_at, m.location, m.notes,
                   m.cancel_reason, m.created_at, m.notified_at, m.changed_at, c.name AS conference_name, p.name AS presiding_name,
                   p.title AS presiding_title, m.requirements, m.reply_deadline, m.notice_number, c.office_contact,
                   c.office_phone, c.office_email
            FROM meeting m JOIN conference c ON c.id = m.conference LEFT JOIN person p ON p.id = m.presiding
            WHERE m.id IN ({}) AND m.status <> 'draft' AND m.starts_at >= {}
            ORDER BY m.starts_at, m.id""", invited, since))
    agenda = await fetch(QueryString(
        """SELECT a.meeting, a.title, s.name AS street_name
            FROM agenda_item a JOIN meeting m ON m.id = a.meeting LEFT JOIN street s ON s.id = a.street
            WHERE a.meeting IN ({}) AND m.status <> 'draft' AND m.starts_at >= {}
            ORDER BY a.meeting, a.position, a.id""", invited, since))
    by_meeting: dict[int, list[dict[str, Any]]] = {}
    for item in agenda:
        by_meeting.setdefault(item["meeting"], []).append(item)
    for meeting in meetings:
        meeting["agenda"] = by_meeting.get(meeting["id"], [])
    tasks = await fetch(QueryString(
        """SELECT t.id, t.deadline, t.status, t.role, t.assigned_at, t.acknowledged_at, t.reported_done_at,
                   t.closed_at, t.rated_at, r.text, m.title AS meeting_title
            FROM task t JOIN resolution r ON r.id = t.resolution LEFT JOIN meeting m ON m.id = r.meeting
            WHERE t.unit = {} AND t.status <> 'cancelled' AND (t.deadline >= {} OR t.status IN ({}))
            ORDER BY t.deadline, t.id""", unit_id, day - dt.timedelta(days=HISTORY_DAYS), listed(OPEN_TASKS)))
    for task in tasks:
        changes = [task[k] for k in ("acknowledged_at", "reported_done_at", "closed_at", "rated_at") if task[k] is not None]
        task["changed_at"] = max(changes) if changes else None
    return unit[0]["name"], meetings, tasks


# Raised when the feed's presentation changes, so that every client fetches it again after an upgrade.
FEED_FORMAT = "2"


async def feed_version(unit_id: int, day: dt.date | None = None) -> str:
    """A fingerprint of everything the unit's feed is made of, in one query and without building it:
    the ETag, so that a client polling an unchanged feed gets its 304 for the cost of this query.

    Every row the feed shows is counted with the sum of its ids and of its `version` (raised by each
    audited update, conference.records): a row that appears, leaves or changes moves the sums. Agenda
    positions are reordered without a new version, so they count as SUM(position * id). Names shown
    from the small registry tables (conferences, people, streets, the unit) count by their versions;
    the day counts because the history window moves with it."""
    day = day or today()
    since = dt.datetime.combine(day - dt.timedelta(days=HISTORY_DAYS), dt.time(), get_settings().tz)
    invited = QueryString("SELECT i.meeting FROM invitation i WHERE i.unit = {}", unit_id)
    rows = await fetch(QueryString(
        """SELECT COUNT(*) AS n, COALESCE(SUM(m.id), 0) AS a, COALESCE(SUM(m.version), 0) AS b, 0 AS c
            FROM meeting m WHERE m.id IN ({}) AND m.status <> 'draft' AND m.starts_at >= {}
            UNION ALL
            SELECT COUNT(*), COALESCE(SUM(a.id), 0), COALESCE(SUM(a.version), 0), COALESCE(SUM(a.position * a.id), 0)
            FROM agenda_item a JOIN meeting m ON m.id = a.meeting
            WHERE a.meeting IN ({}) AND m.status <> 'draft' AND m.starts_at >= {}
            UNION ALL
            SELECT COUNT(*), COALESCE(SUM(t.id), 0), COALESCE(SUM(t.version), 0),
                   COALESCE(SUM(r.version), 0) + COALESCE(SUM(m.version), 0)
            FROM task t JOIN resolution r ON r.id = t.resolution LEFT JOIN meeting m ON m.id = r.meeting
            WHERE t.unit = {} AND t.status <> 'cancelled' AND (t.deadline >= {} OR t.status IN ({}))
            UNION ALL
            SELECT (SELECT COALESCE(SUM(version), 0) FROM conference), (SELECT COALESCE(SUM(version), 0) FROM person),
                   (SELECT COALESCE(SUM(version), 0) FROM street), (SELECT COALESCE(MAX(version), 0) FROM member_unit WHERE id = {})""",
        invited, since, invited, since, unit_id, day - dt.timedelta(days=HISTORY_DAYS), listed(OPEN_TASKS), unit_id))
    parts = [FEED_FORMAT, str(day), *(f"{r['n']}.{r['a']}.{r['b']}.{r['c']}" for r in rows)]
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32] + '"'


def build_feed(unit_name: str, meetings: list[dict[str, Any]], tasks: list[dict[str, Any]], *,
               base_url: str | None = None, tz: ZoneInfo | None = None) -> Feed:
    from conference.tasks.states import TASK_STATUS_LABELS

    settings = get_settings()
    base, tz = base_url or settings.base_url, tz or settings.tz
    events = [ics.feed_meeting_event(m, base_url=base, tz=tz) for m in meetings]
    events += [ics.feed_task_event(t, base_url=base, status_label=TASK_STATUS_LABELS.get(t["status"], t["status"])) for t in tasks]
    body = ics.feed(_("{unit}·会议与督办日程").format(unit=unit_name), events, tz)
    return Feed(body=body, etag=ics.etag(body), unit_name=unit_name, meetings=len(meetings), tasks=len(tasks))


async def unit_feed(unit_id: int, day: dt.date | None = None) -> Feed:
    unit_name, meetings, tasks = await feed_rows(unit_id, day)
    return build_feed(unit_name, meetings, tasks)
