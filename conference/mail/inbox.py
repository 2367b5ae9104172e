"""Calendar replies from the office mailbox (RFC 5546 iTIP REPLY over IMAP).

A unit that clicks Accept, Decline or Tentative in Outlook, Thunderbird, Foxmail or WPS sends the
ORGANIZER (the office's address, MAIL_FROM) a message with a METHOD:REPLY calendar: Outlook inline
(text/calendar; method=REPLY), Thunderbird also as an .ics attachment. `fetch_replies` reads
IMAP_FOLDER, matches each REPLY to the invitation by UID and ATTENDEE, records PARTSTAT as the
unit's reply through the same service as the reply link (conference.meetings.services.save_reply:
same state rule, same audit action), and moves the message to IMAP_PROCESSED_FOLDER so it is read
once. Every REPLY part leaves a row in calendar_reply, whatever became of it; the office sees the
ones that could not be applied on /mail/replies.

Messages without a calendar reply (a person writing back) stay in the folder for a person to read;
they are marked with the keyword CHECKED so they are not downloaded again.

imaplib blocks: every IMAP command runs in a worker thread (asyncio.to_thread), one connection per
run, commands strictly one after another."""

from __future__ import annotations

import asyncio
import email
import hashlib
import imaplib
import logging
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parseaddr
from typing import Any, cast

import icalendar

from conference import db
from conference.calendar.ics import unit_address
from conference.db import fetch
from conference.errors import Conflict
from conference.i18n import gettext as _
from conference.mail.compose import header_text
from conference.mail.tables import CalendarReply
from conference.meetings.invitations import save_reply
from conference.meetings.services import EDITABLE
from conference.meetings.tables import Meeting
from conference.settings import Settings, get_settings
from conference.timefmt import now

log = logging.getLogger(__name__)

CHECKED = "$ConferenceChecked"  # IMAP keyword: read, holds no calendar reply, left for a person
# PARTSTAT (RFC 5545 §3.2.12) -> the unit's reply
REPLIES = {"ACCEPTED": "attending", "DECLINED": "leave", "TENTATIVE": "tentative", "DELEGATED": "delegated"}
OUTCOME_LABELS = {
    "applied": _("已记录"), "stale": _("回复的是旧版本，已忽略"), "unmatched": _("未找到对应邀请"),
    "sender": _("发件人不是受邀地址"), "closed": _("会议已不接受回复"), "invalid": _("无法识别的答复"),
}
BATCH = 50  # messages per run: a huge backlog is worked off over several runs


class MailboxError(Exception):
    """The mailbox could not be read (connection, login, folder): said in Chinese to the operator."""


@dataclass(frozen=True)
class ReplyPart:
    uid: str
    attendee: str  # the CAL-ADDRESS as sent, e.g. mailto:liaison@unit.example
    partstat: str
    sequence: int
    delegate: str = ""  # DELEGATED: "CN <address>" of the delegate
    delegate_name: str = ""
    comment: str = ""


@dataclass
class FetchOutcome:
    messages: int = 0  # messages with a calendar reply, moved to the processed folder
    other: int = 0  # messages without one, left in the folder
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


# ---------------------------------------------------------------- reading a message


def _address(value: Any) -> str:
    """mailto:A@B.example -> a@b.example; other URIs (urn:uuid:...) lower-cased as they are."""
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:"):]
    return text.lower()


