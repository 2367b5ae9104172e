"""MIME messages from outbox rows (email.message.EmailMessage, policy SMTP).

An invitation is what Outlook, Gmail and Apple Mail all recognise as a meeting request:

    multipart/mixed
      multipart/alternative
        text/plain; charset=utf-8
        text/html; charset=utf-8
        text/calendar; method=REQUEST; charset=UTF-8   (CANCEL for a cancellation)
      application/ics; name=invite.ics                 (attachment, for clients that ignore the part above)

Other messages are multipart/alternative of text and HTML, inside multipart/mixed with the files
when the row has attachments (the published minutes PDF). Chinese subjects are RFC 2047 encoded by
the policy; bodies go as base64, so the message is 7-bit clean for any relay.

Address headers (From, To) are written here, not by the policy: its folder drops the quotes of a
long display name, so that a unit named `'A'*80 + ' <evil@attacker.example>'` became a second
recipient. A display name goes out as RFC 2047 encoded words (base64 UTF-8, folded between words),
which no parser reads as addresses, and the address itself is checked with headerregistry.Address.
Composition never fails on stored data: a message without a valid address has no To header (street
notifications are shown in the system, not mailed), and line breaks or other control characters in
stored names and subjects become spaces.
Everything is derived from the row (Date from created_at, a Message-ID from id and created_at), so
composing a row twice gives the same message: the .eml viewer and a retry show what was sent."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from email.errors import HeaderDefect, MessageDefect
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime
from functools import lru_cache
from typing import Any, cast

from jinja2 import Environment, FileSystemLoader, select_autoescape

from conference.calendar.ics import method_of
from conference.db import as_datetime
from conference.i18n import gettext as _
from conference.i18n import translations
from conference.settings import ROOT, Settings, get_settings

URL = re.compile(r"https?://[^\s<>\"'）)，。；]+")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(ROOT / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(), newstyle=True)  # type: ignore[attr-defined]
    return env


def created_at(row: Mapping[str, Any]) -> dt.datetime:
    """The row's creation time as an aware UTC datetime, however the driver returned it."""
    value = as_datetime(row.get("created_at"))
    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC) if value is None else value.astimezone(dt.UTC)


def digest(row: Mapping[str, Any]) -> str:
    """A short fingerprint of the row, stable across processes and retries (ids repeat across databases)."""
    return hashlib.sha256(f"{row['id']}|{created_at(row).isoformat()}".encode()).hexdigest()[:12]


def message_id(row: Mapping[str, Any], mail_from: str) -> str:
    """The same Message-ID on every attempt, so a receiving server can recognise a repeat."""
    domain = mail_from.rpartition("@")[2] or "localhost"
    return f"<notification.{row['id']}.{digest(row)}@{domain}>"


def eml_name(row: Mapping[str, Any]) -> str:
    return f"{int(row['id']):08d}-{digest(row)}.eml"


HEADER_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp"})
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ]{0,59}$")
EW_PREFIX, EW_SUFFIX = "=?utf-8?b?", "?="
EW_BYTES = (75 - len(EW_PREFIX) - len(EW_SUFFIX)) // 4 * 3  # RFC 2047: an encoded word is at most 75 characters


def header_text(value: Any) -> str:
    """Stored text made safe for a header: control, format and separator characters (CR, LF, bidi
    overrides...) become spaces, runs of white space one space."""
    text = "".join(" " if unicodedata.category(c) in HEADER_UNSAFE else c for c in str(value or ""))
    return " ".join(text.split())


def addr_spec(email: Any) -> str | None:
    """The address as a header may carry it, or None when it is empty or not exactly one valid ASCII
    address (never a list, never with a line break)."""
    if not isinstance(email, str) or not email or not email.isascii() or any(c.isspace() for c in email):
        return None
    try:
        spec = Address(addr_spec=email).addr_spec
    except (ValueError, IndexError, HeaderDefect, MessageDefect):
        return None
    return spec if "@" in spec and spec.isascii() else None


