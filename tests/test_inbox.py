"""Calendar replies read back from the office mailbox (issue 13 item 1), against a real IMAP server
(dovecot on loopback, tests/imap_server.py): REPLY messages shaped as Outlook sends them (inline
text/calendar; method=REPLY) and as Thunderbird does (the same calendar inline and as an .ics
attachment) are delivered by IMAP APPEND, read by `fetch_replies` / `conference fetch-mail`, and
become the unit's reply through the reply service; processed messages move to the processed folder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import uuid
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, make_msgid
from typing import Any

import icalendar
import pytest

from conference.audit.tables import AuditEvent
from conference.mail.inbox import fetch_replies
from conference.mail.tables import CalendarReply
from conference.meetings.tables import Invitation, Meeting
from conference.settings import Settings, get_settings
from tests.conftest import html
from tests.factories import actor, make_meeting
from tests.imap_server import PROCESSED, ImapServer, imap_server  # noqa: F401 - the fixture
from tests.test_cli import COMMAND

OFFICE_ADDRESS = "lxhy-office@example.gov.cn"


def imap_settings(server: ImapServer) -> Settings:
    return dataclasses.replace(get_settings(), imap_host="127.0.0.1", imap_port=server.port, imap_ssl=False,
                               imap_user=server.user, imap_password=server.password, imap_folder="INBOX",
                               imap_processed_folder=PROCESSED)


@pytest.fixture
def mailbox(imap_server: ImapServer) -> ImapServer:  # noqa: F811 - the fixture imported above
    imap_server.empty()
    return imap_server


async def notified_meeting() -> dict[str, Any]:
    """A notified meeting and one invited unit with a liaison address: its invitation, address, UID."""
    from conference.meetings.lifecycle import notify_meeting

    meeting_id = await make_meeting()
    await notify_meeting(await actor("office"), meeting_id)
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    rows = await Invitation.select(Invitation.id, Invitation.unit, Invitation.unit.liaison_email.as_alias("email"),
                                   Invitation.unit.name.as_alias("unit_name")).where(Invitation.meeting == meeting_id)
    invitation = next(r for r in rows if r["email"])
    return {"meeting": meeting, "invitation": invitation, "email": invitation["email"], "uid": meeting["uid"]}


def reply_calendar(case: dict[str, Any], partstat: str, *, sequence: int | None = None, uid: str | None = None,
                   attendee: str | None = None, comment: str = "", delegate: tuple[str, str] | None = None,
                   prodid: str = "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN") -> str:
    calendar = icalendar.Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    event = icalendar.Event()
    event.add("uid", uid or case["uid"])
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("sequence", case["meeting"]["sequence"] if sequence is None else sequence)
    event.add("summary", case["meeting"]["title"])
    event.add("dtstart", case["meeting"]["starts_at"])
    organizer = icalendar.vCalAddress(f"mailto:{OFFICE_ADDRESS}")
    event.add("organizer", organizer)
    address = icalendar.vCalAddress(f"mailto:{attendee or case['email']}")
    address.params["PARTSTAT"] = partstat
    address.params["CN"] = case["invitation"]["unit_name"]
    if delegate:
        address.params["DELEGATED-TO"] = f"mailto:{delegate[1]}"
    event.add("attendee", address)
    if delegate:
        other = icalendar.vCalAddress(f"mailto:{delegate[1]}")
        other.params["CN"] = delegate[0]
        other.params["PARTSTAT"] = "NEEDS-ACTION"
        other.params["DELEGATED-FROM"] = f"mailto:{attendee or case['email']}"
        event.add("attendee", other)
    if comment:
        event.add("comment", comment)
    calendar.add_component(event)
    return calendar.to_ical().decode()


def outlook_message(case: dict[str, Any], ics: str, *, sender: str | None = None) -> bytes:
    """Outlook: multipart/alternative with the answer as text and the calendar inline, method=REPLY."""
    message = EmailMessage()
    message["From"] = sender or case["email"]
    message["To"] = OFFICE_ADDRESS
    message["Subject"] = f"已接受: {case['meeting']['title']}"
    message["Message-ID"] = make_msgid(domain="unit.example")
    message.set_content("已接受此会议。")
    message.add_alternative(ics, subtype="calendar", params={"method": "REPLY"})
    return message.as_bytes()


def thunderbird_message(case: dict[str, Any], ics: str) -> bytes:
    """Thunderbird: multipart/mixed with the text, the calendar inline and the same calendar as invite.ics."""
    message = MIMEMultipart("mixed")
    message["From"] = formataddr((case["invitation"]["unit_name"], case["email"]))
    message["To"] = OFFICE_ADDRESS
    message["Subject"] = f"Declined: {case['meeting']['title']}"
    message["Message-ID"] = make_msgid(domain="thunderbird.example")
    message.attach(MIMEText("拒绝了您的邀请。", "plain", "utf-8"))
    inline = MIMEText(ics, "calendar", "utf-8")
    inline.set_param("method", "REPLY")
    message.attach(inline)
    attachment = MIMEApplication(ics.encode(), "ics", name="invite.ics")
    attachment.add_header("Content-Disposition", "attachment", filename="invite.ics")
    message.attach(attachment)
    return message.as_bytes()


async def invitation_row(case: dict[str, Any]) -> dict[str, Any]:
    return await Invitation.select().where(Invitation.id == case["invitation"]["id"]).first()


async def test_outlook_accept_is_recorded_and_shown_on_the_meeting_page(mailbox, as_user):
    case = await notified_meeting()
    mailbox.append(outlook_message(case, reply_calendar(case, "ACCEPTED")))
    outcome = await fetch_replies(imap_settings(mailbox))
    assert outcome.messages == 1 and outcome.outcomes == {"applied": 1}
    inv = await invitation_row(case)
    assert inv["reply"] == "attending" and inv["replied_at"] is not None
    # read once: the message left the inbox for the processed folder, and a second run finds nothing
    assert mailbox.messages("INBOX") == [] and len(mailbox.messages(PROCESSED)) == 1
    assert (await fetch_replies(imap_settings(mailbox))).messages == 0
    event = await AuditEvent.select().where((AuditEvent.entity == "invitation") & (AuditEvent.entity_id == inv["id"])
                                             & (AuditEvent.action == "reply")).first()
    assert event is not None and "日历回复" in event["actor_name"]
    page = html(await (await as_user("office")).get(f"/meetings/{case['meeting']['id']}"))
    row = next(tr for tr in page.select("tr") if case["invitation"]["unit_name"] in tr.get_text())
    assert row.select_one("td.reply").get_text(strip=True).startswith("参会")
    # the unit's own copy of the invitation now says ACCEPTED
    from conference.calendar.data import invitation_ics

    text = await invitation_ics(case["meeting"]["id"], case["invitation"]["unit"])
    attendee = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]["attendee"]
    assert attendee.params["PARTSTAT"] == "ACCEPTED"


async def test_thunderbird_decline_with_attachment_counts_once(mailbox):
    case = await notified_meeting()
    ics = reply_calendar(case, "DECLINED", comment="当天另有防汛工作", prodid="-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN")
    mailbox.append(thunderbird_message(case, ics))
    outcome = await fetch_replies(imap_settings(mailbox))
    assert outcome.outcomes == {"applied": 1}  # inline and attached: the same answer, counted once
    inv = await invitation_row(case)
    assert inv["reply"] == "leave" and inv["leave_reason"] == "当天另有防汛工作"
    assert await CalendarReply.count().where(CalendarReply.invitation == inv["id"]) == 1


async def test_tentative_and_delegated_with_the_delegate(mailbox):
    case = await notified_meeting()
    mailbox.append(outlook_message(case, reply_calendar(case, "TENTATIVE")))
    await fetch_replies(imap_settings(mailbox))
    assert (await invitation_row(case))["reply"] == "tentative"
    mailbox.append(outlook_message(case, reply_calendar(case, "DELEGATED", delegate=("孙立新", "sunlx@unit.example"))))
    assert (await fetch_replies(imap_settings(mailbox))).outcomes == {"applied": 1}
    inv = await invitation_row(case)
    assert inv["reply"] == "delegated" and inv["attendee_name"] == "孙立新"
    row = await CalendarReply.select().where(CalendarReply.invitation == inv["id"]).order_by(CalendarReply.id, ascending=False).first()
    assert row["delegate"] == "孙立新 <sunlx@unit.example>"


async def test_older_sequence_unknown_uid_and_stranger_are_not_recorded(mailbox, as_user):
    case = await notified_meeting()
    await Meeting.update({Meeting.sequence: Meeting.sequence + 2}).where(Meeting.id == case["meeting"]["id"])
    stale = reply_calendar(case, "ACCEPTED", sequence=case["meeting"]["sequence"] + 1)
    unknown = reply_calendar(case, "ACCEPTED", uid=f"{uuid.uuid4()}@elsewhere")
    current = reply_calendar(case, "ACCEPTED", sequence=case["meeting"]["sequence"] + 2)
    mailbox.append(outlook_message(case, stale))
    mailbox.append(outlook_message(case, unknown))
    mailbox.append(outlook_message(case, current, sender="someone@else.example"))
    outcome = await fetch_replies(imap_settings(mailbox))
    assert outcome.outcomes == {"stale": 1, "unmatched": 1, "sender": 1}
    assert (await invitation_row(case))["reply"] == "pending"
    assert len(mailbox.messages(PROCESSED)) == 3
    # the office sees what could not be recorded about its meetings; the admin also the unmatched one
    office = html(await (await as_user("office")).get("/mail/replies"))
    outcomes = [td.get_text(strip=True) for td in office.select("td.outcome")]
    assert "回复的是旧版本，已忽略" in outcomes and "发件人不是受邀地址" in outcomes
    admin = html(await (await as_user("admin")).get("/mail/replies?q=elsewhere"))
    assert admin.select("td.outcome") == []  # searched by sender, subject, attendee: the UID is not among them
    admin = html(await (await as_user("admin")).get("/mail/replies"))
    assert "未找到对应邀请" in [td.get_text(strip=True) for td in admin.select("td.outcome")]


async def test_replies_page_is_for_the_office_only(as_user):
    for username in ("unit", "street", "convenor"):
        response = await (await as_user(username)).get("/mail/replies")
        assert response.status_code in (403, 404), username


async def test_a_person_writing_back_stays_in_the_inbox_and_a_message_read_twice_counts_once(mailbox):
    case = await notified_meeting()
    letter = EmailMessage()
    letter["From"] = case["email"]
    letter["To"] = OFFICE_ADDRESS
    letter["Subject"] = "关于会议材料"
    letter.set_content("请问需要准备哪些材料？")
    mailbox.append(letter.as_bytes())
    accept = outlook_message(case, reply_calendar(case, "ACCEPTED"))
    mailbox.append(accept)
    mailbox.append(accept)  # the same message twice (a move that failed, or two processes reading)
    outcome = await fetch_replies(imap_settings(mailbox))
    assert outcome.other == 1 and outcome.outcomes == {"applied": 1, "duplicate": 1}
    assert len(mailbox.messages("INBOX")) == 1  # the person's letter, for a person to read
    again = await fetch_replies(imap_settings(mailbox))
    assert again.other == 0 and again.messages == 0  # marked as checked: not downloaded again
    events = await AuditEvent.count().where((AuditEvent.entity == "invitation")
                                            & (AuditEvent.entity_id == case["invitation"]["id"]) & (AuditEvent.action == "reply"))
    assert events == 1


async def test_closed_meeting_refuses_the_reply(mailbox):
    case = await notified_meeting()
    await Meeting.update({Meeting.status: "held"}).where(Meeting.id == case["meeting"]["id"])
    mailbox.append(outlook_message(case, reply_calendar(case, "ACCEPTED")))
    assert (await fetch_replies(imap_settings(mailbox))).outcomes == {"closed": 1}
    assert (await invitation_row(case))["reply"] == "pending"


async def test_fetch_mail_command(mailbox, database_url):
    case = await notified_meeting()
    mailbox.append(outlook_message(case, reply_calendar(case, "ACCEPTED")))
    env = {**os.environ, "DATABASE_URL": database_url, "IMAP_HOST": "127.0.0.1", "IMAP_PORT": str(mailbox.port),
           "IMAP_SSL": "false", "IMAP_USER": mailbox.user, "IMAP_PASSWORD": mailbox.password, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([str(COMMAND), "fetch-mail"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "读取日历回复邮件 1 封" in result.stdout
    assert (await invitation_row(case))["reply"] == "attending"
    wrong = subprocess.run([str(COMMAND), "fetch-mail"], env={**env, "IMAP_PASSWORD": "wrong"}, capture_output=True,
                           text=True, timeout=120, check=False)
    assert wrong.returncode != 0 and "无法读取邮箱" in wrong.stderr
