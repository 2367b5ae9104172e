"""Per-unit subscription feeds: /feeds/{token}.ics behind a secret, revocable token.

Golden file for a feed with meetings of several conferences and task deadlines; both parsers read
it with the right instants. Through HTTP: the unit's page issues, shows, renews and revokes the
address; a token opens only its own unit's feed; revoked and unknown tokens answer 404; the feed
lists a meeting only through the unit's invitation (never a draft, never after being uninvited),
each meeting once; ETag and If-None-Match answer 304 until something changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pytest

from conference.agenda.tables import AgendaItem
from conference.calendar import feeds, ics
from conference.calendar.tables import CalendarFeed
from conference.meetings import invitations as meeting_invitations
from conference.meetings import lifecycle
from conference.meetings.tables import Invitation, Meeting
from conference.registry.tables import MemberUnit
from conference.tasks.tables import Resolution, Task
from conference.timefmt import now
from tests.conftest import html, post_form
from tests.factories import LANSHAN_STREET, actor, conference_id, make_meeting, meeting_form, unique
from tests.ics_support import SHANGHAI, UTC, assert_golden, assert_times, assert_wire_format, events_by_uid, parse_both

BASE = "https://lxhy.example.gov.cn"
MARKET, POLICE = "兰山区市场监管局", "兰山派出所"
LANSHAN_DISTRICT = "兰山区城市基层党建联席会议"


# ---------------------------------------------------------------- golden file


def fixed_meeting(n: int, conference: str, day: dt.date, **changes: Any) -> dict[str, Any]:
    start = dt.datetime.combine(day, dt.time(9, 0), SHANGHAI).astimezone(UTC)
    row: dict[str, Any] = {
        "id": 100 + n, "uid": f"00000000-0000-4000-8000-{n:012d}@conference", "sequence": 0, "status": "notified",
        "kind": "plenary", "title": f"2026年第{n}次全体会议", "starts_at": start, "ends_at": start + dt.timedelta(hours=2),
        "location": "兰山街道办事处三楼会议室", "notes": "", "cancel_reason": "", "conference_name": conference,
        "presiding_name": "王建国", "presiding_title": "兰山区委常委、组织部部长",
        "created_at": dt.datetime(2026, 10, 1, 2, 0, tzinfo=UTC), "notified_at": dt.datetime(2026, 10, 2, 2, 0, tzinfo=UTC),
        "agenda": [{"meeting": 100 + n, "title": "沿街商铺占道经营反复回潮", "street_name": "兰山街道"}],
    }
    row.update(changes)
    return row


def fixed_task(n: int, deadline: dt.date, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 500 + n, "deadline": deadline, "status": "in_progress", "role": "lead",
        "text": "建立联合审批专班，老旧小区加装电梯办理时限压缩至 30 个工作日以内，并每月报送进展情况。",
        "meeting_title": "2026年第1次全体会议", "assigned_at": dt.datetime(2026, 5, 14, 8, 0, tzinfo=UTC), "changed_at": None,
    }
    row.update(changes)
    return row


def golden_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    meetings = [
        fixed_meeting(1, LANSHAN_STREET, dt.date(2026, 12, 10)),
        fixed_meeting(2, LANSHAN_DISTRICT, dt.date(2026, 12, 15), location="兰山区委党校报告厅", agenda=[], sequence=1,
                      title="兰山区2026年第4次全体会议"),
        fixed_meeting(3, LANSHAN_STREET, dt.date(2026, 12, 20), status="cancelled", sequence=2, kind="special",
                      title="防汛工作专题会议", cancel_reason="议题已在区防汛指挥部会议上研究解决。", agenda=[]),
    ]
    tasks = [
        fixed_task(1, dt.date(2026, 12, 31)),
        fixed_task(2, dt.date(2027, 1, 15), role="cooperate", status="assigned", text="配合做好沿街商铺占道经营整治"),
        fixed_task(3, dt.date(2026, 11, 30), status="closed", text="路灯维修", changed_at=dt.datetime(2026, 11, 28, 3, 0, tzinfo=UTC)),
    ]
    return meetings, tasks


def test_feed_golden() -> None:
    meetings, tasks = golden_rows()
    feed = feeds.build_feed(MARKET, meetings, tasks, base_url=BASE, tz=SHANGHAI)
    assert_wire_format(feed.body)
    assert_golden("feed.ics", feed.body)
    cal, vcal = parse_both(feed.body)
    assert "METHOD" not in cal  # a subscription, not an iTIP message
    assert str(cal["X-WR-CALNAME"]) == f"{MARKET}·会议与督办日程" == vcal.x_wr_calname.value
    assert re.search(rb"^REFRESH-INTERVAL;VALUE=DURATION:PT1H\r$", feed.body, flags=re.M)
    assert re.search(rb"^X-PUBLISHED-TTL:PT1H\r$", feed.body, flags=re.M)
    events = events_by_uid(feed.body)
    assert len(events) == 6
    assert_times(events[meetings[0]["uid"]], dt.datetime(2026, 12, 10, 9, 0), dt.datetime(2026, 12, 10, 11, 0))
    assert_times(events[meetings[1]["uid"]], dt.datetime(2026, 12, 15, 9, 0), dt.datetime(2026, 12, 15, 11, 0))
    assert str(events[meetings[2]["uid"]]["ical"]["STATUS"]) == "CANCELLED"
    task = events["task-501@lxhy.example.gov.cn"]
    assert task["start"] == task["v_start"] == dt.date(2026, 12, 31)  # all day, both parsers
    assert task["end"] == task["v_end"] == dt.date(2027, 1, 1)
    assert str(task["ical"]["URL"]) == f"{BASE}/tasks/501"
    assert str(task["ical"]["TRANSP"]) == "TRANSPARENT"
    for event in events.values():
        assert "ATTENDEE" not in event["ical"] and "ORGANIZER" not in event["ical"]
    # The same rows give the same bytes (and ETag): nothing in a feed depends on the clock.
    again = feeds.build_feed(MARKET, *golden_rows(), base_url=BASE, tz=SHANGHAI)
    assert again.body == feed.body and again.etag == feed.etag


def test_event_cache_serves_changed_rows_fresh() -> None:
    meetings, tasks = golden_rows()
    before = feeds.build_feed(MARKET, meetings, tasks, base_url=BASE, tz=SHANGHAI)
    meetings[0] = {**meetings[0], "location": "新会场", "sequence": 1}
    tasks[0] = {**tasks[0], "deadline": dt.date(2027, 2, 1)}
    after = feeds.build_feed(MARKET, meetings, tasks, base_url=BASE, tz=SHANGHAI)
    assert after.etag != before.etag
    events = events_by_uid(after.body)
    assert str(events[meetings[0]["uid"]]["ical"]["LOCATION"]) == "新会场"
    assert events["task-501@lxhy.example.gov.cn"]["start"] == dt.date(2027, 2, 1)


# ---------------------------------------------------------------- through HTTP

pytestmark = pytest.mark.usefixtures("database_url")


async def unit_id(name: str) -> int:
    return int((await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name).first())["id"])


async def issue(client: Any) -> str:
    """The unit renews its address on its page and reads it from the answer: shown this once only
    (the table keeps its hash), never on the page afterwards."""
    await client.get("/calendar/feed")
    response = await post_form(client, "/calendar/feed", {})
    assert response.status_code == 200 and response.headers["cache-control"] == "private, no-store"
    page = html(response)
    later = await client.get("/calendar/feed")
    assert html(later).find(id="feed-https") is None and html(later).find(id="feed-active") is not None
    https = page.find(id="feed-https")["value"]
    webcal = page.find(id="feed-webcal")["value"]
    assert webcal == "webcal://" + https.split("://", 1)[1]
    assert page.find(id="subscribe")["href"] == webcal
    assert html(later).find(string=re.compile(re.escape(https))) is None and https not in later.text
    match = re.search(r"/feeds/([A-Za-z0-9_\-]+)\.ics$", https)
    assert match, https
    return match.group(1)


async def make_task(unit: int, meeting_id: int, deadline: dt.date, *, status: str = "assigned", role: str = "lead") -> int:
    conf = await conference_id(LANSHAN_STREET)
    item = await AgendaItem.insert(AgendaItem(conference=conf, title=unique("议题"), status="resolved", created_at=now())).returning(
        AgendaItem.id)
    number = await Resolution.count().where(Resolution.meeting == meeting_id) + 1
    resolution = await Resolution.insert(Resolution(
        meeting=meeting_id, item=item[0]["id"], conference=conf, number=number, text=unique("议定事项"), lead_unit=unit,
        deadline=deadline, adopted_at=now())).returning(Resolution.id)
    task = await Task.insert(Task(resolution=resolution[0]["id"], unit=unit, conference=conf, role=role, status=status,
                                  assigned_at=now(), deadline=deadline, ack_due=deadline)).returning(Task.id)
    return int(task[0]["id"])


async def uid_of(meeting_id: int) -> str:
    return str((await Meeting.select(Meeting.uid).where(Meeting.id == meeting_id).first())["uid"])


async def test_feed_lists_invited_meetings_once_and_task_deadlines(as_user: Any, anon: Any) -> None:
    office = await actor("office")
    market, police = await unit_id(MARKET), await unit_id(POLICE)
    street_meeting = await make_meeting(date="2031-09-01")  # 兰山街道: both units are members
    district_meeting = await make_meeting(conference=LANSHAN_DISTRICT, date="2031-09-02")  # 兰山区: the market bureau only
    draft = await make_meeting(date="2031-09-03")
    uninvited = await make_meeting(date="2031-09-04")
    for meeting_id in (street_meeting, district_meeting, uninvited):
        await lifecycle.notify_meeting(office, meeting_id)
    removed = await Invitation.select(Invitation.id).where((Invitation.meeting == uninvited) & (Invitation.unit == market)).first()
    await meeting_invitations.remove_invitation(office, removed["id"])
    # A second invitation row for the same unit cannot exist (unique per meeting and unit, so the
    # feed never lists a meeting twice for one unit): the database refuses it.
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await Invitation.insert(Invitation(meeting=street_meeting, unit=market, role="observer", token_hash=unique("dup") + "x" * 20))
    open_task = await make_task(market, street_meeting, dt.date(2031, 10, 1))
    closed_task = await make_task(market, street_meeting, dt.date(2031, 10, 2), status="closed")
    cancelled_task = await make_task(market, street_meeting, dt.date(2031, 10, 3), status="cancelled")
    other_task = await make_task(police, street_meeting, dt.date(2031, 10, 4))

    token = await issue(await as_user("unit"))
    response = await anon.get(f"/feeds/{token}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["x-robots-tag"].startswith("noindex")
    body = response.content
    events = events_by_uid(body)
    assert str(parse_both(body)[0]["X-WR-CALNAME"]) == f"{MARKET}·会议与督办日程"
    assert body.count(f"UID:{await uid_of(street_meeting)}".encode()) == 1
    assert await uid_of(district_meeting) in events  # several conferences, one feed
    assert await uid_of(draft) not in events
    assert await uid_of(uninvited) not in events
    host = "task-{}@" + re.sub(r"^https?://", "", feeds.feed_urls("x")["https"]).split("/")[0]
    assert host.format(open_task) in events and host.format(closed_task) in events
    assert host.format(cancelled_task) not in events and host.format(other_task) not in events
    assert events[host.format(open_task)]["start"] == dt.date(2031, 10, 1)
    assert str(events[host.format(open_task)]["ical"]["URL"]).endswith(f"/tasks/{open_task}")
    assert_times(events[await uid_of(street_meeting)], dt.datetime(2031, 9, 1, 9, 0), dt.datetime(2031, 9, 1, 11, 0))

    # The police station's token opens the police station's feed, not the market bureau's.
    police_token = await issue(await as_user("unit_police"))
    police_feed = events_by_uid((await anon.get(f"/feeds/{police_token}.ics")).content)
    assert await uid_of(uninvited) in police_feed and await uid_of(district_meeting) not in police_feed
    assert host.format(other_task) in police_feed and host.format(open_task) not in police_feed
    assert police_token != token


async def test_revoke_and_renew(as_user: Any, anon: Any) -> None:
    unit = await as_user("unit")
    first = await issue(unit)
    assert (await anon.get(f"/feeds/{first}.ics")).status_code == 200
    second = await issue(unit)
    assert (await anon.get(f"/feeds/{first}.ics")).status_code == 404  # renewed: the old address is dead
    assert (await anon.get(f"/feeds/{second}.ics")).status_code == 200
    response = await post_form(unit, "/calendar/feed/revoke", {})
    assert response.status_code == 303
    assert (await anon.get(f"/feeds/{second}.ics")).status_code == 404
    page = html(await unit.get("/calendar/feed"))
    assert page.find(id="no-feed") is not None and page.find(id="feed-https") is None
    row = await CalendarFeed.select().where(CalendarFeed.token_hash == hashlib.sha256(second.encode()).hexdigest()).first()
    assert not await CalendarFeed.exists().where(CalendarFeed.token_hash == second)  # never in clear
    assert row["revoked"] and row["revoked_at"] is not None


@pytest.mark.parametrize("path", ["/feeds/nope.ics", "/feeds/" + "a" * 65 + ".ics", "/feeds/abc", "/feeds/%2E%2E.ics",
                                  "/feeds/.ics"])
async def test_unknown_tokens_answer_404(anon: Any, path: str) -> None:
    assert (await anon.get(path)).status_code == 404


async def test_etag_and_if_none_match(as_user: Any, anon: Any) -> None:
    office = await actor("office")
    meeting_id = await make_meeting(date="2031-11-11")
    await lifecycle.notify_meeting(office, meeting_id)
    token = await issue(await as_user("unit"))
    first = await anon.get(f"/feeds/{token}.ics")
    tag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    again = await anon.get(f"/feeds/{token}.ics", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert (await anon.get(f"/feeds/{token}.ics", headers={"If-None-Match": f'W/{tag}, "other"'})).status_code == 304
    assert (await anon.get(f"/feeds/{token}.ics", headers={"If-None-Match": '"other"'})).status_code == 200

    row = await Meeting.select().where(Meeting.id == meeting_id).first()
    await lifecycle.update_meeting(office, meeting_id, meeting_form(title=row["title"], date="2031-11-12", version=row["version"]))
    changed = await anon.get(f"/feeds/{token}.ics", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    event = events_by_uid(changed.content)[row["uid"]]
    assert int(event["ical"]["SEQUENCE"]) == 1
    assert event["start"].astimezone(SHANGHAI).date() == dt.date(2031, 11, 12)


async def test_head_last_modified_and_304_without_building(as_user: Any, anon: Any, monkeypatch: Any) -> None:
    """HEAD answers GET's headers; LAST-MODIFIED and DTSTAMP move with a change of the meeting; the
    304 comes from the version query alone: the feed is not built for it."""
    office = await actor("office")
    meeting_id = await make_meeting(date="2031-12-03")
    await lifecycle.notify_meeting(office, meeting_id)
    earlier = now() - dt.timedelta(days=1)  # the change below must fall in a later second than these
    await Meeting.update({Meeting.created_at: earlier, Meeting.notified_at: earlier, Meeting.changed_at: earlier}).where(
        Meeting.id == meeting_id)
    token = await issue(await as_user("unit"))
    url = f"/feeds/{token}.ics"
    first = await anon.get(url)
    tag = first.headers["etag"]
    head = await anon.head(url)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == tag
    assert head.headers["content-type"].startswith("text/calendar")
    assert (await anon.head(url, headers={"If-None-Match": tag})).status_code == 304
    assert (await anon.head("/feeds/nope.ics")).status_code == 404
    row = await Meeting.select().where(Meeting.id == meeting_id).first()
    before = events_by_uid(first.content)[row["uid"]]["ical"]
    assert before["LAST-MODIFIED"].dt == before["DTSTAMP"].dt

    def no_building(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a 304 must not build the feed")

    monkeypatch.setattr(feeds, "build_feed", no_building)
    monkeypatch.setattr(feeds, "feed_rows", no_building)
    assert (await anon.get(url, headers={"If-None-Match": tag})).status_code == 304
    monkeypatch.undo()

    await lifecycle.update_meeting(office, meeting_id, meeting_form(title=row["title"], date="2031-12-03", location="新会场",
                                                                   version=row["version"]))
    changed = await anon.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    after = events_by_uid(changed.content)[row["uid"]]["ical"]
    assert after["LAST-MODIFIED"].dt == after["DTSTAMP"].dt > before["DTSTAMP"].dt
    assert str(after["LOCATION"]) == "新会场"


async def test_feed_version_follows_tasks_and_agenda(as_user: Any) -> None:
    """The version moves with whatever the feed shows beyond the meeting row: a task's state, an
    agenda item's title, the unit's name."""
    unit = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == MARKET).first()
    start = await feeds.feed_version(unit["id"])
    assert start == await feeds.feed_version(unit["id"])  # the same data, the same tag
    task = await Task.select().where((Task.unit == unit["id"]) & (Task.status != "cancelled")).first()
    if task is not None:
        await Task.update({Task.version: Task.version + 1}).where(Task.id == task["id"])
        assert await feeds.feed_version(unit["id"]) != start
    moved = await feeds.feed_version(unit["id"])
    await MemberUnit.update({MemberUnit.version: MemberUnit.version + 1}).where(MemberUnit.id == unit["id"])
    assert await feeds.feed_version(unit["id"]) != moved
    assert await feeds.feed_version(unit["id"], dt.date(2031, 1, 1)) != await feeds.feed_version(unit["id"])


async def test_feed_page_is_for_units_only(as_user: Any, anon: Any) -> None:
    assert (await (await as_user("office")).get("/calendar/feed")).status_code == 403
    response = await anon.get("/calendar/feed")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    office = await as_user("office")
    await office.get("/")
    assert (await post_form(office, "/calendar/feed", {})).status_code == 403


async def test_feed_service_rejects_other_roles() -> None:
    from conference.errors import Forbidden

    with pytest.raises(Forbidden):
        await feeds.issue_feed(await actor("office"))
    assert await feeds.unit_for_token("") is None
    assert await feeds.unit_for_token("a/b") is None


def test_feed_urls_use_the_base_url() -> None:
    urls = feeds.feed_urls("TOKEN")
    assert urls["https"].endswith("/feeds/TOKEN.ics") and urls["webcal"].startswith("webcal://")
    assert ics.etag(b"x") == ics.etag(b"x") != ics.etag(b"y")