def encoded_words(text: str, first_line: int = 0) -> list[str]:
    """RFC 2047 "B" encoded words of `text`, each at most 75 characters and never splitting a character.
    `first_line`: characters already on the header's first line ("Subject: "), so that the first word
    keeps that line within the 76 characters RFC 2047 §2 allows a line with encoded words."""
    words, chunk = [], b""
    limit = min(EW_BYTES, (76 - first_line - len(EW_PREFIX) - len(EW_SUFFIX)) // 4 * 3) if first_line else EW_BYTES
    for char in text:
        data = char.encode("utf-8")
        if chunk and len(chunk) + len(data) > limit:
            words.append(chunk)
            chunk = b""
            limit = EW_BYTES
        chunk += data
    if chunk:
        words.append(chunk)
    return [EW_PREFIX + base64.b64encode(w).decode("ascii") + EW_SUFFIX for w in words]


class AddressHeader:
    """A From/To header written as built: the policy stores and folds a value with a matching `name`
    through its `fold` (email.policy.EmailPolicy.header_store_parse), instead of re-parsing it."""

    def __init__(self, name: str, display_name: str, spec: str) -> None:
        self.name = name
        self.display_name = display_name
        self.addr_spec = spec
        if not display_name:
            self.tokens = [f"<{spec}>"]
        elif PLAIN_NAME.match(display_name):
            self.tokens = [display_name, f"<{spec}>"]
        else:
            self.tokens = [*encoded_words(display_name, len(name) + 2), f"<{spec}>"]

    def fold(self, *, policy: Policy) -> str:
        lines, line = [], f"{self.name}:"
        for token in self.tokens:
            if len(line) + 1 + len(token) > 78 and line.strip() != f"{self.name}:":
                lines.append(line)
                line = ""
            line += " " + token
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep

    def __str__(self) -> str:
        return f"{self.display_name} <{self.addr_spec}>" if self.display_name else self.addr_spec


class TextHeader(AddressHeader):
    """An unstructured header (Subject) with non-ASCII text, as encoded words of at most 75
    characters each: the policy's own folder writes 76-character words for long Chinese subjects."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.tokens = encoded_words(text, len(name) + 2)

    def __str__(self) -> str:
        return self.text


def subject_header(value: Any) -> str:
    text = header_text(value)
    return text if text.isascii() else cast(str, TextHeader("Subject", text))


def _address(header: str, name: Any, email: Any) -> AddressHeader | None:
    spec = addr_spec(email)
    return AddressHeader(header, header_text(name), spec) if spec else None


def _text(body: str) -> str:
    footer = _("本邮件由联席会议议事督办系统发送。会议邀请可在日历软件中直接点“接受”或“拒绝”，回复会自动登记；其他事项可直接回复本邮件联系办公室。")
    return body.rstrip() + "\n\n--\n" + footer + "\n"


def _html(subject: str, body: str) -> str:
    paragraphs = []
    for line in body.strip().splitlines():
        parts: list[tuple[str, str]] = []  # (kind, text): plain text and links, escaped by the template
        last = 0
        for match in URL.finditer(line):
            parts.append(("text", line[last:match.start()]))
            parts.append(("link", match.group(0)))
            last = match.end()
        parts.append(("text", line[last:]))
        paragraphs.append(parts)
    return _environment().get_template("mail/_email_body.html").render(subject=subject, paragraphs=paragraphs)


def _set_body(part: EmailMessage, text: str, subtype: str, **params: str) -> None:
    cte = "7bit" if text.isascii() else "base64"
    part.set_content(text, subtype=subtype, cte=cte, params=params)


def _drop_inner_mime_version(message: EmailMessage) -> None:
    for part in message.walk():
        if part is not message and "MIME-Version" in part:
            del part["MIME-Version"]


def compose(row: Mapping[str, Any], *, recipient_name: str = "", settings: Settings | None = None) -> EmailMessage:
    """`row`: a notification (id, created_at, email, subject, body, ics) and its `attachments`
    ({filename, content_type, data}, from conference.mail.attachments.for_messages): with any, the
    message becomes multipart/mixed of the text (and calendar) and the files."""
    settings = settings or get_settings()
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject_header(row.get("subject"))
    for header, name, email in (("From", _("联席会议办公室"), settings.mail_from), ("To", recipient_name, row.get("email"))):
        value = _address(header, name, email)
        if value is not None:  # no address (a street notification): no header, never a failure
            message[header] = cast(str, value)  # stored as given: the policy folds it with value.fold
    message["Date"] = format_datetime(created_at(row).astimezone(settings.tz))
    message["Message-ID"] = message_id(row, settings.mail_from)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a system message
    body = str(row.get("body") or "")
    _set_body(message, _text(body), "plain")
    html = _html(header_text(row.get("subject")), body)
    message.add_alternative(html, subtype="html", cte="7bit" if html.isascii() else "base64")
    ics: str | None = row.get("ics")
    if ics:
        method = method_of(ics) or "REQUEST"
        message.add_alternative(ics, subtype="calendar", cte="base64")
        calendar = cast(list[EmailMessage], message.get_payload())[-1]
        calendar.replace_header("Content-Type", f"text/calendar; method={method}; charset=UTF-8")
        name = "cancel.ics" if method == "CANCEL" else "invite.ics"
        message.add_attachment(ics.encode("utf-8"), maintype="application", subtype="ics", filename=name,
                               params={"name": name})
    for attachment in row.get("attachments") or ():  # files by reference (conference.mail.attachments)
        maintype, _slash, subtype = str(attachment["content_type"]).partition("/")
        message.add_attachment(bytes(attachment["data"]), maintype=maintype, subtype=subtype or "octet-stream",
                               filename=header_text(attachment["filename"]) or "attachment")
    _drop_inner_mime_version(message)
    return message


def summary(message: EmailMessage) -> dict[str, Any]:
    """What the office sees of a message: decoded headers, the text, the calendar and the parts."""
    parts = []
    text = calendar = ""
    for part in message.walk():
        kind = part.get_content_type()
        parts.append({"type": kind, "filename": part.get_filename() or "", "params": dict(part.get_params() or [])})
        if part.is_multipart():
            continue
        if kind == "text/plain" and not text:
            text = str(part.get_content())
        elif kind == "text/calendar" and not calendar:
            calendar = str(part.get_content())
    return {"headers": {k: str(message[k]) for k in ("From", "To", "Subject", "Date", "Message-ID") if message[k]},
            "text": text, "calendar": calendar, "parts": parts}
