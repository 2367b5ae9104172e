"""The mail sender: delivers queued `notification` rows, each exactly once however many processes send.

1. Claim (conference.outbox): due rows become `sending` with a lease, in one short transaction
   committed before any network I/O, so concurrent senders never take the same row.
2. Deliver over SMTP (aiosmtplib: none / STARTTLS / SSL, AUTH when SMTP_USER is set), one
   connection per batch; or, without SMTP_HOST, as .eml files under the outbox directory
   (conference.mail.transports).
3. Record: `sent`; or, after a temporary failure (4xx, dropped connection, timeout), back to
   `queued` with `next_attempt_at` doubling from MAIL_RETRY_SECONDS (at least 30 s, at most an
   hour) for MAIL_RETRY_HOURS from the first failure; or `dead` with the server's reply, at once
   when the server refuses the recipient or the message for good (5xx), else when the retry period
   is over. The office sees dead letters at /mail/dead-letters and can send them again.

Shutdown (SIGTERM of `conference serve`, which cancels the sender): the message in flight is sent
and recorded under asyncio.shield, so a graceful stop never sends a message twice; the rest of
the claimed batch goes back to the queue at once instead of waiting out the lease. A process killed
outright (kill -9) leaves its batch `sending` until the lease runs out; the one message that may go
out twice is the one in flight when it died (the server said "250 OK", the UPDATE never ran), and the
repeat carries the same Message-ID, so receiving servers can drop it.

Rows without an address (streets read their messages in the UI) are never claimed."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Collection, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from conference import db
from conference.mail import attachments
from conference.mail.compose import compose
from conference.mail.transports import Transport, describe, permanent, transport_for
from conference.outbox import Outbox, RetryPolicy, run
from conference.settings import Settings, get_settings
from conference.timefmt import now

log = logging.getLogger("conference.mail")

BATCH = 20
# Retry delays never go below MIN_RETRY: MAIL_RETRY_SECONDS=0 would otherwise burn the whole retry
# period in one run. The ceiling is the outbox's MAX_BACKOFF.
MIN_RETRY = 30.0
# How long a cancelled sender waits for the message in flight to finish (send + record) before it
# gives up on it: several SMTP steps, each bounded by SMTP_TIMEOUT.
IN_FLIGHT_STEPS = 4
OUTBOX = Outbox(
    "notification", deliverable="email <> ''",
    returning="id, created_at, event, unit, street, email, subject, body, ics, attempts, status, failing_since",
)


def lease_seconds(settings: Settings) -> float:
    """How long a claimed row stays ours: longer than the slowest batch could take."""
    return max(900.0, BATCH * settings.smtp_timeout * 2)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(float(settings.mail_retry_seconds), settings.mail_retry_hours, floor_seconds=MIN_RETRY)


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds before the next attempt after `attempts` attempts: MAIL_RETRY_SECONDS (at least
    MIN_RETRY), then doubled each time, at most the outbox's MAX_BACKOFF."""
    return retry_policy(settings).backoff(attempts)


async def claim(limit: int = BATCH, *, ids: Sequence[int] | None = None, exclude: Collection[int] = (),
                settings: Settings | None = None) -> list[dict[str, Any]]:
    """Marks up to `limit` due rows `sending` for this sender and returns them. `ids` narrows the
    candidates (tests, and the office's "retry now"); `exclude` leaves out rows this run already
    tried."""
    settings = settings or get_settings()
    return await OUTBOX.claim(limit, lease_seconds=lease_seconds(settings), ids=ids, exclude=exclude)


async def _sent(row: dict[str, Any]) -> None:
    await OUTBOX.delivered(row, "sent", sent_at=now(), failing_since=None)


async def _failed(row: dict[str, Any], exc: BaseException, settings: Settings) -> str:
    """Back to the queue with a later `next_attempt_at` while the retry period lasts, else dead."""
    return await OUTBOX.failed(row, describe(exc), retry_policy(settings), permanent=permanent(exc))


async def release(rows: Sequence[dict[str, Any]], *, attempted: bool = False) -> None:
    """Rows this sender claimed but will not finish (it is stopping) go back to the queue, due at once."""
    if rows:
        log.info("mail: stopping; %d claimed message(s) returned to the queue", len(rows))
    await OUTBOX.release(rows, attempted=attempted)


@dataclass
class Outcome:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    ids: list[int] = field(default_factory=list)  # sent
    failed_ids: list[int] = field(default_factory=list)  # retried or dead
    unreachable: bool = False  # the server could not be reached at all

    def add(self, other: Outcome) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.ids += other.ids
        self.failed_ids += other.failed_ids
        self.unreachable = self.unreachable or other.unreachable

    def count(self, notification_id: int, result: str) -> None:
        if result == "sent":
            self.sent += 1
            self.ids.append(notification_id)
            return
        self.dead += result == "dead"
        self.retried += result == "retry"
        self.failed_ids.append(notification_id)


