"""The sender: delivers queued outbox rows, each exactly once however many processes send.

1. Claim: rows that are due (queued and `next_attempt_at` reached, or `sending` whose lease ran
   out because their sender died) become `sending`, with `attempts + 1` and a lease in
   `next_attempt_at`, in one short transaction that commits before any network I/O.
   PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, then UPDATE: concurrent senders skip each
   other's rows instead of waiting for them. SQLite: one UPDATE ... WHERE status = 'queued' ...
   RETURNING inside an IMMEDIATE transaction: SQLite has one writer, so a row is claimed once.
2. Deliver over SMTP (aiosmtplib: none / STARTTLS / SSL, AUTH when SMTP_USER is set), one
   connection per batch; or, without SMTP_HOST, as .eml files under the outbox directory.
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
import datetime as dt
import logging
import os
import signal
import ssl
import tempfile
from collections.abc import Collection, Coroutine, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiosmtplib
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from conference import db
from conference.mail import attachments
from conference.mail.compose import compose, eml_name
from conference.settings import Settings, get_settings
from conference.timefmt import now

log = logging.getLogger("conference.mail")
T = TypeVar("T")

BATCH = 20
# Retry delays: never below MIN_RETRY (MAIL_RETRY_SECONDS=0 would otherwise burn the whole retry
# period in one run), never above MAX_BACKOFF (mail should go out within the hour after a relay
# outage ends, not six hours later).
MIN_RETRY = 30.0
MAX_BACKOFF = 3600.0
# How long a cancelled sender waits for the message in flight to finish (send + record) before it
# gives up on it: several SMTP steps, each bounded by SMTP_TIMEOUT.
IN_FLIGHT_STEPS = 4
COLUMNS = "id, created_at, event, unit, street, email, subject, body, ics, attempts, status, failing_since"


# ---------------------------------------------------------------- transports


class Transport(Protocol):
    async def open(self) -> None: ...
    async def send(self, message: EmailMessage, *, sender: str, recipient: str, row: dict[str, Any]) -> None: ...
    async def close(self) -> None: ...


class SmtpTransport:
    """One SMTP connection per batch, opened lazily and re-opened after the server dropped it."""

    def __init__(self, settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.tls_context = tls_context
        self.client: aiosmtplib.SMTP | None = None

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        security = s.smtp_security.lower()
        return aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout,
            use_tls=security == "ssl", start_tls=True if security == "starttls" else False,
            username=s.smtp_user or None, password=s.smtp_password or None, tls_context=self.tls_context,
        )

    async def open(self) -> None:
        if self.client is not None and self.client.is_connected:
            return
        client = self._client()
        await client.connect()  # connects, STARTTLS and AUTH as configured; raises when any fails
        self.client = client

    async def send(self, message: EmailMessage, *, sender: str, recipient: str, row: dict[str, Any]) -> None:
        await self.open()
        assert self.client is not None
        try:
            await self.client.send_message(message, sender=sender, recipients=[recipient])
        except aiosmtplib.SMTPServerDisconnected:
            self.client = None
            raise

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


class EmlTransport:
    """`make run` without SMTP_HOST: each message becomes an .eml file the office can open."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    async def send(self, message: EmailMessage, *, sender: str, recipient: str, row: dict[str, Any]) -> None:
        path = self.directory / eml_name(row)
        data = message.as_bytes()
        # Written to a temporary file and renamed: a reader never sees half a message.
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def close(self) -> None:
        return None


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SmtpTransport(settings)
    return EmlTransport(settings.outbox_dir)


# ---------------------------------------------------------------- claiming


def lease_seconds(settings: Settings) -> float:
    """How long a claimed row stays ours: longer than the slowest batch could take."""
    return max(900.0, BATCH * settings.smtp_timeout * 2)


def _id_list(ids: Iterable[int]) -> str:
    return ",".join(str(int(i)) for i in ids) or "0"


def _due(ids: Sequence[int] | None, exclude: Collection[int] = ()) -> str:
    """Rows a sender may take: queued and due, or sending with an expired lease. Two placeholders (now, now)."""
    where = ("email <> '' AND ((status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= {})) "
             "OR (status = 'sending' AND next_attempt_at <= {}))")
    extra = ""
    if ids is not None:
        extra = f" AND id IN ({_id_list(ids)})"
    if exclude:
        extra += f" AND id NOT IN ({_id_list(exclude)})"
    return where + extra


async def _run(sql: str, *params: Any) -> list[dict[str, Any]]:
    rows = await db.engine().run_querystring(QueryString(sql, *params))
    return [dict(r) for r in rows or []]


