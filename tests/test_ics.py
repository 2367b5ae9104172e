"""Meeting invitations as iCalendar (RFC 5545, iTIP RFC 5546).

Golden files fix the exact output for a new meeting, a time change (SEQUENCE+1), a cancellation
(METHOD:CANCEL) and the office's copy with every reply state; every calendar parses with
icalendar and vobject to the same instants in Asia/Shanghai and UTC. Through the database:
notify and cancel queue the unit's own .ics; replies show up as PARTSTAT in later versions; a
unit downloads only its own invitation, the office any."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from bs4 import BeautifulSoup

from conference.audit.tables import AuditEvent
from conference.calendar import ics
from conference.calendar.data import invitation_ics
from conference.meetings import invitations as meeting_invitations
from conference.meetings import lifecycle
from conference.meetings.tables import Invitation, Meeting
from conference.notifications.tables import Notification
from conference.registry.tables import Conference, MemberUnit
from tests.conftest import post_form, send_notice
from tests.factories import LANSHAN_STREET, actor, conference_id, make_meeting, meeting_form, unique
from tests.ics_support import SHANGHAI, UTC, assert_golden, assert_times, assert_wire_format, events_by_uid, parse_both
from tests.tokens import sent_reply_token

BASE = "https://lxhy.example.gov.cn"
STAMP = dt.datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
UID = "5b0c5a52-1d7e-4c39-9f1e-2f6f5d4c3b2a@conference"
MARKET, POLICE = "兰山区市场监管局", "兰山派出所"


def meeting(**changes: Any) -> dict[str, Any]:
    """A fixed meeting as conference.calendar.data.meeting_context returns it."""
    base: dict[str, Any] = {
        "id": 42, "uid": UID, "sequence": 0, "status": "notified", "kind": "plenary", "title": "2026年第2次全体会议",
        "starts_at": dt.datetime(2026, 12, 10, 1, 0, tzinfo=UTC), "ends_at": dt.datetime(2026, 12, 10, 3, 30, tzinfo=UTC),
        "location": "兰山街道办事处三楼会议室", "notes": "请各成员单位带齐相关材料；会场座位有限。", "cancel_reason": "",
        "created_at": dt.datetime(2026, 11, 1, 8, 0, tzinfo=UTC), "notified_at": dt.datetime(2026, 11, 2, 1, 0, tzinfo=UTC),
        "conference": 5, "conference_name": "兰山街道城市基层党建联席会议", "office_email": "lxhy-1@example.gov.cn",
        "presiding_name": "王建国", "presiding_title": "兰山区委常委、组织部部长",
        "office_contact": "王敏", "office_phone": "0539-8312001", "requirements": "请主要负责同志参会。",
        "reply_deadline": dt.datetime(2026, 12, 8, 9, 0, tzinfo=UTC),
        "agenda": [{"id": 1, "title": "沿街商铺占道经营反复回潮", "street_name": "兰山街道"},
                   {"id": 2, "title": "涉燃气餐饮场所安全隐患整治", "street_name": "兰山街道"},
                   {"id": 3, "title": "老旧小区停车位不足，需统筹规划; 边角地块利用\\论证", "street_name": None}],
        "invitations": [
            {"id": 11, "unit": 3, "unit_name": MARKET, "email": "liaison03@example.gov.cn", "role": "member", "reply": "pending",
             "token": "TokenMarket_0123456789abcdef", "token_revoked": False, "notified_sequence": 0},
            {"id": 12, "unit": 4, "unit_name": "兰山区公安分局", "email": "liaison04@example.gov.cn", "role": "member",
             "reply": "pending", "token": "TokenPolice_0123456789abcdef", "token_revoked": False, "notified_sequence": 0},
            {"id": 13, "unit": 9, "unit_name": POLICE, "email": "", "role": "observer", "reply": "pending",
             "token": "TokenStation_0123456789abcdef", "token_revoked": False, "notified_sequence": 0},
        ],
    }
    base.update(changes)
    return base


def render(m: dict[str, Any], unit_id: int | None = 3) -> str:
    return ics.invitation(m, base_url=BASE, mail_from="lxhy-office@example.gov.cn", tz=SHANGHAI, stamp=STAMP, unit_id=unit_id)


def with_replies(m: dict[str, Any], **replies: str) -> dict[str, Any]:
    by_name = {"market": 3, "police": 4, "station": 9}
    units = {by_name[k]: v for k, v in replies.items()}
    m["invitations"] = [{**i, "reply": units.get(i["unit"], i["reply"])} for i in m["invitations"]]
    return m


# ---------------------------------------------------------------- golden files


def test_new_meeting_invitation_golden() -> None:
    text = render(meeting())
    assert_wire_format(text)
    assert_golden("invitation_new.ics", text)
    cal, vcal = parse_both(text)
    assert str(cal["METHOD"]) == "REQUEST" and vcal.method.value == "REQUEST"
    event = cal.walk("VEVENT")[0]
    assert str(event["UID"]) == UID and int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:lxhy-1@example.gov.cn"
    attendees = event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]]
    assert [str(a) for a in attendees] == ["mailto:liaison03@example.gov.cn"]  # the unit's own copy: itself only
    assert dict(attendees[0].params) == {"CN": MARKET, "CUTYPE": "GROUP", "ROLE": "REQ-PARTICIPANT",
                                         "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}
    description = str(event["DESCRIPTION"])
    assert f"{BASE}/r/TokenMarket_0123456789abcdef" in description
    assert "1. 沿街商铺占道经营反复回潮（提请：兰山街道）" in description
    assert "3. 老旧小区停车位不足，需统筹规划; 边角地块利用\\论证（提请：办公室）" in description  # escaping round-trips
    assert str(event["URL"]) == f"{BASE}/meetings/42"
    alarms = event.walk("VALARM")
    assert sorted(a.decoded("TRIGGER") for a in alarms) == [dt.timedelta(days=-1), dt.timedelta(hours=-1)]
    assert all(str(a["ACTION"]) == "DISPLAY" and str(a["DESCRIPTION"]) for a in alarms)
    assert [str(t["TZID"]) for t in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert_times(events_by_uid(text)[UID], dt.datetime(2026, 12, 10, 9, 0), dt.datetime(2026, 12, 10, 11, 30))
    assert vcal.vevent.dtstart.value.astimezone(UTC) == dt.datetime(2026, 12, 10, 1, 0, tzinfo=UTC)


def test_office_copy_lists_every_unit_with_its_reply_golden() -> None:
    text = render(with_replies(meeting(), market="attending", police="leave", station="delegated"), unit_id=None)
    assert_golden("invitation_office.ics", text)
    event = parse_both(text)[0].walk("VEVENT")[0]
    attendees = {a.params["CN"]: a for a in event["ATTENDEE"]}
    assert {name: (a.params["PARTSTAT"], a.params["ROLE"]) for name, a in attendees.items()} == {
        MARKET: ("ACCEPTED", "REQ-PARTICIPANT"), "兰山区公安分局": ("DECLINED", "REQ-PARTICIPANT"),
        POLICE: ("DELEGATED", "OPT-PARTICIPANT")}
    assert all(a.params["RSVP"] == "TRUE" for a in attendees.values())
    assert str(attendees[POLICE]).startswith("urn:uuid:")  # no liaison e-mail: still a valid CAL-ADDRESS
    assert "/r/" not in str(event["DESCRIPTION"])  # no unit's personal link in the office's copy


def test_time_change_raises_sequence_golden() -> None:
    changed = with_replies(meeting(sequence=1, starts_at=dt.datetime(2026, 12, 11, 6, 30, tzinfo=UTC),
                                   ends_at=dt.datetime(2026, 12, 11, 8, 30, tzinfo=UTC), location="兰山区委党校报告厅"),
                           market="attending")
    text = render(changed)
    assert_golden("invitation_changed.ics", text)
    event = parse_both(text)[0].walk("VEVENT")[0]
    assert str(parse_both(text)[0]["METHOD"]) == "REQUEST"  # an update is a REQUEST with the same UID
    assert str(event["UID"]) == UID and int(event["SEQUENCE"]) == 1
    assert event["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert_times(events_by_uid(text)[UID], dt.datetime(2026, 12, 11, 14, 30), dt.datetime(2026, 12, 11, 16, 30))


def test_cancellation_golden() -> None:
    cancelled = with_replies(meeting(sequence=2, status="cancelled", cancel_reason="议题已在区防汛指挥部会议上研究解决。"),
                             market="attending")
    text = render(cancelled)
    assert_golden("invitation_cancelled.ics", text)
    cal, vcal = parse_both(text)
    event = cal.walk("VEVENT")[0]
    assert str(cal["METHOD"]) == "CANCEL" and vcal.method.value == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 2 and str(event["UID"]) == UID
    assert str(event["ATTENDEE"]) == "mailto:liaison03@example.gov.cn"
    assert not event.walk("VALARM")
    assert "/r/" not in str(event["DESCRIPTION"])  # the reply link dies with the meeting
    assert_times(events_by_uid(text)[UID], dt.datetime(2026, 12, 10, 9, 0), dt.datetime(2026, 12, 10, 11, 30))


def test_vtimezone_is_one_block_built_once() -> None:
    first = ics.vtimezone("Asia/Shanghai")
    assert ics.vtimezone("Asia/Shanghai") is first
    text = ics.vtimezone_bytes("Asia/Shanghai").decode()
    assert text.count("BEGIN:STANDARD") == 1 and "BEGIN:DAYLIGHT" not in text
    assert "TZOFFSETFROM:+0800" in text and "TZOFFSETTO:+0800" in text


def test_revoked_link_is_left_out() -> None:
    m = meeting()
    m["invitations"][0]["token_revoked"] = True
    assert "/r/" not in str(parse_both(render(m))[0].walk("VEVENT")[0]["DESCRIPTION"])


@pytest.mark.parametrize(("header", "expected"), [
    (None, False), ("", False), ('"abc"', True), ('W/"abc"', True), ('"x", "abc"', True), ("*", True), ('"abcd"', False)])
def test_etag_matching(header: str | None, expected: bool) -> None:
    assert ics.etag_matches(header, '"abc"') is expected


# ---------------------------------------------------------------- through the database

pytestmark = pytest.mark.usefixtures("database_url")


async def unit_id(name: str) -> int:
    return int((await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name).first())["id"])


async def queued_ics(meeting_id: int, unit: int, event: str) -> str:
    inv = await Invitation.select(Invitation.id).where((Invitation.meeting == meeting_id) & (Invitation.unit == unit)).first()
    row = await Notification.select(Notification.ics).where(
        (Notification.entity == "invitation") & (Notification.entity_id == inv["id"]) & (Notification.event == event)
    ).order_by(Notification.id, ascending=False).first()
    assert row is not None and row["ics"], f"no {event} with an .ics for unit {unit}"
    return str(row["ics"])


def event_of(text: str) -> Any:
    return parse_both(text)[0].walk("VEVENT")[0]


async def test_notify_reply_change_cancel_through_the_services(anon: Any) -> None:
    """The life of one invitation: REQUEST seq 0, the unit's reply, REQUEST seq 1 at the new time with
    PARTSTAT reset to NEEDS-ACTION (a new time asks for a new answer, RFC 5546 §2.1.4), CANCEL seq 2.
    Every version parses with both parsers at the right instants."""
    office = await actor("office")
    day = dt.date(2031, 3, 12)
    meeting_id = await make_meeting(date=day.isoformat(), start_time="09:00", end_time="11:00")
    market = await unit_id(MARKET)
    await lifecycle.notify_meeting(office, meeting_id)
    row = await Meeting.select().where(Meeting.id == meeting_id).first()
    conf = await Conference.select(Conference.office_email).where(Conference.id == row["conference"]).first()
    inv = await Invitation.select().where((Invitation.meeting == meeting_id) & (Invitation.unit == market)).first()
    inv["token"] = await sent_reply_token(inv["id"])  # the link of the notice (the table keeps its hash)

    first = await queued_ics(meeting_id, market, "meeting_notified")
    assert ics.method_of(first) == "REQUEST"
    event = event_of(first)
    assert str(event["UID"]) == row["uid"] and int(event["SEQUENCE"]) == 0
    assert str(event["ORGANIZER"]) == f"mailto:{conf['office_email']}"
    assert event["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"
    assert f"/r/{inv['token']}" in str(event["DESCRIPTION"])
    assert_times(events_by_uid(first)[row["uid"]], dt.datetime(2031, 3, 12, 9, 0), dt.datetime(2031, 3, 12, 11, 0))

    # The unit answers through its personal link: later versions carry ACCEPTED.
    await anon.get(f"/r/{inv['token']}")
    response = await post_form(anon, f"/r/{inv['token']}", {"reply": "attending", "attendee_name": "刘洋", "attendee_title": "副局长"})
    assert response.status_code == 303
    form = meeting_form(title=row["title"], date=day.isoformat(), start_time="14:30", end_time="16:00", version=row["version"])
    await lifecycle.update_meeting(office, meeting_id, form)  # sends the change notice with the save
    second = await queued_ics(meeting_id, market, "meeting_updated")
    event = event_of(second)
    assert ics.method_of(second) == "REQUEST" and str(event["UID"]) == row["uid"] and int(event["SEQUENCE"]) == 1
    assert event["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION" and event["ATTENDEE"].params["RSVP"] == "TRUE"
    stored = await Invitation.select().where(Invitation.id == inv["id"]).first()
    assert stored["reply"] == "pending" and stored["replied_at"] is not None and stored["attendee_name"] == "刘洋"
    notice = await Notification.select(Notification.body).where(
        (Notification.event == "meeting_updated") & (Notification.entity_id == inv["id"])).first()
    assert "请重新确认是否参会" in notice["body"]
    token = await sent_reply_token(inv["id"])
    page = BeautifulSoup((await anon.get(f"/r/{token}")).text, "html.parser")
    assert page.find(id="reconfirm") is not None and page.find(id="current-reply").strong.get_text(strip=True) == "待确认"
    assert page.find(attrs={"name": "attendee_name"})["value"] == "刘洋"  # the form starts from the names given
    audit = await AuditEvent.count().where((AuditEvent.entity == "invitation") & (AuditEvent.entity_id == inv["id"])
                                           & (AuditEvent.action == "reconfirm"))
    assert audit == 1
    assert_times(events_by_uid(second)[row["uid"]], dt.datetime(2031, 3, 12, 14, 30), dt.datetime(2031, 3, 12, 16, 0))

    await lifecycle.cancel_meeting(office, meeting_id, {"reason": "与区委全会时间冲突。"})
    third = await queued_ics(meeting_id, market, "meeting_cancelled")
    event = event_of(third)
    assert ics.method_of(third) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == row["uid"] and int(event["SEQUENCE"]) == 2
    assert "与区委全会时间冲突。" in str(event["DESCRIPTION"])
    assert_times(events_by_uid(third)[row["uid"]], dt.datetime(2031, 3, 12, 14, 30), dt.datetime(2031, 3, 12, 16, 0))


async def test_each_unit_gets_its_own_copy() -> None:
    office = await actor("office")
    meeting_id = await make_meeting(date="2031-04-02")
    await lifecycle.notify_meeting(office, meeting_id)
    rows = await Notification.select(Notification.ics, Notification.email, Notification.unit).where(
        (Notification.entity == "invitation") & (Notification.event == "meeting_notified")
        & Notification.entity_id.is_in([r["id"] for r in await Invitation.select(Invitation.id).where(Invitation.meeting == meeting_id)]))
    assert len(rows) >= 3
    for row in rows:
        event = event_of(row["ics"])
        attendee = event["ATTENDEE"]
        assert not isinstance(attendee, list)
        assert str(attendee) == (f"mailto:{row['email']}" if row["email"] else str(attendee))


async def test_unit_downloads_its_own_invitation_office_any(as_user: Any) -> None:
    office = await actor("office")
    meeting_id = await make_meeting(date="2031-05-06")
    unit, office_client = await as_user("unit"), await as_user("office")
    assert (await unit.get(f"/meetings/{meeting_id}/invite.ics")).status_code == 404  # still a draft
    await lifecycle.notify_meeting(office, meeting_id)
    response = await unit.get(f"/meetings/{meeting_id}/invite.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "method=REQUEST" in response.headers["content-type"]
    assert "attachment" in response.headers["content-disposition"]
    event = event_of(response.text)
    assert event["ATTENDEE"].params["CN"] == MARKET and not isinstance(event["ATTENDEE"], list)
    market = await unit_id(MARKET)
    # The personal link is only in the notice's copy: the table keeps its hash, so a download has none.
    assert "/r/" not in str(event["DESCRIPTION"])

    # The office: its copy lists every invited unit; any unit's copy on request.
    everyone = event_of((await office_client.get(f"/meetings/{meeting_id}/invite.ics")).text)
    invited = await Invitation.count().where(Invitation.meeting == meeting_id)
    assert len(everyone["ATTENDEE"]) == invited
    copy = await office_client.get(f"/meetings/{meeting_id}/invite.ics?unit={market}")
    assert event_of(copy.text)["ATTENDEE"].params["CN"] == MARKET
    assert (await office_client.get(f"/meetings/{meeting_id}/invite.ics?unit=999999")).status_code == 404
    assert (await office_client.get(f"/meetings/{meeting_id}/invite.ics?unit=abc")).status_code == 404

    # Outside the invitation or the scope: 404; roles without invitations: 403.
    other = await as_user("office_luozhuang")
    assert (await other.get(f"/meetings/{meeting_id}/invite.ics")).status_code == 404
    await meeting_invitations.remove_invitation(office, (await Invitation.select(Invitation.id).where(
        (Invitation.meeting == meeting_id) & (Invitation.unit == await unit_id(POLICE))).first())["id"])
    assert (await (await as_user("unit_police")).get(f"/meetings/{meeting_id}/invite.ics")).status_code == 404
    assert (await (await as_user("convenor")).get(f"/meetings/{meeting_id}/invite.ics")).status_code == 403


async def test_reply_on_the_account_page_shows_in_the_download(as_user: Any) -> None:
    office = await actor("office")
    meeting_id = await make_meeting(date="2031-06-09")
    await lifecycle.notify_meeting(office, meeting_id)
    unit = await as_user("unit")
    inv = await Invitation.select(Invitation.id).where(
        (Invitation.meeting == meeting_id) & (Invitation.unit == await unit_id(MARKET))).first()
    await unit.get(f"/my/invitations/{inv['id']}")
    response = await post_form(unit, f"/my/invitations/{inv['id']}", {"reply": "leave", "leave_reason": "同日参加市局培训"})
    assert response.status_code == 303
    event = event_of((await unit.get(f"/meetings/{meeting_id}/invite.ics")).text)
    assert event["ATTENDEE"].params["PARTSTAT"] == "DECLINED"


async def test_meeting_page_links_to_the_invitation(as_user: Any) -> None:
    from tests.conftest import html

    office = await actor("office")
    meeting_id = await make_meeting(date="2031-07-07")
    await lifecycle.notify_meeting(office, meeting_id)
    page = html(await (await as_user("unit")).get(f"/meetings/{meeting_id}"))
    assert page.find(id="invite-ics")["href"] == f"/meetings/{meeting_id}/invite.ics"
    assert page.find("a", href="/calendar/feed") is not None
    page = html(await (await as_user("office")).get(f"/meetings/{meeting_id}"))
    assert page.find(id="invite-ics")["href"] == f"/meetings/{meeting_id}/invite.ics"
    assert page.find("a", href=f"/mail/meetings/{meeting_id}") is not None


async def test_invitation_ics_of_missing_meeting_is_none() -> None:
    assert await invitation_ics(2**31 - 2) is None


async def test_summary_and_location_with_special_characters_round_trip() -> None:
    office = await actor("office")
    title = unique("会议;逗号,反斜杠\\")
    meeting_id = await make_meeting(title=title, location="三楼;会议室,东侧\\门")
    await lifecycle.notify_meeting(office, meeting_id)
    text = await invitation_ics(meeting_id, await unit_id(MARKET))
    assert text is not None
    cal, vcal = parse_both(text)
    assert str(cal.walk("VEVENT")[0]["SUMMARY"]) == title == vcal.vevent.summary.value
    assert vcal.vevent.location.value == "三楼;会议室,东侧\\门"
    assert re.search(r"^LOCATION:三楼\\;会议室\\,东侧\\\\门\r$", text, flags=re.M)


async def test_conference_without_office_mailbox_uses_mail_from() -> None:
    conf_id = await conference_id(LANSHAN_STREET)
    m = await invitation_ics((await Meeting.select(Meeting.id).where(Meeting.conference == conf_id).first())["id"])
    assert m is not None and "ORGANIZER" in m
    fixed = meeting(office_email="")
    event = event_of(ics.invitation(fixed, base_url=BASE, mail_from="lxhy-office@example.gov.cn", tz=SHANGHAI, stamp=STAMP))
    assert str(event["ORGANIZER"]) == "mailto:lxhy-office@example.gov.cn"
    assert event["ORGANIZER"].params["CN"] == "兰山街道城市基层党建联席会议办公室"


async def test_removed_unit_gets_a_cancellation_for_its_copy(as_user):
    import icalendar

    office = await as_user("office")
    meeting_id = await make_meeting()
    await send_notice(office, meeting_id)
    inv = await Invitation.select().where(Invitation.meeting == meeting_id).first()
    assert (await post_form(office, f"/invitations/{inv['id']}/remove", {})).status_code == 303
    note = await Notification.select().where(
        (Notification.event == "meeting_uninvited") & (Notification.entity_id == meeting_id)).first()
    calendar = icalendar.Calendar.from_ical(note["ics"])
    assert str(calendar["method"]) == "CANCEL"
    event = next(iter(calendar.walk("VEVENT")))
    # RFC 5546 §3.2.5: the meeting goes on, only this attendee is cancelled
    meeting_row = await Meeting.select(Meeting.sequence, Meeting.uid).where(Meeting.id == meeting_id).first()
    assert "STATUS" not in event and str(event["UID"]) == meeting_row["uid"]
    assert int(event["SEQUENCE"]) == meeting_row["sequence"] + 1
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    from conference.registry.tables import MemberUnit

    unit = await MemberUnit.select(MemberUnit.name).where(MemberUnit.id == inv["unit"]).first()
    assert len(attendees) == 1 and attendees[0].params["CN"] == unit["name"]
    assert "无需再参加" in str(event["DESCRIPTION"]) and "会议照常举行" in str(event["DESCRIPTION"])
    assert "会议已取消" not in str(event["DESCRIPTION"]) and not event.walk("VALARM")


async def test_organizer_other_than_from_carries_sent_by() -> None:
    fixed = meeting(office_email="lxhy-1@example.gov.cn")
    event = event_of(ics.invitation(fixed, base_url=BASE, mail_from="lxhy-office@example.gov.cn", tz=SHANGHAI, stamp=STAMP))
    assert str(event["ORGANIZER"]) == "mailto:lxhy-1@example.gov.cn"
    assert event["ORGANIZER"].params["SENT-BY"] == "mailto:lxhy-office@example.gov.cn"
    same = event_of(ics.invitation(meeting(office_email="LXHY-office@example.gov.cn"), base_url=BASE,
                                   mail_from="lxhy-office@example.gov.cn", tz=SHANGHAI, stamp=STAMP))
    assert "SENT-BY" not in same["ORGANIZER"].params
