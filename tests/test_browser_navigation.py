"""The grouped navigation in Chromium (issue 11 item 2): on a wide screen each group is a drop-down
(one open at a time, Escape or a click elsewhere closes it); at 390 px one 菜单 button opens every
group's links, with the unread badge on it; no sideways scrolling either way, no inline script."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import (  # noqa: F401 - pytest finds the fixtures in this module's namespace
    LiveServer,
    assert_fits_width,
    browser_fixture,
    chromium_fixture,
    live_server_fixture,
    log_in,
    page_fixture,
    seen_requests_fixture,
)

pytestmark = pytest.mark.browser


def test_drop_downs_on_a_wide_screen_and_one_menu_on_a_phone(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    tab = page
    tab.set_viewport_size({"width": 1366, "height": 900})
    log_in(tab, "office")
    nav = tab.get_by_role("navigation", name="主导航")
    expect(nav.locator("summary.nav-menu-button")).to_be_hidden()
    units = nav.get_by_role("link", name="成员单位", exact=True)
    expect(units).to_be_hidden()
    nav.locator("details.nav-group > summary", has_text="登记").click()
    expect(units).to_be_visible()
    nav.locator("details.nav-group > summary", has_text="系统").click()  # one drop-down at a time
    expect(units).to_be_hidden()
    expect(nav.get_by_role("link", name="发件箱", exact=True)).to_be_visible()
    tab.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="发件箱", exact=True)).to_be_hidden()
    nav.locator("details.nav-group > summary", has_text="统计").click()
    tab.mouse.click(5, 600)  # a click elsewhere closes it
    expect(nav.get_by_role("link", name="督办台账", exact=True)).to_be_hidden()
    assert_fits_width(tab)

    tab.set_viewport_size({"width": 390, "height": 844})
    tab.get_by_role("button", name="退出").click()
    log_in(tab, "street")
    button = nav.locator("summary.nav-menu-button")
    expect(button).to_be_visible()
    messages = nav.get_by_role("link", name="消息")
    expect(messages).to_be_hidden()
    assert_fits_width(tab)
    unread = button.locator(".nav-badge")
    badge = unread.inner_text() if unread.count() else ""
    button.click()
    expect(messages).to_be_visible()
    expect(nav.get_by_role("link", name="督办任务", exact=True)).to_be_visible()  # every group's links at once
    expect(nav.get_by_role("link", name="议题列表", exact=True)).to_be_visible()
    assert nav.get_by_role("link", name="成员单位", exact=True).count() == 0  # not the street's
    assert_fits_width(tab)
    messages.click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("消息")
    if badge:
        expect(tab.locator(".message-tools .count")).to_contain_text("共")
        expect(tab.locator("li.message.unread").first).to_be_visible()
    assert_fits_width(tab)