async def claim(limit: int = BATCH, *, ids: Sequence[int] | None = None, exclude: Collection[int] = (),
                settings: Settings | None = None) -> list[dict[str, Any]]:
    """Marks up to `limit` due rows `sending` for this sender and returns them. `ids` narrows the
    candidates (tests, and the office's "retry now"); `exclude` leaves out rows this run already
    tried."""
    settings = settings or get_settings()
    at = now()
    lease = at + dt.timedelta(seconds=lease_seconds(settings))
    where = _due(ids, exclude)
    engine = db.engine()
    async with db.atomic():
        if isinstance(engine, PostgresEngine):
            locked = await _run(f"SELECT id FROM notification WHERE {where} ORDER BY id LIMIT {int(limit)} "
                                "FOR UPDATE SKIP LOCKED", at, at)
            if not locked:
                return []
            id_list = ",".join(str(int(r["id"])) for r in locked)
            return await _run(f"UPDATE notification SET status = 'sending', attempts = attempts + 1, next_attempt_at = {{}} "
                              f"WHERE id IN ({id_list}) RETURNING {COLUMNS}", lease)
        rows = await _run(
            f"UPDATE notification SET status = 'sending', attempts = attempts + 1, next_attempt_at = {{}} "
            f"WHERE id IN (SELECT id FROM notification WHERE {where} ORDER BY id LIMIT {int(limit)}) AND {where} "
            f"RETURNING {COLUMNS}", lease, at, at, at, at)
        return sorted(rows, key=lambda r: r["id"])


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds before the next attempt after `attempts` attempts: MAIL_RETRY_SECONDS (at least
    MIN_RETRY), then doubled each time, at most MAX_BACKOFF."""
    first = max(MIN_RETRY, float(settings.mail_retry_seconds))
    return min(MAX_BACKOFF, max(first, first * 2.0 ** min(max(0, attempts - 1), 30)))


def retry_period(settings: Settings) -> dt.timedelta:
    return dt.timedelta(hours=max(0.0, settings.mail_retry_hours))


def permanent(exc: BaseException) -> bool:
    """True when the server refused this recipient or this message for good: a 5xx reply (RFC 5321
    §4.2.1) to RCPT TO or to DATA. Sending it again cannot help, so it is a dead letter at once.
    Everything else is temporary: 4xx, a dropped connection, a timeout, and also a 5xx to MAIL FROM
    or at log-in, which say our own configuration (sender address, account) is wrong: that holds
    for every message, so they wait in the queue while the office fixes it instead of all dying."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(permanent(e) for e in exc.recipients)
    if isinstance(exc, (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError)):
        return 500 <= exc.code < 600
    return False


def _as_datetime(value: Any) -> dt.datetime | None:
    """A timestamp from a raw query: a datetime (PostgreSQL), or its text (SQLite)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def _sent(row: dict[str, Any]) -> None:
    await _run("UPDATE notification SET status = 'sent', sent_at = {}, next_attempt_at = NULL, last_error = '', "
               "failing_since = NULL WHERE id = {} AND status = 'sending'", now(), row["id"])


async def _failed(row: dict[str, Any], exc: BaseException, settings: Settings) -> str:
    """Back to the queue with a later `next_attempt_at` while the retry period lasts, else dead."""
    error = describe(exc)[:1000]
    at = now()
    since = _as_datetime(row.get("failing_since")) or at
    give_up = since + retry_period(settings)
    if permanent(exc) or at >= give_up:
        await _run("UPDATE notification SET status = 'dead', next_attempt_at = NULL, last_error = {}, failing_since = {} "
                   "WHERE id = {} AND status = 'sending'", error, since, row["id"])
        return "dead"
    # The last retry falls on the end of the period, so the message gets the whole period.
    retry_at = min(at + dt.timedelta(seconds=backoff(row["attempts"], settings)), give_up)
    await _run("UPDATE notification SET status = 'queued', next_attempt_at = {}, last_error = {}, failing_since = {} "
               "WHERE id = {} AND status = 'sending'", retry_at, error, since, row["id"])
    return "retry"


async def release(rows: Sequence[dict[str, Any]], *, attempted: bool = False) -> None:
    """Rows this sender claimed but will not finish (it is stopping) go back to the queue, due at
    once, so that another process sends them now rather than after the lease. An attempt that
    never started is not counted."""
    if not rows:
        return
    log.info("mail: stopping; %d claimed message(s) returned to the queue", len(rows))
    uncount = "" if attempted else ", attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END"
    await _run(f"UPDATE notification SET status = 'queued', next_attempt_at = NULL{uncount} "
               f"WHERE id IN ({_id_list(r['id'] for r in rows)}) AND status = 'sending'")


def describe(exc: BaseException) -> str:
    """The error as the office reads it: the SMTP reply code and text when there is one."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(describe(e) for e in exc.recipients) or "SMTPRecipientsRefused"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}".strip()
    if isinstance(exc, ConnectionRefusedError):
        return f"ConnectionRefusedError: {exc}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---------------------------------------------------------------- sending


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
    found = await _run(f"SELECT id, name FROM member_unit WHERE id IN ({','.join(map(str, units))})")
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


async def until_signal(coro: Coroutine[Any, Any, T]) -> T | None:
    """`conference send-mail`: SIGTERM or SIGINT stops the sender as a server shutdown does (the
    message in flight is finished, the rest of the batch queued again) instead of killing it
    mid-message. None when it was stopped so."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # this caller is being cancelled, not the sender stopped by a signal
        return None
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