def _param(value: Any) -> str:
    """A parameter that may come as a list (DELEGATED-TO="mailto:a","mailto:b"): the first one."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "")


def calendar_texts(message: EmailMessage) -> list[str]:
    """Every calendar in the message: inline text/calendar parts and .ics attachments."""
    texts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        name = (part.get_filename() or "").lower()
        if kind not in ("text/calendar", "application/ics") and not name.endswith(".ics"):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            texts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return texts


def reply_parts(message: EmailMessage) -> list[ReplyPart]:
    """The METHOD:REPLY answers in the message, one per (UID, attendee): Thunderbird sends the same
    calendar inline and attached, which counts once. A delegate's own ATTENDEE line (DELEGATED-FROM)
    is not an answer of an invited unit: it names the delegate of the line it points to."""
    found: dict[tuple[str, str], ReplyPart] = {}
    for text in calendar_texts(message):
        try:
            calendar = icalendar.Calendar.from_ical(text)
        except ValueError:
            continue
        if str(calendar.get("method", "")).upper() != "REPLY":
            continue
        for event in calendar.walk("VEVENT"):
            uid = str(event.get("uid", "")).strip()
            try:
                sequence = int(event.get("sequence", 0))
            except (TypeError, ValueError):
                sequence = 0
            comment = str(event.get("comment", "") or "")
            attendees = event.get("attendee") or []
            attendees = attendees if isinstance(attendees, list) else [attendees]
            delegates = {_address(_param(a.params.get("DELEGATED-FROM"))): a for a in attendees if a.params.get("DELEGATED-FROM")}
            for attendee in attendees:
                if attendee.params.get("DELEGATED-FROM"):
                    continue
                address = str(attendee).strip()
                partstat = str(attendee.params.get("PARTSTAT", "")).upper()
                delegate = delegate_name = ""
                if partstat == "DELEGATED":
                    to = _param(attendee.params.get("DELEGATED-TO"))
                    line = delegates.get(_address(address))
                    delegate_name = str(line.params.get("CN", "")) if line is not None else ""
                    delegate_address = _address(to or (str(line) if line is not None else ""))
                    delegate_name = delegate_name or delegate_address
                    delegate = f"{delegate_name} <{delegate_address}>" if delegate_address != delegate_name else delegate_name
                found.setdefault((uid, _address(address)), ReplyPart(
                    uid=uid, attendee=address, partstat=partstat, sequence=sequence, delegate=delegate,
                    delegate_name=delegate_name, comment=comment))
    return list(found.values())


def from_address(message: EmailMessage) -> str:
    header = message.get("From")
    addresses = getattr(header, "addresses", ())  # parsed by the policy, display names decoded
    address = addresses[0].addr_spec if addresses else parseaddr(str(header or ""))[1]
    return str(address).lower()


def message_key(message: EmailMessage, raw: bytes) -> str:
    message_id = header_text(message.get("Message-ID", ""))
    return message_id[:250] if message_id else "sha256:" + hashlib.sha256(raw).hexdigest()


# ---------------------------------------------------------------- applying a reply


def _values(part: ReplyPart, current: dict[str, Any]) -> dict[str, Any]:
    """The reply as the reply form would store it. A calendar program names no person: an attendee
    already given through the link is kept; a delegate is the one the program named."""
    answer = REPLIES[part.partstat]
    values: dict[str, Any] = {"reply": answer, "attendee_name": "", "attendee_title": "", "leave_reason": ""}
    if answer in ("attending", "tentative"):
        values["attendee_name"] = current["attendee_name"]
        values["attendee_title"] = current["attendee_title"]
    elif answer == "delegated":
        values["attendee_name"] = part.delegate_name[:40]
    elif answer == "leave":
        values["leave_reason"] = part.comment.strip()[:500] or _("通过日历软件回复不参加。")
    return values


async def _invitation(meeting_id: int, attendee: str, base_url: str) -> dict[str, Any] | None:
    rows = await fetch(
        """SELECT i.id, i.unit, i.attendee_name, i.attendee_title, u.liaison_email AS email
           FROM invitation i JOIN member_unit u ON u.id = i.unit WHERE i.meeting = {}""", meeting_id)
    wanted = _address(attendee)
    return next((r for r in rows if _address(unit_address(r["unit"], r["email"] or "", base_url)) == wanted), None)


async def _log(key: str, sender: str, subject: str, part: ReplyPart, outcome: str, meeting: dict[str, Any] | None,
               invitation: dict[str, Any] | None) -> bool:
    """The row for this reply; False when this message's reply was already read (the unique index)."""
    row = CalendarReply(
        message_key=key, ical_uid=part.uid[:250], attendee=part.attendee[:250], sender=sender[:250], subject=subject[:250],
        partstat=part.partstat[:24], sequence=part.sequence, delegate=part.delegate[:250], comment=part.comment,
        outcome=outcome, meeting=meeting["id"] if meeting else None, invitation=invitation["id"] if invitation else None,
        conference=meeting["conference"] if meeting else None, received_at=now())
    inserted = await CalendarReply.insert(row).on_conflict(
        target=(CalendarReply.message_key, CalendarReply.ical_uid, CalendarReply.attendee), action="DO NOTHING",
    ).returning(CalendarReply.id)
    return bool(inserted)


async def apply_reply(key: str, sender: str, subject: str, part: ReplyPart) -> str:
    """What became of one REPLY: its outcome, or "duplicate" when this message was read before."""
    base_url = get_settings().base_url
    meeting = await Meeting.select().where(Meeting.uid == part.uid).first() if part.uid else None
    invitation = await _invitation(meeting["id"], part.attendee, base_url) if meeting else None
    if meeting is None or invitation is None:
        outcome = "unmatched"
    elif _address(part.attendee) != sender:
        outcome = "sender"  # anyone can write "ATTENDEE:mailto:x": only x's own mailbox answers for x
    elif part.partstat not in REPLIES:
        outcome = "invalid"
    elif part.sequence < meeting["sequence"]:
        outcome = "stale"  # RFC 5546 §2.1.5: an answer to a version that has since changed
    elif meeting["status"] not in EDITABLE:
        outcome = "closed"
    else:
        outcome = "applied"
    try:
        async with db.atomic():
            if not await _log(key, sender, subject, part, outcome, meeting, invitation):
                return "duplicate"
            if outcome == "applied":
                assert meeting is not None and invitation is not None
                await save_reply(None, invitation["id"], meeting, _values(part, invitation), via=_("日历回复"))
    except Conflict:  # the meeting was held or cancelled in between
        outcome = "closed"
        async with db.atomic():
            if not await _log(key, sender, subject, part, outcome, meeting, invitation):
                return "duplicate"
    return outcome


