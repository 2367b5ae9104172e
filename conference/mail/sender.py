"""The sender: delivers queued outbox rows, each exactly once however many processes send.

1. Claim: rows that are due (queued and `next_attempt_at` reached, or `sending` whose lease ran
   out because their sender died) become `sending`, with `attempts + 1` and a lease in
   `next_attempt_at`, in one short transaction that commits before any network I/O.
   PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, then UPDATE: concurrent senders skip each
   other's rows instead of waiting for them. SQLite: one UPDATE ... WHERE status = 'queued' ...
   RETURNING inside an IMMEDIATE transaction: SQLite has one writer, so a row is claimed once.
2. Deliver over SMTP (aiosmtplib: none / STARTTLS / SSL, AUTH when SMTP_USER is set), one
   connection per batch; or, without SMTP_HOST, as .eml files under the outbox directory.
3. Record: `sent`; or back to `queued` with `next_attempt_at` doubling from MAIL_RETRY_SECONDS;
   or `dead` after MAIL_MAX_ATTEMPTS attempts, with the error, for the office to retry.

Rows without an address (streets read their messages in the UI) are never claimed. The one case
where a message can go out twice is a process dying between the server's "250 OK" and the UPDATE
that records it; the repeat carries the same Message-ID, so receiving servers can drop it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from conference import db
from conference.mail.compose import compose, eml_name
from conference.settings import Settings, get_settings
from conference.timefmt import now

log = logging.getLogger("conference.mail")

BATCH = 20
MAX_BACKOFF = 6 * 3600
COLUMNS = "id, created_at, event, unit, street, email, subject, body, ics, attempts, status"


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


def _due(ids: Sequence[int] | None) -> str:
    """Rows a sender may take: queued and due, or sending with an expired lease. Two placeholders (now, now)."""
    where = ("email <> '' AND ((status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= {})) "
             "OR (status = 'sending' AND next_attempt_at <= {}))")
    extra = ""
    if ids is not None:
        extra = " AND id IN (" + (",".join(str(int(i)) for i in ids) or "0") + ")"
    return where + extra


async def _run(sql: str, *params: Any) -> list[dict[str, Any]]:
    rows = await db.engine().run_querystring(QueryString(sql, *params))
    return [dict(r) for r in rows or []]


async def claim(limit: int = BATCH, *, ids: Sequence[int] | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Marks up to `limit` due rows `sending` for this sender and returns them. `ids` narrows the
    candidates (tests, and the office's "retry now")."""
    settings = settings or get_settings()
    at = now()
    lease = at + dt.timedelta(seconds=lease_seconds(settings))
    where = _due(ids)
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
    """Seconds before the next attempt after `attempts` failures: base, 2x, 4x, ... capped at 6 hours."""
    return float(min(MAX_BACKOFF, settings.mail_retry_seconds * 2 ** max(0, attempts - 1)))


async def _sent(row: dict[str, Any]) -> None:
    await _run("UPDATE notification SET status = 'sent', sent_at = {}, next_attempt_at = NULL, last_error = '' "
               "WHERE id = {} AND status = 'sending'", now(), row["id"])


async def _failed(row: dict[str, Any], error: str, settings: Settings) -> str:
    """Back to the queue with a later `next_attempt_at`, or dead after the last attempt."""
    error = error[:1000]
    if row["attempts"] >= settings.mail_max_attempts:
        await _run("UPDATE notification SET status = 'dead', next_attempt_at = NULL, last_error = {} "
                   "WHERE id = {} AND status = 'sending'", error, row["id"])
        return "dead"
    retry_at = now() + dt.timedelta(seconds=backoff(row["attempts"], settings))
    await _run("UPDATE notification SET status = 'queued', next_attempt_at = {}, last_error = {} "
               "WHERE id = {} AND status = 'sending'", retry_at, error, row["id"])
    return "retry"


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
    ids: list[int] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.ids += other.ids


async def _unit_names(rows: list[dict[str, Any]]) -> dict[int, str]:
    units = sorted({int(r["unit"]) for r in rows if r.get("unit")})
    if not units:
        return {}
    found = await _run(f"SELECT id, name FROM member_unit WHERE id IN ({','.join(map(str, units))})")
    return {int(r["id"]): r["name"] for r in found}


async def deliver(rows: list[dict[str, Any]], transport: Transport, settings: Settings) -> Outcome:
    outcome = Outcome()
    names = await _unit_names(rows)
    try:
        await transport.open()
    except Exception as exc:  # noqa: BLE001 - connection refused, TLS or AUTH failure, timeout: every row retries
        error = describe(exc)
        log.warning("mail: cannot reach the server: %s", error)
        for row in rows:
            result = await _failed(row, error, settings)
            outcome.dead += result == "dead"
            outcome.retried += result == "retry"
        return outcome
    try:
        for row in rows:
            try:
                message = compose(row, recipient_name=names.get(int(row["unit"] or 0), ""), settings=settings)
                await transport.send(message, sender=settings.mail_from, recipient=row["email"], row=row)
            except Exception as exc:  # noqa: BLE001 - a refused or failed message retries; the batch goes on
                result = await _failed(row, describe(exc), settings)
                outcome.dead += result == "dead"
                outcome.retried += result == "retry"
                log.warning("mail %s to %s: %s (%s)", row["id"], row["email"], describe(exc), result)
                continue
            await _sent(row)
            outcome.sent += 1
            outcome.ids.append(int(row["id"]))
    finally:
        await transport.close()
    return outcome


async def send_pending(transport: Transport | None = None, *, settings: Settings | None = None,
                       ids: Sequence[int] | None = None, batch: int = BATCH, max_batches: int = 50) -> Outcome:
    """Claims and delivers due messages batch by batch until none is left (or `max_batches`)."""
    settings = settings or get_settings()
    transport = transport or transport_for(settings)
    total = Outcome()
    for _ in range(max_batches):
        rows = await claim(batch, ids=ids, settings=settings)
        if not rows:
            break
        total.add(await deliver(rows, transport, settings))
    return total


async def mail_loop(interval_seconds: float) -> None:
    """Run by every server process; claims make concurrent loops safe. Failures wait for the next tick."""
    while True:
        try:
            outcome = await send_pending()
            if outcome.sent or outcome.retried or outcome.dead:
                log.info("mail: %d sent, %d to retry, %d dead", outcome.sent, outcome.retried, outcome.dead)
        except Exception:  # the loop must survive a bad tick (database restart, ...)
            log.exception("mail run failed")
        await asyncio.sleep(interval_seconds)
