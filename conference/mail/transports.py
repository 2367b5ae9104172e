"""How a composed message leaves: the transports (SMTP, or .eml files without SMTP_HOST) and what
an SMTP error means (permanent or temporary, and how the office reads it).

Which rows are sent, when they are tried again and what is recorded belongs to the sender
(conference.mail.sender); this module never touches the database."""

from __future__ import annotations

import os
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib

from conference.mail.compose import eml_name
from conference.settings import Settings


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
