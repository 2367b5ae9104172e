"""Demo records for the calendar and e-mail screens: a unit with a live feed address and one whose
address was revoked, and outbox messages in every delivery state (dead letters with the errors real
servers give, one waiting for its next attempt). The rest of the demo outbox is delivered by the
sender as soon as the server runs (as .eml files under var/outbox/ without SMTP_HOST)."""

from __future__ import annotations

import datetime as dt
import secrets

from conference import db
from conference.accounts.services import digest
from conference.calendar.tables import CalendarFeed
from conference.meetings.tables import Invitation, Meeting
from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit
from conference.timefmt import now

FEED_UNITS = {"兰山区市场监管局": False, "兰山派出所": True}  # unit name -> revoked
DEAD_ERRORS = [
    "550 5.1.1 <{email}>: Recipient address rejected: User unknown in virtual mailbox table",
    "554 5.7.1 Message rejected as spam by Content Filtering",
]
RETRY_ERROR = "451 4.3.0 Temporary lookup failure, please try again later"


async def load_calendar_demo() -> bool:
    if await CalendarFeed.exists():
        return False
    units = {r["name"]: r["id"] for r in await MemberUnit.select(MemberUnit.id, MemberUnit.name).where(
        MemberUnit.name.is_in(list(FEED_UNITS)))}
    at = now()
    async with db.atomic():
        for name, revoked in FEED_UNITS.items():
            if name in units:
                await CalendarFeed.insert(CalendarFeed(
                    unit=units[name], token_hash=digest(secrets.token_urlsafe(32)),
                    revoked=revoked, created_at=at - dt.timedelta(days=20), revoked_at=at - dt.timedelta(days=3) if revoked else None))
        # The latest notified meeting's invitations: two dead letters and one waiting to be retried.
        meeting = await Meeting.select(Meeting.id).where(Meeting.status == "notified").order_by(Meeting.starts_at).first()
        if meeting is None:
            return True
        invitations = [r["id"] for r in await Invitation.select(Invitation.id).where(Invitation.meeting == meeting["id"])]
        rows = await Notification.select(Notification.id, Notification.email).where(
            (Notification.entity == "invitation") & Notification.entity_id.is_in(invitations or [0])
            & (Notification.status == "queued") & (Notification.email != "")).order_by(Notification.id).limit(3)
        for row, error in zip(rows, DEAD_ERRORS, strict=False):
            await Notification.update({Notification.status: "dead", Notification.attempts: 5, Notification.next_attempt_at: None,
                                       Notification.last_error: error.format(email=row["email"])}).where(Notification.id == row["id"])
        if len(rows) == 3:
            await Notification.update({Notification.attempts: 2, Notification.last_error: RETRY_ERROR,
                                       Notification.next_attempt_at: at + dt.timedelta(minutes=30)}).where(
                Notification.id == rows[2]["id"])
    return True
