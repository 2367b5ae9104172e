"""Notification pages: units and streets read only their own messages (plain text, line breaks
kept, never rendered as HTML); the office reads the outbox of its conferences; nobody else."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from conference.notifications.services import queue
from conference.notifications.tables import Notification
from conference.registry.tables import Street
from conference.settings import get_settings
from tests.conftest import html, post_form
from tests.factories import LANSHAN_STREET, LUOZHUANG_STREET, conference_id
from tests.test_invitations import MARKET, POLICE, invitation, make_meeting, unit_id


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def street_id(name: str) -> int:
    return int((await Street.select(Street.id).where(Street.name == name).first())["id"])


def subjects(response) -> list[str]:
    return [h.get_text(strip=True) for h in html(response).select(".message .subject")]


def entry(response, text: str) -> Any:
    """The list entry (li.message) whose subject contains `text`."""
    return next(n for n in html(response).select("li.message") if text in n.select_one(".subject").get_text())


async def open_entry(client, response, text: str) -> Any:
    """Open the message of the list entry (its subject links the message page)."""
    page = await client.get(entry(response, text).select_one("a.subject")["href"])
    assert page.status_code == 200
    return html(page)


def badge(response) -> int:
    node = html(response).select_one("#unread-badge")
    return int(node.contents[0].strip()) if node else 0


async def test_unit_sees_its_own_meeting_notices(as_user):
    meeting = await make_meeting()
    market, police = await invitation(meeting["id"], MARKET), await invitation(meeting["id"], POLICE)
    unit = await as_user("unit")
    response = await unit.get("/notifications")
    assert response.status_code == 200
    notice = entry(response, f"【会议通知】{meeting['title']}")
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", notice.select_one("time").get_text())
    # the entry names and links its record: the unit's own invitation to the meeting
    record = notice.select_one(".message-record")
    assert record.get_text(strip=True) == f"会议：{meeting['title']}"
    assert record.find("a")["href"] == f"/my/invitations/{market['id']}"
    assert police["token"] not in response.text and market["token"] not in response.text  # no token on the list

    page = await open_entry(unit, response, f"【会议通知】{meeting['title']}")
    body = page.select_one(".message-body")
    lines = [p.get_text() for p in body.find_all("p")]
    # line by line: the notice's 文号 first (兰联办〔2026〕N号), then the meeting, its time span and place
    assert re.fullmatch(r"文号：\S+〔\d{4}〕\d+号", lines[0])
    assert lines[1:4] == [f"会议：{meeting['title']}", "时间：2030年11月29日 09:00—11:00", "地点：区委党校三楼会议室"]
    # the reply link is a link to the unit's invitation page, not a raw URL with the personal token
    reply = body.find("a", string="回复参会情况")
    assert reply["href"] == f"/my/invitations/{market['id']}"
    assert "http" not in body.get_text() and market["token"] not in str(page) and police["token"] not in str(page)

    police_page = await (await as_user("unit_police")).get("/notifications")
    assert entry(police_page, f"【会议通知】{meeting['title']}").select_one(".message-record a")["href"] == f"/my/invitations/{police['id']}"


async def test_bodies_are_plain_text_never_html(as_user):
    marker = tag()
    await queue("meeting_notified", conference_id=await conference_id(LANSHAN_STREET),
                subject=f"转义测试 {marker}", body=f"<b id='x{marker}'>加粗</b>\n<script>alert(1)</script>",
                unit_id=await unit_id(MARKET))
    unit = await as_user("unit")
    page = await open_entry(unit, await unit.get(f"/notifications?q={marker}"), marker)
    assert page.find(id=f"x{marker}") is None and not page.select(".message-body script")
    assert [p.get_text() for p in page.select(".message-body p")] == [f"<b id='x{marker}'>加粗</b>", "<script>alert(1)</script>"]


async def test_street_sees_only_its_own(as_user):
    marker = tag()
    await queue("item_returned", conference_id=await conference_id(LANSHAN_STREET),
                subject=f"兰山街道消息 {marker}", body="议题退回\n请补充材料", street_id=await street_id("兰山街道"))
    await queue("item_returned", conference_id=await conference_id(LUOZHUANG_STREET),
                subject=f"罗庄街道消息 {marker}", body="议题退回", street_id=await street_id("罗庄街道"))
    lanshan = subjects(await (await as_user("street")).get(f"/notifications?q={marker}"))
    luozhuang = subjects(await (await as_user("street_luozhuang")).get(f"/notifications?q={marker}"))
    assert lanshan == [f"兰山街道消息 {marker}"]
    assert luozhuang == [f"罗庄街道消息 {marker}"]
    # a street never reads the units' messages
    assert not [s for s in subjects(await (await as_user("street")).get("/notifications")) if s.startswith("【会议通知】")]


async def test_street_is_told_of_the_decision_on_its_request(as_user):
    street, convenor = await as_user("street"), await as_user("convenor")
    from tests.test_special_requests import file_request

    request_id = await file_request(street, f"通知测试 {tag()}")
    await post_form(convenor, f"/special-requests/{request_id}/decline", {"comment": "请先提交区级部门协调"})
    listed = await street.get("/notifications")
    notice = next(n for n in html(listed).select("li.message") if n.select_one(".message-record a")
                  and n.select_one(".message-record a")["href"] == f"/special-requests/{request_id}")
    assert notice.select_one(".subject").get_text(strip=True) == "专题会议提请未获同意"
    page = html(await street.get(notice.select_one("a.subject")["href"]))
    assert "审批意见：请先提交区级部门协调" in page.select_one(".message-body").get_text()


async def test_read_unread_badge_and_mark_all_read(as_user):
    street, other = await as_user("street"), await as_user("street_luozhuang")
    marker = tag()
    await post_form(street, "/notifications/read-all", {})
    before_other = badge(await other.get("/"))
    lanshan = await street_id("兰山街道")
    ids = [await queue("item_returned", conference_id=await conference_id(LANSHAN_STREET), subject=f"未读测试{n} {marker}",
                       body="议题退回", street_id=lanshan) for n in (1, 2, 3)]
    await queue("item_returned", conference_id=await conference_id(LUOZHUANG_STREET), subject=f"别家 {marker}",
                body="x", street_id=await street_id("罗庄街道"))
    home = await street.get("/")
    assert badge(home) == 3
    assert html(home).select_one(".nav-menu-button .nav-badge").get_text(strip=True) == "3"  # on the phone's menu button too
    listed = await street.get(f"/notifications?q={marker}")
    assert [n.has_attr("class") and "unread" in n["class"] for n in html(listed).select("li.message")] == [True] * 3
    assert html(listed).find("button", string="全部标为已读") is not None

    # Opening a message marks it read; the page's badge already counts one less.
    opened = await street.get(f"/notifications/{ids[0]}")
    assert opened.status_code == 200 and badge(opened) == 2
    first_read = (await Notification.select(Notification.read_at).where(Notification.id == ids[0]).first())["read_at"]
    assert first_read is not None
    await street.get(f"/notifications/{ids[0]}")  # a second opening keeps the first time
    assert (await Notification.select(Notification.read_at).where(Notification.id == ids[0]).first())["read_at"] == first_read
    listed = html(await street.get(f"/notifications?q={marker}"))
    assert "unread" not in listed.find(id=f"n-{ids[0]}")["class"] and "unread" in listed.find(id=f"n-{ids[1]}")["class"]
    unread_only = subjects(await street.get(f"/notifications?state=unread&q={marker}"))
    assert sorted(unread_only) == [f"未读测试2 {marker}", f"未读测试3 {marker}"]
    assert subjects(await street.get(f"/notifications?state=read&q={marker}")) == [f"未读测试1 {marker}"]

    # Another street can neither open it nor is its badge touched.
    assert (await other.get(f"/notifications/{ids[1]}")).status_code == 404
    response = await post_form(street, "/notifications/read-all", {})
    assert response.status_code == 303 and response.headers["location"] == "/notifications"
    assert badge(await street.get("/")) == 0
    assert html(await street.get("/")).select_one(".nav-badge") is None
    assert subjects(await street.get(f"/notifications?state=unread&q={marker}")) == []
    assert badge(await other.get("/")) == before_other + 1


async def test_the_rating_request_names_the_task_and_unit_and_links_it(as_user):
    from tests.test_tasks import act, assert_done, new_task

    office, unit, street = await as_user("office"), await as_user("unit"), await as_user("street")
    title_text = f"评价测试 {tag()}"
    task_id = (await new_task(MARKET, text=title_text))[MARKET]
    assert_done(await act(unit, task_id, "acknowledge"), task_id)
    assert_done(await act(unit, task_id, "done", {"evidence": "已办结。"}), task_id)
    assert_done(await act(office, task_id, "close", {"comment": "核实无误。"}), task_id)
    row = await Notification.select(Notification.id, Notification.subject).where(
        (Notification.entity == "task") & (Notification.entity_id == task_id) & Notification.street.is_not_null()).first()
    listed = await street.get("/notifications")
    notice = html(listed).find(id=f"n-{row['id']}")
    record = notice.select_one(".message-record")
    assert record.get_text(strip=True).startswith("督办任务：") and f"（承办单位：{MARKET}）" in record.get_text()
    assert record.find("a")["href"] == f"/tasks/{task_id}"
    page = html(await street.get(f"/notifications/{row['id']}"))
    assert MARKET in page.find("h1").get_text()
    body = page.select_one(".message-body")
    assert "http" not in body.get_text() and "/t/" not in str(page.select_one("main"))
    assert {a["href"] for a in body.find_all("a")} == {f"/tasks/{task_id}"}  # the rating link becomes the task page


async def test_minutes_notice_shows_no_hash_and_links_the_pdf(as_user):
    base = get_settings().base_url
    digest = "ab" * 32
    marker = tag()
    message_id = await queue("minutes_published", conference_id=await conference_id(LANSHAN_STREET), subject=f"【会议纪要】{marker}",
                             body=f"会议纪要已印发。\n纪要 PDF（登录后下载）：{base}/minutes/7/published.pdf\nSHA-256：{digest}\n"
                                  f"1. 议定事项一：整治（兰山区市场监管局，办结期限2030年1月1日）{base}/tasks/9",
                             street_id=await street_id("兰山街道"), entity="minutes", entity_id=0)
    page = html(await (await as_user("street")).get(f"/notifications/{message_id}"))
    main = page.select_one("main")
    assert digest not in str(main) and "SHA-256" not in main.get_text() and "http" not in main.get_text()
    links = {a.get_text(strip=True): a["href"] for a in page.select(".message-body a")}
    assert links == {"下载纪要 PDF": "/minutes/7/published.pdf", "查看督办任务": "/tasks/9"}


async def test_pages_of_twenty(as_user):
    marker = tag()
    unit_market = await unit_id(MARKET)
    for n in range(23):
        await queue("meeting_notified", conference_id=await conference_id(LANSHAN_STREET), subject=f"分页 {marker} {n:02d}",
                    body="x", unit_id=unit_market)
    unit = await as_user("unit")
    first = await unit.get(f"/notifications?q={marker}")
    assert subjects(first)[0] == f"分页 {marker} 22" and len(subjects(first)) == 20  # newest first
    second = await unit.get("/notifications" + html(first).select_one(".pager a[rel=next]")["href"])
    assert subjects(second) == [f"分页 {marker} {n:02d}" for n in (2, 1, 0)]
    await post_form(unit, "/notifications/read-all", {})


@pytest.mark.parametrize("username", ["admin", "office", "convenor"])
async def test_other_roles_cannot_open_or_mark_messages(as_user, username):
    client = await as_user(username)
    assert (await client.get("/notifications/1")).status_code == 403
    assert (await post_form(client, "/notifications/read-all", {})).status_code == 403


async def test_the_unread_count_reads_the_partial_index(database_url):
    """The badge's count (conference.accounts.services.actor_for_session) reads only unread rows."""
    from conference import db

    if get_settings().is_postgres:
        pytest.skip("the PostgreSQL planner scans a small table instead; the index is checked on SQLite")
    plan = await db.fetch("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM notification n WHERE n.street = {} AND n.read_at IS NULL", 1)
    assert "notification_unread_street" in " ".join(str(r.get("detail", r)) for r in plan)


