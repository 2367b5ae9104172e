"""Issue 3 end to end in Chromium against the real server: a street submits an item, the office
accepts it, schedules it on a new meeting and notifies, a unit answers through its personal link,
and the office sees the reply (the sign-in sheet waits for the meeting's day)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest

from tests.browser import (  # noqa: F401 - pytest finds the fixtures in this module's namespace
    LiveServer,
    RequestLog,
    assert_fits_width,
    browser_fixture,
    chromium_fixture,
    live_server_fixture,
    log_in,
    log_out,
    open_nav,
    page_fixture,
    seen_requests_fixture,
)

pytestmark = pytest.mark.browser


def unit_link_from_outbox(live_server: LiveServer, meeting_url: str, unit: str = "兰山区市场监管局") -> str:
    """The reply token in the unit's latest notice (what its e-mail holds; the tables keep a hash)."""
    import re
    import sqlite3

    meeting_id = int(meeting_url.rstrip("/").rsplit("/", 1)[-1])
    with sqlite3.connect(live_server.database_url.removeprefix("sqlite:///")) as conn:
        row = conn.execute(
            """SELECT n.body FROM notification n JOIN invitation i ON i.id = n.entity_id JOIN member_unit u ON u.id = i.unit
               WHERE n.entity = 'invitation' AND i.meeting = ? AND u.name = ? ORDER BY n.id DESC LIMIT 1""",
            (meeting_id, unit)).fetchone()
    found = re.search(r"/r/([A-Za-z0-9_\-]+)", row[0]) if row else None
    assert found, f"no reply link in the outbox for {unit}"
    return found.group(1)






def test_item_to_meeting_to_reply(page: Any, live_server: LiveServer, seen_requests: RequestLog) -> None:
    from playwright.sync_api import expect

    tab = page
    title = f"背街小巷积水点整治{secrets.token_hex(3)}"

    # The street raises an item and submits it.
    log_in(tab, "street")
    open_nav(tab, "议题", "议题列表")
    tab.get_by_role("link", name="提请议题").click()
    tab.get_by_label("议题名称").fill(title)
    tab.get_by_label("情况说明").fill("雨季多处积水，需执法、规划部门共同处置。")
    tab.get_by_label("类别").select_option("urban_management")
    tab.get_by_label("紧急程度").select_option("urgent")
    units = tab.get_by_role("group", name="提请协调的成员单位")
    units.get_by_role("searchbox").fill("市场监管局")  # the filter box narrows the checkbox list
    units.get_by_label("兰山区市场监管局", exact=True).check()
    tab.get_by_role("button", name="提交", exact=True).click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text(title)
    expect(tab.locator("main")).to_contain_text("已提交")
    item_url = tab.url
    assert_fits_width(tab)
    log_out(tab)

    # The office creates a meeting, accepts the item and puts it on that meeting.
    log_in(tab, "office")
    meeting_title = f"{dt.date.today().year}年第9次全体会议{secrets.token_hex(2)}"
    tab.goto("/meetings/new")
    tab.get_by_label("联席会议").select_option(label="兰山街道城市基层党建联席会议")
    tab.get_by_label("会议类型").select_option("plenary")
    tab.get_by_label("会议名称").fill(meeting_title)
    tab.get_by_label("会议日期").fill((dt.date.today() + dt.timedelta(days=7)).isoformat())
    tab.get_by_label("会议地点").fill("兰山街道办事处三楼会议室")
    tab.get_by_role("button", name="保存").click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text(meeting_title)
    meeting_url = tab.url
    tab.goto(item_url)
    tab.get_by_role("button", name="受理").click()
    expect(tab.locator("main")).to_contain_text("已受理")
    meetings = tab.get_by_label("列入会议")
    meetings.select_option(meetings.locator("option", has_text=meeting_title).get_attribute("value"))
    tab.get_by_role("button", name="列入议程").click()
    expect(tab.locator("main")).to_contain_text("已列入议程")

    # The meeting page shows the item on its agenda; the office sends the notice.
    tab.goto(meeting_url)
    expect(tab.locator("table.agenda")).to_contain_text(title)
    tab.locator("#notify").click()
    expect(tab.locator("#recipients")).to_be_visible()  # the preview: recipients and one unit's message
    tab.locator("#confirm-send").click()
    expect(tab.locator(".flash")).to_contain_text("已向")
    # The office page no longer shows the link (only its hash is stored): the unit has it from its e-mail.
    expect(tab.locator('table.invitations tr[data-unit="兰山区市场监管局"]')).to_be_visible()
    assert tab.get_by_role("link", name="回执链接").count() == 0
    link = f"/r/{unit_link_from_outbox(live_server, meeting_url)}"
    log_out(tab)

    # The unit answers through its personal link, without logging in.
    tab.goto(link)
    expect(tab.locator("#unit-name")).to_contain_text("兰山区市场监管局")
    tab.locator("#reply-attending").check()
    tab.get_by_label("参会人姓名").fill("刘洋")
    tab.get_by_label("参会人职务").fill("副局长")
    tab.get_by_role("button", name="提交回执").click()
    expect(tab.locator(".current-reply")).to_contain_text("参会")
    assert_fits_width(tab)

    # The office sees the reply; the sign-in sheet opens on the meeting's day (a week away here: the
    # sheet itself is walked through in tests/test_bulk_actions.py).
    log_in(tab, "office")
    tab.goto(meeting_url)
    row = tab.locator('table.invitations tr[data-unit="兰山区市场监管局"]')
    expect(row.locator("td.reply")).to_have_text("参会")
    expect(row).to_contain_text("刘洋")
    expect(tab.locator("#signin-later")).to_contain_text("起可以签到")
    expect(tab.locator("#signin-form")).to_have_count(0)
    assert seen_requests.foreign() == []
