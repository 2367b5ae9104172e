"""E-mail delivery from the outbox against a real SMTP server (aiosmtpd on 127.0.0.1, in its own
thread, on a free port).

The MIME structure and headers of an invitation; a failing server (refused connection, 4xx) then
recovery with exactly one delivery; a permanent refusal (5xx) as a dead letter at once, shown to the
office with the server's reply and a retry button (more on failures, retry periods and shutdown in
test_mail_delivery.py); two senders racing over one outbox deliver each message once
(PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the atomic claim); STARTTLS, SSL and AUTH; without
SMTP_HOST, .eml files the office opens at /mail/eml/{id}."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime as dt
import email
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conference import db, outbox
from conference import settings as settings_module
from conference.calendar import ics
from conference.mail.compose import compose, eml_name, message_id
from conference.mail.sender import claim, send_pending
from conference.mail.transports import EmlTransport, SmtpTransport
from conference.meetings import lifecycle
from conference.meetings.tables import Invitation
from conference.notifications.services import queue
from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit
from conference.settings import Settings, get_settings
from conference.timefmt import now
from tests.conftest import html, post_form
from tests.factories import LANSHAN_STREET, actor, conference_id, make_meeting, unique
from tests.ics_support import parse_both
from tests.tokens import sent_reply_token

pytestmark = pytest.mark.usefixtures("database_url")
MARKET = "兰山区市场监管局"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Recorder:
    """An SMTP handler that keeps what it accepts and answers the codes a test queues."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.rcpt_replies: list[str] = []
        self.data_replies: list[str] = []
        self.delay = 0.0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 2.0.0 Ok: queued"

    def to(self, address: str) -> list[EmailMessage]:
        return [cast(EmailMessage, email.message_from_bytes(raw, policy=default_policy))
                for _from, rcpt, raw in self.messages if address in rcpt]


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def smtp_settings(port: int, **changes: Any) -> Settings:
    values: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none", "smtp_user": "",
                              "smtp_password": "", "smtp_timeout": 5, "mail_retry_seconds": 60, "mail_retry_hours": 24}
    return dataclasses.replace(get_settings(), **{**values, **changes})


async def queue_test_message(*, ics_text: str | None = None, email_address: str | None = None) -> tuple[int, str]:
    market = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == MARKET).first()
    address = email_address or f"{unique('liaison')}@example.gov.cn"
    notification_id = await queue("test_mail", conference_id=await conference_id(LANSHAN_STREET), subject=f"【会议通知】{unique('测试会议')}", body="会议：测试\n请回复：http://x/r/abc",
                                  unit_id=market["id"], email=address, ics=ics_text)
    assert notification_id is not None
    return notification_id, address


async def row(notification_id: int) -> dict[str, Any]:
    return await Notification.select().where(Notification.id == notification_id).first()


async def make_due(notification_id: int) -> None:
    """As if the back-off delay had passed."""
    await Notification.update({Notification.next_attempt_at: now() - dt.timedelta(seconds=1)}).where(Notification.id == notification_id)


# ---------------------------------------------------------------- the invitation on the wire