@pytest.mark.parametrize("username", ["admin", "office", "convenor"])
async def test_other_roles_have_no_inbox(as_user, username):
    assert (await (await as_user(username)).get("/notifications")).status_code == 403


@pytest.mark.parametrize("username", ["convenor", "street", "unit"])
async def test_only_office_and_admin_read_the_outbox(as_user, username):
    response = await (await as_user(username)).get("/outbox")
    assert response.status_code == 403
    assert html(response).find("h1").get_text(strip=True) == "您的角色无权访问此页面。"


async def test_office_reads_the_outbox_of_its_conferences(as_user):
    meeting = await make_meeting()  # 兰山街道's conference: below the 兰山区 office
    inv = await invitation(meeting["id"], MARKET)
    marker = tag()
    await queue("item_returned", conference_id=await conference_id(LUOZHUANG_STREET),
                subject=f"罗庄街道出箱 {marker}", body="x", street_id=await street_id("罗庄街道"))
    office = await as_user("office")

    response = await office.get("/outbox?q=" + meeting["title"])
    assert response.status_code == 200
    page = html(response)
    rows = page.select("table.outbox tbody tr")
    recipients = {r.select_one("td.recipient").get_text(" ", strip=True).split(" ")[0] for r in rows}
    assert {MARKET, POLICE} <= recipients
    assert all(r.select_one(".subject").get_text(strip=True) == f"【会议通知】{meeting['title']}" for r in rows)
    assert all(r.select_one("td.send-status").get_text(strip=True).startswith("待发送") for r in rows)
    assert inv["token"] not in response.text  # the personal links are masked for the office
    assert "/r/…" in response.text

    assert not html(await office.get(f"/outbox?q={marker}")).select("table.outbox tbody .subject")
    luozhuang = await as_user("office_luozhuang")
    assert not html(await luozhuang.get("/outbox?q=" + meeting["title"])).select("table.outbox tbody .subject")
    assert html(await luozhuang.get(f"/outbox?q={marker}")).select("table.outbox tbody .subject")
    admin = await as_user("admin")
    assert html(await admin.get(f"/outbox?q={marker}")).select("table.outbox tbody .subject")


async def test_outbox_filters_by_status_and_event(as_user):
    meeting = await make_meeting()
    office = await as_user("office")
    queued = html(await office.get(f"/outbox?status=queued&event=meeting_notified&q={meeting['title']}"))
    assert queued.select("table.outbox tbody .subject")
    assert queued.find(id="f-status").find("option", selected=True)["value"] == "queued"
    assert queued.find(id="f-event").find("option", selected=True)["value"] == "meeting_notified"
    assert not html(await office.get(f"/outbox?status=sent&q={meeting['title']}")).select("table.outbox tbody .subject")
    assert not html(await office.get(f"/outbox?event=meeting_cancelled&q={meeting['title']}")).select(
        "table.outbox tbody .subject")
    await Notification.update({Notification.status: "sent"}).where(Notification.subject == f"【会议通知】{meeting['title']}")
    assert html(await office.get(f"/outbox?status=sent&q={meeting['title']}")).select("table.outbox tbody .subject")
