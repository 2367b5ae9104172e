"""Notification pages: units and streets read only their own messages (plain text, line breaks
kept, never rendered as HTML); the office reads the outbox of its conferences; nobody else."""

from __future__ import annotations

import re
import uuid

import pytest

from conference.notifications.services import queue
from conference.notifications.tables import Notification
from conference.registry.tables import Street
from tests.conftest import html, post_form
from tests.factories import LANSHAN_STREET, LUOZHUANG_STREET, conference_id
from tests.test_invitations import MARKET, POLICE, invitation, make_meeting, unit_id


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def street_id(name: str) -> int:
    return int((await Street.select(Street.id).where(Street.name == name).first())["id"])


def subjects(response) -> list[str]:
    return [h.get_text(strip=True) for h in html(response).select(".notification .subject")]


async def test_unit_sees_its_own_meeting_notices(as_user):
    meeting = await make_meeting()
    market, police = await invitation(meeting["id"], MARKET), await invitation(meeting["id"], POLICE)
    response = await (await as_user("unit")).get("/notifications")
    assert response.status_code == 200
    page = html(response)
    notice = next(n for n in page.select(".notification") if n.select_one(".subject").get_text(strip=True)
                  == f"【会议通知】{meeting['title']}")
    body = notice.select_one(".body")
    assert "style" not in body.attrs  # line breaks kept by static/app.css (no inline style under the CSP)
    text = body.get_text()
    assert f"会议：{meeting['title']}\n时间：2030年11月29日 09:00\n地点：区委党校三楼会议室" in text  # line breaks kept
    assert f"/r/{market['token']}" in text
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", notice.select_one("time").get_text())
    assert police["token"] not in response.text  # the other unit's personal link is not shown

    police_page = await (await as_user("unit_police")).get("/notifications")
    assert f"/r/{police['token']}" in police_page.text and market["token"] not in police_page.text


async def test_bodies_are_plain_text_never_html(as_user):
    marker = tag()
    await queue("meeting_notified", conference_id=await conference_id(LANSHAN_STREET),
                subject=f"转义测试 {marker}", body=f"<b id='x{marker}'>加粗</b>\n<script>alert(1)</script>",
                unit_id=await unit_id(MARKET))
    response = await (await as_user("unit")).get("/notifications")
    page = html(response)
    assert page.find(id=f"x{marker}") is None and not page.select(".notification .body script")
    notice = next(n for n in page.select(".notification") if marker in n.select_one(".subject").get_text())
    assert notice.select_one(".body").get_text() == f"<b id='x{marker}'>加粗</b>\n<script>alert(1)</script>"


async def test_street_sees_only_its_own(as_user):
    marker = tag()
    await queue("item_returned", conference_id=await conference_id(LANSHAN_STREET),
                subject=f"兰山街道消息 {marker}", body="议题退回\n请补充材料", street_id=await street_id("兰山街道"))
    await queue("item_returned", conference_id=await conference_id(LUOZHUANG_STREET),
                subject=f"罗庄街道消息 {marker}", body="议题退回", street_id=await street_id("罗庄街道"))
    lanshan = subjects(await (await as_user("street")).get("/notifications"))
    luozhuang = subjects(await (await as_user("street_luozhuang")).get("/notifications"))
    assert f"兰山街道消息 {marker}" in lanshan and f"罗庄街道消息 {marker}" not in lanshan
    assert f"罗庄街道消息 {marker}" in luozhuang and f"兰山街道消息 {marker}" not in luozhuang
    # a street never reads the units' messages
    assert not [s for s in lanshan if s.startswith("【会议通知】")]


async def test_street_is_told_of_the_decision_on_its_request(as_user):
    street, convenor = await as_user("street"), await as_user("convenor")
    response = await post_form(street, "/special-requests/new", {
        "reason": f"通知测试 {tag()}", "proposed_date": "2099-01-01"})
    request_id = int(response.headers["location"].rsplit("/", 1)[1])
    await post_form(convenor, f"/special-requests/{request_id}/decline", {"comment": "请先提交区级部门协调"})
    page = html(await street.get("/notifications"))
    notice = next(n for n in page.select(".notification") if "请先提交区级部门协调" in n.get_text())
    assert notice.select_one(".subject").get_text(strip=True) == "专题会议提请未获同意"
    assert "审批意见：请先提交区级部门协调" in notice.select_one(".body").get_text()


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