async def test_invitation_mime_structure_and_headers(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    office = await actor("office")
    meeting_id = await make_meeting()
    await lifecycle.notify_meeting(office, meeting_id)
    invitations = await Invitation.select(Invitation.id, Invitation.unit.name.as_alias("unit_name")).where(
        Invitation.meeting == meeting_id)
    for i in invitations:  # the link each notice carries (the table keeps only its hash)
        i["token"] = await sent_reply_token(i["id"])
    rows = await Notification.select(Notification.id, Notification.email, Notification.unit).where(
        (Notification.entity == "invitation") & Notification.entity_id.is_in([i["id"] for i in invitations]))
    settings = smtp_settings(port)
    outcome = await send_pending(SmtpTransport(settings), settings=settings, ids=[r["id"] for r in rows])
    assert outcome.sent == len([r for r in rows if r["email"]]) > 0

    market = next(i for i in invitations if i["unit_name"] == MARKET)
    address = (await MemberUnit.select(MemberUnit.liaison_email).where(MemberUnit.name == MARKET).first())["liaison_email"]
    received = recorder.to(address)
    mine = [m for m in received if f"/r/{market['token']}" in m.get_body(preferencelist=("plain",)).get_content()]
    assert len(mine) == 1
    message = mine[0]
    raw = next(raw for _f, rcpt, raw in recorder.messages if address in rcpt and raw.find(message["Message-ID"].encode()) >= 0)

    # Headers: Chinese subject and names RFC 2047-encoded on the wire, exact once decoded.
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"Subject: =?utf-8?" in head
    assert message["Subject"].startswith("【会议通知】")
    assert message["To"].addresses[0].display_name == MARKET and message["To"].addresses[0].addr_spec == address
    assert message["From"].addresses[0].display_name == "联席会议办公室"
    assert message["From"].addresses[0].addr_spec == get_settings().mail_from
    assert message["Message-ID"].startswith("<notification.") and message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime.utcoffset() == dt.timedelta(hours=8)
    assert raw.isascii()  # 7-bit clean: every Chinese body is base64

    # Structure: mixed( alternative(plain, html, calendar; method=REQUEST), attachment invite.ics ).
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html", "text/calendar"]
    plain, html_part, calendar = alternative.get_payload()
    assert plain.get_content_charset() == "utf-8" and html_part.get_content_charset() == "utf-8"
    assert calendar.get_param("method") == "REQUEST" and calendar.get_content_charset().lower() == "utf-8"
    assert calendar["Content-Type"].startswith("text/calendar; method=")
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_content_disposition() == "attachment" and attachment.get_filename() == "invite.ics"
    text = calendar.get_content()
    assert attachment.get_content().decode("utf-8") == text
    assert "\r\n" in text  # CRLF kept through base64
    cal, _vcal = parse_both(text)
    assert str(cal["METHOD"]) == "REQUEST"
    event = cal.walk("VEVENT")[0]
    assert str(event["ATTENDEE"]) == f"mailto:{address}" and event["ATTENDEE"].params["CN"] == MARKET
    assert f'href="{get_settings().base_url}/r/{market["token"]}"' in html_part.get_content()
    footer = plain.get_content()
    assert "日历软件中直接点“接受”或“拒绝”" in footer and "请勿直接回复" not in footer  # replies are read (IMAP)


def test_long_chinese_subject_encoded_words_stay_within_75_characters() -> None:
    """RFC 2047 §2: an encoded word is at most 75 characters, and a line holding one at most 76."""
    subject = "【会议变更】" + "兰山街道城市基层党建联席会议2026年第1次全体会议关于沿街商铺占道经营问题的专题研究" * 3
    for title in (subject, subject[:20], "【会议通知】" + "a" * 200, "Plain ASCII subject"):
        message = compose({"id": 9, "created_at": now(), "email": "a@example.gov.cn", "subject": title, "body": "正文"},
                          recipient_name="兰山区市场监管局" * 6)
        data = message.as_bytes()
        head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
        words = re.findall(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=", head)
        assert all(len(w) <= 75 for w in words), [len(w) for w in words]
        assert all(len(line) <= 78 for line in head.split("\r\n"))
        parsed = email.message_from_bytes(data, policy=default_policy)
        assert parsed["Subject"] == title


def test_cancellation_goes_as_method_cancel() -> None:
    text = ics.invitation({
        "id": 1, "uid": "u@conference", "sequence": 3, "status": "cancelled", "title": "会议", "cancel_reason": "改期",
        "starts_at": dt.datetime(2030, 1, 1, 1, tzinfo=dt.UTC), "ends_at": dt.datetime(2030, 1, 1, 2, tzinfo=dt.UTC),
        "location": "", "conference_name": "兰山街道城市基层党建联席会议", "office_email": "o@example.gov.cn", "agenda": [],
        "invitations": [{"unit": 1, "unit_name": MARKET, "email": "a@example.gov.cn", "role": "member", "reply": "pending",
                         "token": "t", "token_revoked": False}]},
        base_url="http://x", mail_from="m@example.gov.cn", tz=get_settings().tz, stamp=now(), unit_id=1)
    message = compose({"id": 1, "created_at": now(), "email": "a@example.gov.cn", "subject": "【会议取消】会议", "body": "取消",
                       "ics": text}, recipient_name=MARKET)
    parsed = cast(EmailMessage, email.message_from_bytes(message.as_bytes(), policy=default_policy))
    calendar = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "CANCEL"
    assert next(p for p in parsed.walk() if p.get_content_type() == "application/ics").get_filename() == "cancel.ics"


def test_composing_twice_gives_the_same_message() -> None:
    row = {"id": 7, "created_at": dt.datetime(2026, 11, 1, 1, 2, 3, tzinfo=dt.UTC), "email": "a@example.gov.cn",
           "subject": "【会议通知】会议", "body": "你好", "ics": None}
    first, second = compose(row), compose(row)
    assert first["Message-ID"] == second["Message-ID"] == message_id(row, get_settings().mail_from)
    assert first["Date"] == second["Date"] == "Sun, 01 Nov 2026 09:02:03 +0800"
    assert first.get_content_type() == "multipart/alternative"
    assert compose({**row, "created_at": "2026-11-01 01:02:03+00:00"})["Message-ID"] == first["Message-ID"]


# ---------------------------------------------------------------- failures, retries, dead letters


async def test_refused_4xx_5xx_then_exactly_one_delivery(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    notification_id, address = await queue_test_message()

    # 1. Nobody listens: connection refused.
    refused = smtp_settings(free_port())
    outcome = await send_pending(SmtpTransport(refused), settings=refused, ids=[notification_id])
    assert (outcome.sent, outcome.retried, outcome.dead) == (0, 1, 0)
    current = await row(notification_id)
    assert current["status"] == "queued" and current["attempts"] == 1
    assert "ConnectionRefused" in current["last_error"] or "Connect" in current["last_error"]
    wait = (current["next_attempt_at"] - now()).total_seconds()
    assert 50 < wait <= 60  # MAIL_RETRY_SECONDS
    # Not due yet: another pass leaves it alone.
    settings = smtp_settings(port)
    assert (await send_pending(SmtpTransport(settings), settings=settings, ids=[notification_id])).sent == 0

    # 2. 4xx on RCPT, 3. and 4. 4xx on DATA: each retried, the delay doubling.
    for attempt, (reply_list, reply) in enumerate([(recorder.rcpt_replies, "450 4.2.0 Mailbox busy"),
                                                   (recorder.data_replies, "451 4.3.0 Try again later"),
                                                   (recorder.data_replies, "452 4.3.1 Insufficient system storage")], start=2):
        await make_due(notification_id)
        reply_list.append(reply)
        outcome = await send_pending(SmtpTransport(settings), settings=settings, ids=[notification_id])
        assert (outcome.sent, outcome.retried) == (0, 1)
        current = await row(notification_id)
        assert current["status"] == "queued" and current["attempts"] == attempt
        assert current["last_error"].startswith(reply[:3]), current["last_error"]
        wait = (current["next_attempt_at"] - now()).total_seconds()
        assert 60 * 2 ** (attempt - 1) - 10 < wait <= 60 * 2 ** (attempt - 1)
    assert recorder.to(address) == []

    # 5. The server recovers: delivered once, and never again.
    await make_due(notification_id)
    outcome = await send_pending(SmtpTransport(settings), settings=settings, ids=[notification_id])
    assert outcome.sent == 1
    current = await row(notification_id)
    assert current["status"] == "sent" and current["sent_at"] is not None and current["last_error"] == ""
    assert current["next_attempt_at"] is None
    await make_due(notification_id)
    assert (await send_pending(SmtpTransport(settings), settings=settings, ids=[notification_id])).sent == 0
    assert len(recorder.to(address)) == 1


async def test_permanent_refusal_is_a_dead_letter_shown_and_retried(smtp: tuple[Recorder, int], as_user: Any) -> None:
    recorder, port = smtp
    notification_id, address = await queue_test_message()
    failing = smtp_settings(port)
    recorder.data_replies.append("552 5.3.4 Message size exceeds fixed limit")
    outcome = await send_pending(SmtpTransport(failing), settings=failing, ids=[notification_id])
    assert (outcome.sent, outcome.retried, outcome.dead) == (0, 0, 1)
    current = await row(notification_id)
    assert current["status"] == "dead" and current["attempts"] == 1 and current["next_attempt_at"] is None
    assert current["last_error"].startswith("552")
    await make_due(notification_id)
    assert (await send_pending(SmtpTransport(failing), settings=failing, ids=[notification_id])).sent == 0  # dead stays dead

    office = await as_user("office")
    page = html(await office.get(f"/mail/dead-letters?q={current['subject']}"))
    line = page.find("tr", attrs={"data-id": str(notification_id)})
    assert line is not None
    assert "552 5.3.4" in line.find(class_="last-error").get_text()
    assert line.find("form")["action"] == f"/mail/dead-letters/{notification_id}/retry"
    # Another office cannot see or retry it (a unit outside its conferences).
    other = await as_user("office_luozhuang")
    assert (await other.get("/mail/dead-letters")).status_code == 200
    assert html(await other.get(f"/mail/dead-letters?q={current['subject']}")).find("tr", attrs={"data-id": str(notification_id)}) is None
    assert (await post_form(other, f"/mail/dead-letters/{notification_id}/retry", {})).status_code == 404
    assert (await (await as_user("unit")).get("/mail/dead-letters")).status_code == 403

    response = await post_form(office, f"/mail/dead-letters/{notification_id}/retry", {})
    assert response.status_code == 303
    current = await row(notification_id)
    assert current["status"] == "queued" and current["attempts"] == 0 and current["failing_since"] is None
    assert (await post_form(office, f"/mail/dead-letters/{notification_id}/retry", {})).status_code == 409
    settings = smtp_settings(port)
    assert (await send_pending(SmtpTransport(settings), settings=settings, ids=[notification_id])).sent == 1
    assert len(recorder.to(address)) == 1


async def test_expired_lease_is_taken_over(smtp: tuple[Recorder, int]) -> None:
    """A sender that died mid-batch leaves rows `sending`; they wait out the lease, then go again."""
    recorder, port = smtp
    notification_id, address = await queue_test_message()
    settings = smtp_settings(port)
    claimed = await claim(5, ids=[notification_id], settings=settings)
    assert [r["id"] for r in claimed] == [notification_id]
    assert (await row(notification_id))["status"] == "sending"
    assert await claim(5, ids=[notification_id], settings=settings) == []  # leased
    await make_due(notification_id)  # the lease ran out
    assert (await send_pending(SmtpTransport(settings), settings=settings, ids=[notification_id])).sent == 1
    assert (await row(notification_id))["attempts"] == 2
    assert len(recorder.to(address)) == 1


async def test_rows_without_address_are_not_claimed() -> None:
    notification_id = await queue("test_mail", conference_id=await conference_id(LANSHAN_STREET), subject=unique("街道消息"), body="站内消息", email="")
    assert notification_id is not None
    assert await claim(5, ids=[notification_id]) == []
    assert (await row(notification_id))["status"] == "queued"


# ---------------------------------------------------------------- concurrent senders


async def test_two_senders_race_and_deliver_each_message_once(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    recorder.delay = 0.005
    ids, addresses = [], []
    for _ in range(40):
        notification_id, address = await queue_test_message()
        ids.append(notification_id)
        addresses.append(address)
    settings = smtp_settings(port)
    first, second = await asyncio.gather(
        send_pending(SmtpTransport(settings), settings=settings, ids=ids, batch=3),
        send_pending(SmtpTransport(settings), settings=settings, ids=ids, batch=3),
    )
    assert first.sent + second.sent == 40
    assert first.sent > 0 and second.sent > 0  # they did race
    assert not set(first.ids) & set(second.ids)
    delivered = [m["Message-ID"] for address in addresses for m in recorder.to(address)]
    assert len(delivered) == 40 == len(set(delivered))
    statuses = {r["status"] for r in await Notification.select(Notification.status).where(Notification.id.is_in(ids))}
    assert statuses == {"sent"}


async def test_postgres_claim_skips_locked_rows() -> None:
    """While another transaction holds rows FOR UPDATE, a claim takes the others without waiting."""
    if not get_settings().is_postgres:
        pytest.skip("FOR UPDATE SKIP LOCKED is the PostgreSQL claim; SQLite claims under its single writer lock")
    ids = [(await queue_test_message())[0] for _ in range(4)]
    locked = ids[:2]
    async with db.engine().transaction():
        await outbox.run(f"SELECT id FROM notification WHERE id IN ({','.join(map(str, locked))}) FOR UPDATE")
        # A task with a fresh context: its own connection, not this transaction.
        task = asyncio.get_running_loop().create_task(claim(10, ids=ids), context=contextvars.Context())
        claimed = await asyncio.wait_for(task, timeout=10)
        assert sorted(r["id"] for r in claimed) == ids[2:]
    statuses = {r["id"]: r["status"] for r in await Notification.select(Notification.id, Notification.status).where(
        Notification.id.is_in(ids))}
    assert [statuses[i] for i in ids] == ["queued", "queued", "sending", "sending"]
    await Notification.update({Notification.status: "sent"}).where(Notification.id.is_in(ids))


# ---------------------------------------------------------------- TLS and authentication


def self_signed(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for 127.0.0.1: the server's context, and a client context trusting it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    at = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(at - dt.timedelta(days=1))
            .not_valid_after(at + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"lxhy-office" and auth_data.password == b"s3cret-pw"
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_tls_and_authentication_from_the_settings(tmp_path: Path, security: str) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    recorder, port = Recorder(), free_port()
    options: dict[str, Any] = {"authenticator": authenticator, "auth_require_tls": True}
    if security == "starttls":
        controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True, **options)
    else:  # implicit TLS: aiosmtpd does not count it as TLS for AUTH, though the whole session is encrypted
        controller = Controller(recorder, hostname="127.0.0.1", port=port, ssl_context=server_tls,
                                **{**options, "auth_require_tls": False})
    controller.start()
    try:
        notification_id, address = await queue_test_message()
        wrong = smtp_settings(port, smtp_security=security, smtp_user="lxhy-office", smtp_password="wrong")
        await send_pending(SmtpTransport(wrong, tls_context=client_tls), settings=wrong, ids=[notification_id])
        current = await row(notification_id)
        assert current["status"] == "queued" and current["last_error"].startswith("535"), current["last_error"]
        await make_due(notification_id)
        right = smtp_settings(port, smtp_security=security, smtp_user="lxhy-office", smtp_password="s3cret-pw")
        outcome = await send_pending(SmtpTransport(right, tls_context=client_tls), settings=right, ids=[notification_id])
        assert outcome.sent == 1 and len(recorder.to(address)) == 1
    finally:
        controller.stop()


# ---------------------------------------------------------------- .eml files and the office's viewer


@pytest.fixture
def eml_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`make run`'s default: no SMTP_HOST; messages become files in a directory of the test's own."""
    settings = dataclasses.replace(get_settings(), smtp_host="", mail_outbox_dir=str(tmp_path / "outbox"))
    monkeypatch.setattr(settings_module, "_settings", settings)
    return settings


async def test_without_smtp_host_messages_become_eml_files(eml_settings: Settings, as_user: Any) -> None:
    office_actor = await actor("office")
    meeting_id = await make_meeting()
    await lifecycle.notify_meeting(office_actor, meeting_id)
    market = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == MARKET).first()
    inv = await Invitation.select(Invitation.id).where((Invitation.meeting == meeting_id) & (Invitation.unit == market["id"])).first()
    notification = await Notification.select().where((Notification.entity == "invitation") & (Notification.entity_id == inv["id"])).first()
    outcome = await send_pending(settings=eml_settings, ids=[notification["id"]])
    assert outcome.sent == 1
    path = eml_settings.outbox_dir / eml_name(notification)
    assert path.is_file() and not list(eml_settings.outbox_dir.glob(".tmp-*"))
    on_disk = cast(EmailMessage, email.message_from_bytes(path.read_bytes(), policy=default_policy))
    assert on_disk["Subject"] == notification["subject"]
    assert (await row(notification["id"]))["status"] == "sent"

    office = await as_user("office")
    raw = await office.get(f"/mail/eml/{notification['id']}")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/plain")
    assert raw.content == path.read_bytes()
    download = await office.get(f"/mail/eml/{notification['id']}?download=1")
    assert download.headers["content-type"].startswith("message/rfc822")
    assert "attachment" in download.headers["content-disposition"] and download.content == path.read_bytes()
    page = html(await office.get(f"/mail/messages/{notification['id']}"))
    assert page.find("h1").get_text().startswith(notification["subject"])
    assert "/r/…" in page.find(class_="mail-text").get_text()
    token = await sent_reply_token(inv["id"])
    assert token
    assert "BEGIN:VEVENT" in page.find(class_="mail-calendar").get_text()
    assert token not in page.get_text() and token[:6] not in page.find(class_="mail-calendar").get_text()  # not even folded
    parts = [li.find("code").get_text() for li in page.find(class_="mime-parts").find_all("li")]
    assert parts == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar", "application/ics"]
    listing = html(await office.get(f"/mail/meetings/{meeting_id}"))
    assert listing.find("tr", attrs={"data-id": str(notification["id"])}) is not None

    # Scope: another conference's office, and other roles, cannot open it.
    assert (await (await as_user("office_luozhuang")).get(f"/mail/eml/{notification['id']}")).status_code == 404
    assert (await (await as_user("office_luozhuang")).get(f"/mail/messages/{notification['id']}")).status_code == 404
    assert (await (await as_user("office_luozhuang")).get(f"/mail/meetings/{meeting_id}")).status_code == 404
    assert (await (await as_user("unit")).get(f"/mail/eml/{notification['id']}")).status_code == 403
    assert (await (await as_user("admin")).get(f"/mail/eml/{notification['id']}")).status_code == 200
    assert (await office.get("/mail/eml/2147483000")).status_code == 404


async def test_unsent_message_is_composed_for_the_viewer(eml_settings: Settings, as_user: Any) -> None:
    notification_id, _address = await queue_test_message()
    response = await (await as_user("office")).get(f"/mail/eml/{notification_id}")
    assert response.status_code == 200
    parsed = email.message_from_bytes(response.content, policy=default_policy)
    assert parsed["Subject"] == (await row(notification_id))["subject"]
    await Notification.update({Notification.status: "sent"}).where(Notification.id == notification_id)


async def test_eml_transport_writes_atomically(tmp_path: Path) -> None:
    transport = EmlTransport(tmp_path / "box")
    await transport.open()
    row = {"id": 99, "created_at": now(), "email": "a@example.gov.cn", "subject": "主题", "body": "正文", "ics": None}
    await transport.send(compose(row), sender="m@example.gov.cn", recipient="a@example.gov.cn", row=row)
    files = list((tmp_path / "box").iterdir())
    assert len(files) == 1 and files[0].suffix == ".eml"
