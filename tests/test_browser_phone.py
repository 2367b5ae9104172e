"""Phone first (issue 11, deliverable 5) in Chromium against the real server: the office's walk from
its workbench through triage to a meeting notice at 1366 px and on a 390 px phone, the street's item
form with its checkbox picker and attachment (a file over the limit named beside the field before
anything is sent), every list page as the role that uses it at 390 px, and the HTML e-mail on a
phone. No page of any walk scrolls sideways.

The unit that opens its task e-mail link on a phone and acknowledges is
tests/test_browser_task_links.py."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.browser import (  # noqa: F401 - pytest finds the fixtures in this module's namespace
    LiveServer,
    browser_fixture,
    chromium_fixture,
    live_server_fixture,
    log_in,
    log_out,
    page_fixture,
    seen_requests_fixture,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def assert_no_sideways_scroll(tab: Any) -> None:
    """The issue's measure: the document is no wider than the window."""
    scroll_width, inner_width = tab.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, f"{tab.url} scrolls sideways at {inner_width}px: content is {scroll_width}px wide"


def assert_on_screen_width(cell: Any) -> None:
    """The cell lies within the window's width (not off to the right of a wide table)."""
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    width = cell.page.evaluate("() => window.innerWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (cell, box, width)


def submit_item_with_attachment(tab: Any, title: str, folder: Path) -> None:
    """The street's form in one step: requested units ticked in the filtered checkbox list, a file
    over the limit refused beside the field by the page itself, then a PDF sent with the item."""
    from playwright.sync_api import expect

    tab.goto("/items/new")
    assert_no_sideways_scroll(tab)
    tab.get_by_label("议题名称").fill(title)
    tab.get_by_label("情况说明").fill("雨季多处积水，需执法、规划部门共同处置。")
    tab.get_by_label("类别").select_option("urban_management")
    units = tab.get_by_role("group", name="提请协调的成员单位")
    units.get_by_role("searchbox").fill("派出所")
    expect(units.get_by_label("兰山区市场监管局", exact=True)).to_be_hidden()
    units.get_by_label("兰山派出所", exact=True).check()
    units.get_by_role("searchbox").fill("")
    expect(units.get_by_label("兰山区市场监管局", exact=True)).to_be_visible()
    units.get_by_label("兰山区市场监管局", exact=True).check()

    files = tab.get_by_label("附件", exact=True)
    big = folder / "大文件.pdf"  # from disk: an 11 MB buffer through the driver is slow on a busy machine
    big.write_bytes(b"%PDF-" + b"0" * (11 * 1024 * 1024))
    files.set_input_files(big, timeout=60_000)
    expect(tab.locator("#e-file")).to_have_text("文件过大（上限 10 MB）")
    tab.get_by_role("button", name="提交", exact=True).click()
    expect(tab.locator("#e-file")).to_be_visible()
    assert tab.url.endswith("/items/new")  # not sent
    assert_no_sideways_scroll(tab)

    files.set_input_files({"name": "现场情况.pdf", "mimeType": "application/pdf", "buffer": PDF})
    expect(tab.locator("#e-file")).to_be_hidden()
    tab.get_by_role("button", name="提交", exact=True).click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text(title)
    expect(tab.locator("#attachments")).to_contain_text("现场情况.pdf")
    assert_no_sideways_scroll(tab)


def new_meeting(tab: Any, title: str) -> None:
    from playwright.sync_api import expect

    tab.goto("/meetings/new")
    tab.get_by_label("联席会议").select_option(label="兰山街道城市基层党建联席会议")
    tab.get_by_label("会议类型").select_option("plenary")
    tab.get_by_label("会议名称").fill(title)
    tab.get_by_label("会议日期").fill((dt.date.today() + dt.timedelta(days=9)).isoformat())
    tab.get_by_label("会议地点").fill("兰山街道办事处三楼会议室")
    tab.get_by_role("button", name="保存").click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text(title)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366px", "390px"])
def test_office_workbench_triage_and_notify(page: Any, live_server: LiveServer, viewport: dict[str, int],
                                            tmp_path: Path) -> None:
    from playwright.sync_api import expect

    tab = page
    tab.set_viewport_size(viewport)
    tag = secrets.token_hex(3)
    title = f"背街小巷积水点整治{tag}"
    meeting_title = f"{dt.date.today().year}年第8次全体会议{tag}"

    log_in(tab, "street")
    submit_item_with_attachment(tab, title, tmp_path)
    log_out(tab)

    log_in(tab, "office")
    new_meeting(tab, meeting_title)  # a meeting of its own to notify (the demo's are shared by the tests)

    # Home is the workbench: its count of items waiting opens the list filtered to them.
    tab.goto("/")
    expect(tab.get_by_role("heading", level=1)).to_have_text("工作台")
    assert_no_sideways_scroll(tab)
    tab.locator('[data-card="items_submitted"] a').click()
    expect(tab.locator("#f-status")).to_have_value("submitted")
    assert_no_sideways_scroll(tab)
    row = tab.locator("table.items tbody tr").filter(has_text=title)
    expect(row.locator('td[data-label="状态"]')).to_have_text("已提交")
    assert_on_screen_width(row.locator('td[data-label="状态"]'))  # the status is on screen, not off to the right
    row.get_by_role("link", name=title).click()

    # Triage: the attachment came with the item; accept it and put it on the meeting.
    expect(tab.locator("#attachments")).to_contain_text("现场情况.pdf")
    assert_no_sideways_scroll(tab)
    tab.get_by_role("button", name="受理").click()
    expect(tab.locator("main")).to_contain_text("已受理")
    assert_no_sideways_scroll(tab)
    meetings = tab.get_by_label("列入会议")
    meetings.select_option(meetings.locator("option", has_text=meeting_title).get_attribute("value"))
    tab.get_by_role("button", name="列入议程").click()
    expect(tab.locator("main")).to_contain_text("已列入议程")
    assert_no_sideways_scroll(tab)

    # Back home: the meetings to notify, our meeting among them; preview, then confirm.
    tab.goto("/")
    tab.locator('[data-card="meetings_notify"] a').click()
    assert_no_sideways_scroll(tab)
    listed = tab.locator("table.meetings tbody tr").filter(has_text=meeting_title)
    assert_on_screen_width(listed.locator('td[data-label="状态"]'))
    listed.get_by_role("link", name=meeting_title).click()
    expect(tab.locator("table.agenda")).to_contain_text(title)
    assert_no_sideways_scroll(tab)
    tab.locator("#notify").click()
    if tab.locator("#confirm-send").count():  # the preview of what each unit receives
        expect(tab.locator("#recipients")).to_contain_text("兰山区市场监管局")
        assert_no_sideways_scroll(tab)
        tab.locator("#confirm-send").click()
    expect(tab.locator(".flash")).to_contain_text("已向")
    assert_no_sideways_scroll(tab)


# Every list page as the role that works with it.
LIST_PAGES = [
    ("office", "/items"), ("street", "/items"), ("convenor", "/items"),
    ("office", "/tasks"), ("unit", "/tasks"), ("street", "/tasks"), ("convenor", "/tasks"),
    ("office", "/meetings"), ("unit", "/meetings"), ("office", "/meetings/plenaries"),
    ("office", "/special-requests"), ("street", "/special-requests"), ("convenor", "/special-requests"),
    ("office", "/registry/units"), ("office", "/registry/streets"), ("office", "/registry/convenors"),
    ("office", "/registry/conferences"),
    ("office", "/outbox"), ("office", "/mail/dead-letters"), ("office", "/mail/replies"),
    ("office", "/audit"), ("office", "/supervision"), ("office", "/supervision/ledger"),
    ("office", "/supervision/assessment"), ("street", "/notifications"), ("unit", "/notifications"),
    ("unit", "/my/invitations"), ("office", "/holidays"), ("office", "/integrations"),
    ("office", "/integrations/deliveries"), ("office", "/accounts/units"), ("admin", "/admin/users"),
]


@pytest.mark.parametrize(("role", "path"), LIST_PAGES, ids=[f"{r}:{p}" for r, p in LIST_PAGES])
def test_list_page_fits_a_phone(page: Any, role: str, path: str) -> None:
    from playwright.sync_api import expect

    tab = page
    tab.set_viewport_size(PHONE)
    log_in(tab, role)
    response = tab.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    expect(tab.get_by_role("heading", level=1)).to_be_visible()
    assert_no_sideways_scroll(tab)
    # Each row of a list table is a card: the first cell (title) and the status are on screen.
    for table in tab.locator("table.list.cards").all():
        first_row = table.locator("tbody tr").first
        if first_row.count() and not first_row.locator("td[colspan]").count():
            assert_on_screen_width(first_row.locator("td").first)


def test_html_email_reads_on_a_phone(page: Any) -> None:
    """The HTML part of a notice with a long personal link, shown at 390 px as a phone's mail app
    would: the viewport meta is honoured and the link wraps."""
    from conference.mail.compose import compose

    message = compose({
        "id": 1, "created_at": dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC), "email": "unit@example.org",
        "subject": "督办任务：背街小巷积水点整治（兰山区市场监管局）",
        "body": "请签收并按期办理：\nhttp://127.0.0.1:8000/t/12/" + "A" * 64 + "\n办结期限：2026年12月31日",
    })
    html_part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    tab = page
    tab.set_viewport_size(PHONE)
    tab.set_content(html_part.get_content())
    assert tab.locator('meta[name="viewport"]').get_attribute("content") == "width=device-width, initial-scale=1"
    assert_no_sideways_scroll(tab)
