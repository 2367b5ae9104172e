"""The complete 会议通知 (issue 11 item 6): 主持, agenda, 参会要求, reply deadline and the office's
contact, the same in the e-mail, the reply page and the .ics DESCRIPTION; sending goes through a
preview and a confirmation (nothing is queued before it); a reply after the deadline is taken and
shown as 逾期回复. Through HTTP, parsed, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import re
import subprocess
import tempfile
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any, cast

import httpx
import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from piccolo.columns import Bytea

from conference.agenda.tables import AgendaItem
from conference.mail.compose import compose
from conference.meetings.notice import DEFAULT_REQUIREMENTS
from conference.meetings.tables import Invitation, Meeting
from conference.notifications.tables import Notification
from conference.timefmt import today
from tests.conftest import field_error, field_value, html, post_form
from tests.factories import LANSHAN_STREET, conference_id, meeting_form, unique
from tests.test_agenda import accepted_item
from tests.test_mail import Recorder, free_port, smtp_settings
from tests.test_minutes import published_minutes
from tests.tokens import sent_reply_token

MARKET = "兰山区市场监管局"
REQUIREMENTS = "请携带本单位整改台账，主要负责同志参会。"


async def set_office_contact(office: Any) -> None:
    """The office records its contact person and telephone on its conference (the registry form)."""
    conference = await conference_id(LANSHAN_STREET)
    edit = await office.get(f"/registry/conferences/{conference}/edit")
    assert edit.status_code == 200
    names = {node["name"] for node in html(edit).select("form [id^=f-][name]")}
    form = {name: field_value(edit, name) or "" for name in names}
    form.update(office_contact="王敏", office_phone="0539-8123456",
                version=html(edit).find("input", attrs={"name": "version"})["value"])
    response = await post_form(office, f"/registry/conferences/{conference}/edit", form)
    assert response.status_code == 303, field_error(response, "office_phone")


async def new_meeting(office: httpx.AsyncClient, **overrides: Any) -> tuple[int, httpx.Response]:
    form = {**meeting_form(), "conference": str(await conference_id(LANSHAN_STREET)), **overrides}
    response = await post_form(office, "/meetings/new", form)
    meeting_id = int(response.headers["location"].rsplit("/", 1)[1]) if response.status_code == 303 else 0
    return meeting_id, response


async def notices(meeting_id: int) -> list[dict[str, Any]]:
    invitations = [r["id"] for r in await Invitation.select(Invitation.id).where(Invitation.meeting == meeting_id)]
    return await Notification.select().where(
        (Notification.entity == "invitation") & Notification.entity_id.is_in(invitations or [0]))


async def test_reply_deadline_is_validated_beside_its_field(as_user):
    office = await as_user("office")
    day = today() + dt.timedelta(days=30)
    _id, response = await new_meeting(office, reply_date=day.isoformat(), reply_time="10:00", requirements=REQUIREMENTS)
    assert response.status_code == 400
    assert field_error(response, "reply_date") == "回执截止时间必须早于会议开始时间。"
    assert field_value(response, "reply_time") == "10:00" and field_value(response, "requirements") == REQUIREMENTS
    _id, response = await new_meeting(office, reply_time="10:00")
    assert field_error(response, "reply_date") == "填写了回执截止时间，请同时填写回执截止日期。"
    # The new-meeting form offers the default 参会要求 to edit.
    assert field_value(await office.get("/meetings/new"), "requirements") == DEFAULT_REQUIREMENTS


async def test_preview_then_confirm_and_the_notice_everywhere(as_user, anon):
    office, street = await as_user("office"), await as_user("street")
    await set_office_contact(office)
    deadline_day = today() + dt.timedelta(days=27)
    meeting_id, response = await new_meeting(office, reply_date=deadline_day.isoformat(), reply_time="16:30",
                                             requirements=REQUIREMENTS)
    assert response.status_code == 303
    items = []
    for _n in range(2):
        item_id = await accepted_item(street, office, title=unique("议题"))
        assert (await post_form(office, f"/items/{item_id}/schedule", {"meeting": str(meeting_id)})).status_code == 303
        items.append(item_id)
    titles = [(await AgendaItem.select(AgendaItem.title).where(AgendaItem.id == i).first())["title"] for i in items]

    # The meeting page offers 发送会议通知 as a link to the preview, not a direct POST.
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.find(id="notify").find_parent("form")["method"] == "get"
    assert page.find(id="reply-deadline").get_text(strip=True) == f"{deadline_day.year}年{deadline_day.month}月{deadline_day.day}日 16:30"
    assert page.find(id="meeting-requirements").get_text(strip=True) == REQUIREMENTS

    # Preview: the recipients and the message one chosen unit receives; nothing queued yet.
    preview = await office.get(f"/meetings/{meeting_id}/notify")
    assert preview.status_code == 200
    doc = html(preview)
    rows = doc.select("#recipients tbody tr")
    invited = await Invitation.count().where(Invitation.meeting == meeting_id)
    assert len(rows) == invited > 1
    market = next(r for r in rows if r.find("td").get_text(strip=True) == MARKET)
    chosen = html(await office.get(f"/meetings/{meeting_id}/notify?unit={market['data-unit']}"))
    assert chosen.find(id="preview").get_text().find(MARKET) >= 0
    text = chosen.find(id="preview-text").get_text()
    for expected in ("主持：王建国", f"1. {titles[0]}（提请：兰山街道）", f"2. {titles[1]}（提请：兰山街道）", f"参会要求：{REQUIREMENTS}",
                     f"回执截止时间：{deadline_day.year}年{deadline_day.month}月{deadline_day.day}日 16:30",
                     "联系人：王敏", "联系电话：0539-8123456", "/r/…"):
        assert expected in text, (expected, text)
    assert chosen.find(id="preview-subject").get_text(strip=True).startswith("【会议通知】")
    assert await notices(meeting_id) == []
    # A POST without the confirmation (an old page, a crafted form) sends nothing: back to the preview.
    refused = await post_form(office, f"/meetings/{meeting_id}/notify", {})
    assert refused.status_code == 303 and refused.headers["location"] == f"/meetings/{meeting_id}/notify"
    assert await notices(meeting_id) == []
    # A confirmation of a preview the meeting has since outdated is refused too.
    key = chosen.find("input", attrs={"name": "confirm"})["value"]
    stale = key.replace(key.split(":")[0], str(int(key.split(":")[0]) + 1), 1)
    assert (await post_form(office, f"/meetings/{meeting_id}/notify", {"confirm": stale})).status_code == 303
    assert await notices(meeting_id) == []
    # The confirm form carries the CSRF token; without it the POST is refused.
    form = chosen.find(id="confirm-form")
    assert form["method"] == "post" and form.find("input", attrs={"name": "_csrf_token"}) is not None
    assert (await office.post(f"/meetings/{meeting_id}/notify", data={"confirm": key})).status_code == 403
    assert await notices(meeting_id) == []

    sent = await post_form(office, f"/meetings/{meeting_id}/notify", {"confirm": key})
    assert sent.status_code == 303 and sent.headers["location"] == f"/meetings/{meeting_id}"
    queued = await notices(meeting_id)
    assert len(queued) == invited

    # The e-mail as composed for sending: the complete notice.
    invitation = await Invitation.select().where(
        (Invitation.meeting == meeting_id) & (Invitation.unit == int(market["data-unit"]))).first()
    row = next(r for r in queued if r["entity_id"] == invitation["id"])
    message = cast(EmailMessage, email.message_from_bytes(compose(row, recipient_name=MARKET).as_bytes(), policy=default_policy))
    body = message.get_body(preferencelist=("plain",)).get_content()
    for expected in ("主持：王建国", f"参会要求：{REQUIREMENTS}", "回执截止时间：", "联系人：王敏", *titles):
        assert expected in body, expected
    assert text.split("/r/")[0] in body  # the preview showed exactly this message, but for the link
    # The .ics DESCRIPTION.
    calendar = Calendar.from_ical(row["ics"])
    description = str(calendar.walk("VEVENT")[0]["DESCRIPTION"])
    for expected in ("主持：王建国", f"参会要求：{REQUIREMENTS}", "回执截止时间：", "联系人：王敏", "联系电话：0539-8123456", *titles):
        assert expected in description, expected
    # The reply page behind the unit's link.
    token = await sent_reply_token(invitation["id"])
    reply = html(await anon.get(f"/r/{token}"))
    assert reply.find(id="meeting-presiding").get_text(strip=True).startswith("王建国")
    assert [li.get_text() for li in reply.select("#meeting-agenda li")] and all(
        any(t in li.get_text() for t in titles) for li in reply.select("#meeting-agenda li"))
    assert reply.find(id="meeting-requirements").get_text(strip=True) == REQUIREMENTS
    assert "16:30" in reply.find(id="reply-deadline").get_text()
    contact = reply.find(id="office-contact").get_text()
    assert "王敏" in contact and "0539-8123456" in contact
    assert reply.find(id="late-reply") is None


async def test_late_reply_is_taken_and_marked(as_user, anon):
    office = await as_user("office")
    yesterday = today() - dt.timedelta(days=1)
    meeting_id, response = await new_meeting(office, reply_date=yesterday.isoformat(), reply_time="17:00")
    assert response.status_code == 303
    key = html(await office.get(f"/meetings/{meeting_id}/notify")).find("input", attrs={"name": "confirm"})["value"]
    assert (await post_form(office, f"/meetings/{meeting_id}/notify", {"confirm": key})).status_code == 303
    invitations = await Invitation.select(Invitation.id, Invitation.unit.name.as_alias("unit_name")).where(
        Invitation.meeting == meeting_id)
    market = next(i for i in invitations if i["unit_name"] == MARKET)
    token = await sent_reply_token(market["id"])
    page = html(await anon.get(f"/r/{token}"))
    assert "已过截止时间" in page.find(id="reply-deadline").get_text()  # still open, and says so
    await anon.get(f"/r/{token}")
    answer = await post_form(anon, f"/r/{token}", {"reply": "attending", "attendee_name": "刘洋", "attendee_title": "副局长"})
    assert answer.status_code == 303
    assert html(await anon.get(f"/r/{token}")).find(id="late-reply").get_text(strip=True) == "逾期回复"
    rows = html(await office.get(f"/meetings/{meeting_id}")).select("table.invitations tbody tr")
    marked = {r["data-unit"]: r.select_one("td.reply .late") is not None for r in rows}
    assert marked[MARKET] is True and not any(v for k, v in marked.items() if k != MARKET)
    meeting = await Meeting.select(Meeting.reply_deadline, Meeting.status).where(Meeting.id == meeting_id).first()
    assert meeting["reply_deadline"] is not None and meeting["status"] == "notified"


def pdf_text(content: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/notice.pdf"
        with open(path, "wb") as f:
            f.write(content)
        return subprocess.run(["pdftotext", "-layout", path, "-"], check=True, capture_output=True, timeout=60).stdout.decode()


async def test_notice_pdf_for_the_office(as_user, anon):
    office, street = await as_user("office"), await as_user("street")
    await set_office_contact(office)
    deadline_day = today() + dt.timedelta(days=25)
    meeting_id, _r = await new_meeting(office, reply_date=deadline_day.isoformat(), reply_time="12:00", requirements=REQUIREMENTS)
    item_id = await accepted_item(street, office, title=unique("议题"))
    assert (await post_form(office, f"/items/{item_id}/schedule", {"meeting": str(meeting_id)})).status_code == 303
    key = html(await office.get(f"/meetings/{meeting_id}/notify")).find("input", attrs={"name": "confirm"})["value"]
    assert (await post_form(office, f"/meetings/{meeting_id}/notify", {"confirm": key})).status_code == 303
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    # The 文号 is given at the first notice (the office's 代字, this year's series) and kept.
    assert re.fullmatch(r"兰联办〔\d{4}〕\d+号", meeting["notice_number"]), meeting["notice_number"]

    page = html(await office.get(f"/meetings/{meeting_id}"))
    link = page.find(id="notice-pdf")["href"]
    response = await office.get(link)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    flat = re.sub(r"\s+", "", text)
    title = (await AgendaItem.select(AgendaItem.title).where(AgendaItem.id == item_id).first())["title"]
    for expected in (meeting["notice_number"], "兰山街道城市基层党建联席会议办公室", f"关于召开{meeting['title']}的通知",
                     MARKET, "一、会议时间", "二、会议地点", meeting["location"], "三、会议议程", f"1．{title}",
                     "四、参会要求", REQUIREMENTS, "五、参会回执", f"{deadline_day.year}年{deadline_day.month}月{deadline_day.day}日12:00",
                     "王建国", "联系人：王敏", "联系电话：0539-8123456"):
        assert re.sub(r"\s+", "", expected) in flat, (expected, text)
    sizes = subprocess.run(["pdfinfo", "-"], input=response.content, capture_output=True, check=True).stdout.decode()
    assert "595.276 x 841.89 pts (A4)" in sizes
    # The office only: the unit, the street and a stranger are answered as if there were no meeting.
    for username in ("street", "unit"):
        assert (await (await as_user(username)).get(link)).status_code in (403, 404)
    assert (await anon.get(link)).status_code in (302, 303, 401)
    assert (await (await as_user("office_luozhuang")).get(link)).status_code == 404


# ---------------------------------------------------------------- the minutes PDF as an attachment


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives (as in test_mail)."""
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


