"""The office's side of e-mail delivery: which messages it may see, dead letters and their retry,
and a message as it was (or will be) sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from piccolo.querystring import QueryString

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.audit.services import record
from conference.calendar.ics import method_of
from conference.errors import Conflict, NotFound
from conference.i18n import gettext as _
from conference.mail import attachments
from conference.mail.compose import compose, eml_name
from conference.meetings.services import require_manager
from conference.notifications.tables import Notification
from conference.settings import get_settings
from conference.sqlcompile import SQL, RawWhere
from conference.timefmt import now
from conference.visibility import conference_in

N = Notification
MESSAGE_NOT_FOUND = _("没有找到该邮件，或您无权查看。")


async def scope(actor: Actor) -> Any:
    """Admin: every message (None). Office: the messages about its own conferences (and those
    below it), whoever they went to."""
    require_manager(actor)
    visible = await visible_conference_ids(actor)
    if visible is None:
        return None
    return conference_in(N, visible)


async def dead_letters_condition(actor: Actor) -> Any:
    """The dead letters the actor may see: the dead-letter page lists them, the workbench counts them.
    The SQL Piccolo makes of `(N.status == "dead") & scope` (tests/test_task_filters_kept compares
    the two), written directly: its condition objects cost ~10 µs of every home page."""
    where = await scope(actor)
    if where is None:
        return RawWhere('"notification"."status" = {}', "dead")
    return RawWhere('("notification"."status" = {} AND {})', "dead", where.querystring)


async def count_dead_letters(actor: Actor) -> int:
    return int((await db.fetch(await dead_letters_sql(actor)))[0]["n"])


async def dead_letters_sql(actor: Actor, name: str = "n") -> QueryString:
    """The one-row statement of count_dead_letters, its count named `name` (a constant): the
    workbench runs it beside its other counts."""
    return SQL('SELECT {} FROM "notification" WHERE {}', SQL("COUNT(*) AS " + name),
               (await dead_letters_condition(actor)).querystring)


async def reply_scope(actor: Actor) -> Any:
    """Calendar replies: admin all (None); an office those about its conferences' meetings. A reply
    that matches no meeting belongs to no conference, so only the admin sees it."""
    from conference.mail.tables import CalendarReply

    require_manager(actor)
    visible = await visible_conference_ids(actor)
    if visible is None:
        return None
    return CalendarReply.conference.is_in(sorted(visible) or [0])


async def message_for(actor: Actor, notification_id: int) -> dict[str, Any]:
    where = await scope(actor)
    condition = N.id == notification_id if where is None else (N.id == notification_id) & where
    row = await N.select(*N.all_columns(), N.unit.name.as_alias("unit_name"), N.street.name.as_alias("street_name")).where(
        condition).first()
    if row is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    row["attachments"] = (await attachments.for_messages([notification_id])).get(notification_id, [])
    return row


def eml_path(row: dict[str, Any]) -> Path:
    return get_settings().outbox_dir / eml_name(row)


def message_bytes(row: dict[str, Any]) -> tuple[bytes, bool]:
    """The .eml as written by the sender when there is one (True), else composed from the row now
    (composition is deterministic, so it is the message the sender sends or sent over SMTP)."""
    path = eml_path(row)
    if path.is_file():
        return path.read_bytes(), True
    name = row.get("unit_name") or row.get("street_name") or ""
    return compose(row, recipient_name=name).as_bytes(), False


def _again() -> dict[Any, Any]:
    # A fresh start: due now, and a whole retry period (MAIL_RETRY_HOURS) from its next failure.
    return {N.status: "queued", N.attempts: 0, N.next_attempt_at: now(), N.failing_since: None}


async def retry(actor: Actor, notification_id: int) -> None:
    """A dead letter goes back to the queue with a fresh set of attempts."""
    async with db.atomic():
        row = await message_for(actor, notification_id)
        if row["status"] != "dead":
            raise Conflict(_("只有发送失败的邮件可以重新发送。"))
        await N.update(_again()).where((N.id == notification_id) & (N.status == "dead"))
        await record(actor, "mail_retry", "notification", notification_id,
                     before={"status": "dead", "attempts": row["attempts"], "last_error": row["last_error"]},
                     after={"status": "queued"})


async def retry_all(actor: Actor) -> int:
    async with db.atomic():
        rows = await N.select(N.id).where(await dead_letters_condition(actor))
        ids = [r["id"] for r in rows]
        if ids:
            await N.update(_again()).where(N.id.is_in(ids) & (N.status == "dead"))
            for notification_id in ids:
                await record(actor, "mail_retry", "notification", notification_id, after={"status": "queued"})
        return len(ids)


async def meeting_messages(actor: Actor, meeting_id: int) -> list[dict[str, Any]]:
    """The messages about one meeting: invitations, changes, cancellations, removals."""
    from conference.meetings.services import managed_meeting
    from conference.meetings.tables import Invitation

    await managed_meeting(actor, meeting_id)
    invitations = [r["id"] for r in await Invitation.select(Invitation.id).where(Invitation.meeting == meeting_id)]
    condition = ((N.entity == "invitation") & N.entity_id.is_in(invitations or [0])) | (
        (N.entity == "meeting") & (N.entity_id == meeting_id))
    where = await scope(actor)
    if where is not None:
        condition = condition & where
    rows = await N.select(N.id, N.created_at, N.event, N.email, N.subject, N.status, N.attempts, N.sent_at, N.last_error,
                          N.ics, N.unit.name.as_alias("unit_name")).where(condition).order_by(N.id)
    for row in rows:
        ics = row.pop("ics") or ""
        row["method"] = method_of(ics) if ics else ""
    return rows
