"""Reading what an invitation shows: the meeting, its conference and convenor, the agenda and the
invited units with their replies, in three queries. Inside a transaction (notify_meeting,
cancel_meeting) the reads see that transaction's changes, so the queued .ics is the new version."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conference.calendar import ics
from conference.db import fetch
from conference.settings import get_settings
from conference.timefmt import now


async def meeting_context(meeting_id: int) -> dict[str, Any] | None:
    rows = await fetch(
        """SELECT m.id, m.uid, m.sequence, m.status, m.kind, m.title, m.starts_at, m.ends_at, m.location, m.notes,
                  m.cancel_reason, m.created_at, m.notified_at, m.conference, c.name AS conference_name,
                  c.office_email, p.name AS presiding_name, p.title AS presiding_title, m.requirements,
                  m.reply_deadline, m.notice_number, m.version, c.office_contact, c.office_phone
           FROM meeting m JOIN conference c ON c.id = m.conference LEFT JOIN person p ON p.id = m.presiding
           WHERE m.id = {}""", meeting_id)
    if not rows:
        return None
    meeting = dict(rows[0])
    meeting["agenda"] = await fetch(
        """SELECT a.id, a.title, s.name AS street_name FROM agenda_item a LEFT JOIN street s ON s.id = a.street
           WHERE a.meeting = {} ORDER BY a.position, a.id""", meeting_id)
    meeting["invitations"] = await fetch(
        """SELECT i.id, i.unit, i.role, i.reply, i.token_revoked, i.notified_sequence, i.replied_at,
                  u.name AS unit_name, u.liaison_email AS email
           FROM invitation i JOIN member_unit u ON u.id = i.unit WHERE i.meeting = {}
           ORDER BY i.role, u.sort_key, u.name, i.id""", meeting_id)
    return meeting


def render_invitation(meeting: dict[str, Any], unit_id: int | None = None, stamp: dt.datetime | None = None,
                      reply_token: str | None = None, uninvited: bool = False) -> str:
    """The invitation (REQUEST, or CANCEL once cancelled) for one unit, or the office's copy.

    `reply_token`: the unit's personal link, known in clear only while the notice that sends it is
    composed (the table keeps its hash); without it the copy carries no reply link."""
    settings = get_settings()
    if reply_token is not None and unit_id is not None:
        meeting = {**meeting, "invitations": [{**i, "token": reply_token} if i["unit"] == unit_id else i
                                              for i in meeting.get("invitations") or []]}
    return ics.invitation(meeting, base_url=settings.base_url, mail_from=settings.mail_from, tz=settings.tz,
                          stamp=stamp or now(), unit_id=unit_id, uninvited=uninvited)


async def invitation_ics(meeting_id: int, unit_id: int | None = None, stamp: dt.datetime | None = None) -> str | None:
    meeting = await meeting_context(meeting_id)
    if meeting is None:
        return None
    return render_invitation(meeting, unit_id, stamp)
