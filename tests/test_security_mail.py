"""Issue 10, items 5 and 6: the office's mail viewer never fails on stored data (messages without an
address, CR/LF in stored names and subjects), and no stored name can change a message's recipients."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast

import pytest

from conference import settings as settings_module
from conference.collation import sort_key
from conference.mail.compose import compose
from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit, Street
from conference.settings import Settings, get_settings
from conference.timefmt import now
from tests.factories import LANSHAN_STREET, conference_id, unique

pytestmark = pytest.mark.usefixtures("database_url")
ATTACK = "A" * 80 + " <evil@attacker.example>"
LIAISON = "liaison@example.gov.cn"


@pytest.fixture
def eml_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """No SMTP and an empty outbox directory: the viewer composes every message from its row."""
    settings = dataclasses.replace(get_settings(), smtp_host="", mail_outbox_dir=str(tmp_path / "outbox"))
    monkeypatch.setattr(settings_module, "_settings", settings)
    return settings


def parse(data: bytes) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(data, policy=default_policy))


def recipients(data: bytes) -> list[str]:
    """Every address the To header of the raw message parses to."""
    to = parse(data)["To"]
    return [a.addr_spec for a in to.addresses] if to is not None else []


def raw_header(data: bytes, name: str) -> str:
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ")
    return next(line.split(":", 1)[1].strip() for line in unfolded.split("\r\n") if line.lower().startswith(name.lower() + ":"))


def row(**values: Any) -> dict[str, Any]:
    return {"id": 7, "created_at": dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC), "email": LIAISON,
            "subject": "【会议通知】测试", "body": "正文", "ics": None, **values}


async def stored(**values: Any) -> int:
    """A message already in the outbox (as sent, so that no sender picks it up)."""
    rows = await Notification.insert(Notification(**{
        "created_at": now(), "event": "test_security", "email": LIAISON, "subject": f"【会议通知】{unique()}",
        "body": "会议：测试", "conference": await conference_id(LANSHAN_STREET), "status": "sent", "sent_at": now(),
        **values})).returning(Notification.id)
    return int(rows[0]["id"])


# ---------------------------------------------------------------- item 6: recipients


def test_a_name_cannot_add_a_recipient() -> None:
    data = compose(row(), recipient_name=ATTACK).as_bytes()
    assert recipients(data) == [LIAISON]
    assert "evil@attacker.example" not in data.decode("ascii")  # the name is encoded, not written as an address
    display = str(make_header(decode_header(raw_header(data, "To").rsplit(" ", 1)[0])))
    assert display == ATTACK  # and still shown as stored
    for name in ('x", evil@attacker.example, "y', "evil@attacker.example", "名<evil@attacker.example>;,\"\\",
                 "A" * 200 + '",<evil@attacker.example>'):
        assert recipients(compose(row(), recipient_name=name).as_bytes()) == [LIAISON], name


def test_two_hundred_character_chinese_names() -> None:
    name = "临沂市兰山区城市基层党建联席会议成员单位" * 10
    assert len(name) == 200
    data = compose(row(subject="【会议通知】" + "长" * 190), recipient_name=name).as_bytes()
    assert recipients(data) == [LIAISON]
    assert str(make_header(decode_header(raw_header(data, "To").rsplit(" ", 1)[0]))) == name
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and max(len(line) for line in head.split(b"\r\n")) <= 78
    assert parse(data)["Subject"] == "【会议通知】" + "长" * 190


def test_an_address_is_never_a_list() -> None:
    for bad in ("a@example.com, evil@attacker.example", "a@example.com\r\nBcc: evil@attacker.example",
                "evil@attacker.example>, <a@example.com", "", "not an address"):
        data = compose(row(email=bad), recipient_name="单位").as_bytes()
        assert recipients(data) == [], bad
        assert b"attacker" not in data and b"Bcc" not in data


# ---------------------------------------------------------------- item 5: the viewer never fails


def test_compose_survives_control_characters_in_stored_text() -> None:
    data = compose(row(subject="会议\r\nBcc: evil@attacker.example", body="第一行\r\n第二行"),
                   recipient_name="单位\r\n名称\u202e").as_bytes()
    message = parse(data)
    assert recipients(data) == [LIAISON] and message["Bcc"] is None
    assert message["Subject"] == "会议 Bcc: evil@attacker.example"
    assert "\u202e" not in str(make_header(decode_header(raw_header(data, "To").rsplit(" ", 1)[0])))


async def test_viewer_opens_messages_without_an_address(eml_settings: Settings, as_user: Any) -> None:
    street = await Street.select(Street.id).where(Street.name == "兰山街道").first()
    notification_id = await stored(email="", street=street["id"])
    office = await as_user("office")
    page = await office.get(f"/mail/messages/{notification_id}")
    assert page.status_code == 200, page.text
    raw = await office.get(f"/mail/eml/{notification_id}")
    assert raw.status_code == 200 and recipients(raw.content) == []
    # The demo's street notifications too (each of them).
    demo = await Notification.select(Notification.id).where(
        (Notification.email == "") & Notification.street.is_not_null()).limit(20)
    admin = await as_user("admin")
    for item in demo:
        assert (await admin.get(f"/mail/messages/{item['id']}")).status_code == 200, item
        assert (await admin.get(f"/mail/eml/{item['id']}")).status_code == 200, item


async def test_viewer_opens_messages_with_line_breaks_in_stored_names(eml_settings: Settings, as_user: Any) -> None:
    # Stored before fields refused control characters (written directly, as old data would be).
    name = f"单位\r\n{unique()}"
    rows = await MemberUnit.insert(MemberUnit(name=name, sort_key=sort_key(name), kind="other", created_at=now())).returning(
        MemberUnit.id)
    unit_id = int(rows[0]["id"])
    notification_id = await stored(unit=unit_id, subject=f"会议\r\nBcc: evil@attacker.example {unique()}")
    office = await as_user("office")
    assert (await office.get(f"/mail/messages/{notification_id}")).status_code == 200
    raw = await office.get(f"/mail/eml/{notification_id}")
    assert raw.status_code == 200 and recipients(raw.content) == [LIAISON]
    assert parse(raw.content)["Bcc"] is None


async def test_viewer_shows_one_recipient_for_the_attack_name(eml_settings: Settings, as_user: Any) -> None:
    # The column holds 100 characters: the longest attack that fits, still past the folding width.
    name = unique("A" * 60) + " <evil@attacker.example>"
    rows = await MemberUnit.insert(MemberUnit(name=name, sort_key=sort_key(name), kind="other", created_at=now())).returning(
        MemberUnit.id)
    notification_id = await stored(unit=int(rows[0]["id"]))
    raw = await (await as_user("office")).get(f"/mail/eml/{notification_id}")
    assert raw.status_code == 200 and recipients(raw.content) == [LIAISON]