async def _unit_names(rows: list[dict[str, Any]]) -> dict[int, str]:
    units = sorted({int(r["unit"]) for r in rows if r.get("unit")})
    if not units:
        return {}
    found = await run("SELECT id, name FROM member_unit WHERE id IN ({})", db.ids(units))
    return {int(r["id"]): r["name"] for r in found}


async def _send_one(row: dict[str, Any], recipient_name: str, transport: Transport, settings: Settings) -> str:
    """Send one message and record the result: one step that a shutdown lets finish (see deliver)."""
    try:
        message = compose(row, recipient_name=recipient_name, settings=settings)
        await transport.send(message, sender=settings.mail_from, recipient=row["email"], row=row)
    except Exception as exc:  # noqa: BLE001 - a refused or failed message retries or dies; the batch goes on
        result = await _failed(row, exc, settings)
        log.warning("mail %s to %s: %s (%s)", row["id"], row["email"], describe(exc), result)
        return result
    await _sent(row)
    return "sent"


async def _finish_in_flight(step: asyncio.Future[str], row: dict[str, Any], settings: Settings) -> None:
    """After a cancellation: wait for the message in flight to be sent and recorded. Interrupting
    it between the server's "250 OK" and the UPDATE is exactly what sends a message twice."""
    done, _pending = await asyncio.wait({step}, timeout=IN_FLIGHT_STEPS * settings.smtp_timeout + 5)
    if done:
        return
    # The server hangs: give up on it; the message is queued again (whether the server kept it is
    # unknown, so at most this one message may arrive twice, with the same Message-ID).
    step.cancel()
    with suppress(BaseException):
        await step
    await release([row], attempted=True)


async def deliver(rows: list[dict[str, Any]], transport: Transport, settings: Settings) -> Outcome:
    outcome = Outcome()
    pending = list(rows)  # claimed and not yet tried: released to the queue if this task is cancelled
    try:
        names = await _unit_names(rows)
        files = await attachments.for_messages(int(r["id"]) for r in rows)
        for row in rows:
            row["attachments"] = files.get(int(row["id"]), [])
        try:
            await transport.open()
        except Exception as exc:  # noqa: BLE001 - connection refused, TLS or AUTH failure, timeout: every row retries
            log.warning("mail: cannot reach the server: %s", describe(exc))
            outcome.unreachable = True
            while pending:
                outcome.count(int(pending[0]["id"]), await _failed(pending[0], exc, settings))
                pending.pop(0)  # only once recorded: cancelled before that, it is released below
            return outcome
        while pending:
            row = pending.pop(0)
            step = asyncio.ensure_future(_send_one(row, names.get(int(row["unit"] or 0), ""), transport, settings))
            try:
                # Shielded: a shutdown cancels this task, not the send + record in flight.
                result = await asyncio.shield(step)
            except asyncio.CancelledError:
                await _finish_in_flight(step, row, settings)
                raise
            outcome.count(int(row["id"]), result)
    finally:
        if pending:
            await asyncio.shield(release(pending))
        await transport.close()
    return outcome


async def _claim(batch: int, ids: Sequence[int] | None, exclude: Collection[int], settings: Settings) -> list[dict[str, Any]]:
    """claim(), shielded: rows claimed just as the sender is cancelled go straight back to the queue
    instead of waiting out their lease."""
    step = asyncio.ensure_future(claim(batch, ids=ids, exclude=exclude, settings=settings))
    try:
        return await asyncio.shield(step)
    except asyncio.CancelledError:
        with suppress(Exception):
            await asyncio.shield(release(await step))
        raise


async def send_pending(transport: Transport | None = None, *, settings: Settings | None = None,
                       ids: Sequence[int] | None = None, batch: int = BATCH, max_batches: int = 50) -> Outcome:
    """Claims and delivers due messages batch by batch until none is left (or `max_batches`).

    A message that failed is not claimed again in the same run (it waits for its retry time), and
    when the server cannot be reached at all the run stops: the next run tries again."""
    settings = settings or get_settings()
    transport = transport or transport_for(settings)
    total = Outcome()
    for _ in range(max_batches):
        rows = await _claim(batch, ids, total.failed_ids, settings)
        if not rows:
            break
        total.add(await deliver(rows, transport, settings))
        if total.unreachable:
            break
    return total


async def mail_loop(interval_seconds: float) -> None:
    """Run by every server process; claims make concurrent loops safe. Failures wait for the next tick.
    Cancelling it (shutdown) finishes the message in flight and returns the rest of the batch."""
    if os.environ.get("MAIL_MAX_ATTEMPTS"):
        log.warning("MAIL_MAX_ATTEMPTS is no longer used: temporary failures are retried for MAIL_RETRY_HOURS "
                    "(now %s h); a permanent refusal (5xx) is a dead letter at once", get_settings().mail_retry_hours)
    while True:
        try:
            outcome = await send_pending()
            if outcome.sent or outcome.retried or outcome.dead:
                log.info("mail: %d sent, %d to retry, %d dead", outcome.sent, outcome.retried, outcome.dead)
        except Exception:  # the loop must survive a bad tick (database restart, ...)
            log.exception("mail run failed")
        await asyncio.sleep(interval_seconds)