async def process_message(raw: bytes) -> list[str] | None:
    """The outcomes of the message's calendar replies; None when it holds none."""
    message = cast(EmailMessage, email.message_from_bytes(raw, policy=default_policy))
    parts = reply_parts(message)
    if not parts:
        return None
    key = message_key(message, raw)
    sender = from_address(message)
    subject = header_text(message.get("Subject", ""))
    return [await apply_reply(key, sender, subject, part) for part in parts]


# ---------------------------------------------------------------- the mailbox


def _check(result: tuple[str, list[Any]], doing: str) -> list[Any]:
    status, data = result
    if status != "OK":
        raise MailboxError(_("邮箱服务器拒绝了{doing}：{answer}").format(doing=doing, answer=data))
    return data


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Mailbox:
    """One IMAP session; each method blocks and is called through asyncio.to_thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: imaplib.IMAP4 | None = None

    def open(self) -> None:
        s = self.settings
        try:
            if s.imap_ssl:
                self.client = imaplib.IMAP4_SSL(s.imap_host, s.imap_port, ssl_context=ssl.create_default_context(),
                                                timeout=s.smtp_timeout)
            else:
                self.client = imaplib.IMAP4(s.imap_host, s.imap_port, timeout=s.smtp_timeout)
            _check(self.client.login(s.imap_user, s.imap_password), _("登录"))
            _check(self.client.select(_quote(s.imap_folder)), _("打开邮件夹"))
        except (OSError, imaplib.IMAP4.error) as exc:
            self.close()
            raise MailboxError(_("无法读取邮箱 {host}:{port}：{error}").format(host=s.imap_host, port=s.imap_port, error=exc)) from exc
        code, _data = self.client.create(_quote(s.imap_processed_folder))  # already there: NO, which is fine
        log.debug("create %s: %s", s.imap_processed_folder, code)

    @property
    def imap(self) -> imaplib.IMAP4:
        assert self.client is not None
        return self.client

    def unchecked(self) -> list[str]:
        data = _check(self.imap.uid("SEARCH", "UNKEYWORD", CHECKED), _("查找邮件"))
        return [uid.decode() for uid in (data[0] or b"").split()[:BATCH]]

    def read(self, uid: str) -> bytes | None:
        data = _check(self.imap.uid("FETCH", uid, "(BODY.PEEK[])"), _("读取邮件"))  # PEEK: not marked as read
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        return None  # gone in between (another process moved it)

    def mark_checked(self, uid: str) -> None:
        self.imap.uid("STORE", uid, "+FLAGS", f"({CHECKED})")

    def move(self, uid: str) -> None:
        folder = _quote(self.settings.imap_processed_folder)
        if "MOVE" in self.imap.capabilities:
            _check(self.imap.uid("MOVE", uid, folder), _("移动邮件"))
            return
        _check(self.imap.uid("COPY", uid, folder), _("复制邮件"))
        self.imap.uid("STORE", uid, "+FLAGS", r"(\Deleted)")
        self.imap.expunge()

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
        self.client = None


async def fetch_replies(settings: Settings | None = None) -> FetchOutcome:
    """One pass over the mailbox folder (at most BATCH messages)."""
    settings = settings or get_settings()
    if not settings.imap_host:
        raise MailboxError(_("未设置 IMAP_HOST，无法读取日历回复。"))
    box = Mailbox(settings)
    outcome = FetchOutcome()
    await asyncio.to_thread(box.open)
    try:
        for uid in await asyncio.to_thread(box.unchecked):
            raw = await asyncio.to_thread(box.read, uid)
            if raw is None:
                continue
            results = await process_message(raw)
            if results is None:
                outcome.other += 1
                await asyncio.to_thread(box.mark_checked, uid)
                continue
            for result in results:
                outcome.count(result)
            outcome.messages += 1
            # Moved only after its replies are committed: a crash in between reads it again, and the
            # unique index on calendar_reply makes that second reading a no-op.
            await asyncio.to_thread(box.move, uid)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(_("读取邮箱时连接中断：{error}").format(error=exc)) from exc
    finally:
        await asyncio.to_thread(box.close)
    return outcome


def describe(outcome: FetchOutcome) -> str:
    counts = _("，").join(_("{label} {n} 条").format(label=OUTCOME_LABELS.get(k, _("已读过")), n=v)
                          for k, v in sorted(outcome.outcomes.items()))
    return _("读取日历回复邮件 {n} 封（{counts}），其他邮件 {other} 封留在收件箱。").format(
        n=outcome.messages, counts=counts or "—", other=outcome.other)


async def inbox_loop(interval_seconds: float) -> None:
    """Run by every server process when IMAP_HOST is set; the unique index makes concurrent runs safe."""
    while True:
        try:
            outcome = await fetch_replies()
            if outcome.messages or outcome.other:
                log.info("inbox: %s", describe(outcome))
        except MailboxError as exc:
            log.warning("inbox: %s", exc)
        except Exception:  # the loop must survive a bad tick (database restart, ...)
            log.exception("inbox run failed")
        await asyncio.sleep(interval_seconds)