async def distribution_rows(minutes_id: int) -> list[dict[str, Any]]:
    return await Notification.select().where(
        (Notification.entity == "minutes") & (Notification.entity_id == minutes_id) & (Notification.email != "")
        & Notification.unit.is_not_null())


async def test_distribution_email_carries_the_published_pdf(as_user, smtp_server):
    from conference.mail.sender import send_pending
    from conference.mail.tables import NotificationAttachment
    from conference.mail.transports import SmtpTransport
    from conference.minutes.tables import MinutesPublication

    _held, minutes_id = await published_minutes(as_user)
    publication = await MinutesPublication.select().where(MinutesPublication.minutes == minutes_id).first()
    rows = await distribution_rows(minutes_id)
    assert rows
    # Stored once: each message references the publication, none holds a copy of the bytes.
    links = await NotificationAttachment.select().where(NotificationAttachment.notification.is_in([r["id"] for r in rows]))
    assert len(links) == len(rows) and {a["publication"] for a in links} == {publication["id"]}
    assert not [c for c in NotificationAttachment._meta.columns if isinstance(c, Bytea)]

    recorder, port = smtp_server
    settings = smtp_settings(port)
    outcome = await send_pending(SmtpTransport(settings), settings=settings, ids=[r["id"] for r in rows])
    assert outcome.sent == len(rows)
    message = recorder.to(rows[0]["email"])[-1]
    assert message.get_content_type() == "multipart/mixed"
    pdfs = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_filename().endswith(".pdf")
    received = pdfs[0].get_content()
    assert hashlib.sha256(received).hexdigest() == publication["sha256"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert f"SHA-256：{publication['sha256']}" in body and "见附件" in body


async def test_a_pdf_over_the_cap_goes_as_its_link(as_user, smtp_server, monkeypatch):
    import dataclasses

    from conference import settings as settings_module
    from conference.mail.sender import send_pending
    from conference.mail.tables import NotificationAttachment
    from conference.mail.transports import SmtpTransport
    from conference.settings import get_settings

    monkeypatch.setattr(settings_module, "_settings", dataclasses.replace(get_settings(), mail_attachment_max_bytes=1000))
    _held, minutes_id = await published_minutes(as_user)
    rows = await distribution_rows(minutes_id)
    assert rows and await NotificationAttachment.count().where(
        NotificationAttachment.notification.is_in([r["id"] for r in rows])) == 0
    recorder, port = smtp_server
    settings = smtp_settings(port)
    await send_pending(SmtpTransport(settings), settings=settings, ids=[r["id"] for r in rows])
    message = recorder.to(rows[0]["email"])[-1]
    assert not [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert f"/minutes/{minutes_id}/published.pdf" in body and "未作为附件发送" in body and "SHA-256：" in body
