"""End to end in a real browser against the real server: log in, create a member unit through the
form (first with mistakes), find it again; at tablet width and without leaving 127.0.0.1."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from conference.demo import DEMO_PASSWORD
from tests.browser import (  # noqa: F401 - pytest finds the fixtures in this module's namespace
    HOST,
    TABLET,
    LiveServer,
    RequestLog,
    assert_fits_width,
    browser_fixture,
    chromium_fixture,
    live_server_fixture,
    open_nav,
    page_fixture,
    seen_requests_fixture,
)

pytestmark = pytest.mark.browser


def test_office_creates_a_member_unit(page: Any, live_server: LiveServer, seen_requests: RequestLog, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    tab = page
    assert tab.viewport_size == TABLET

    # Anonymous: / sends the browser to the Chinese log-in page.
    tab.goto("/")
    expect(tab).to_have_url(re.compile(r"/login\?next=%2F$"))
    assert tab.locator("html").get_attribute("lang") == "zh-CN"
    expect(tab.get_by_role("heading", level=1)).to_have_text("登录")
    expect(tab).to_have_title(re.compile("^登录 · 联席会议议事督办系统$"))
    # The stylesheet is loaded and applied (so the width check below measures the real layout).
    assert tab.locator(".topbar").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(183, 28, 28)"
    assert_fits_width(tab)

    tab.get_by_label("用户名", exact=True).fill("office")
    tab.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    tab.get_by_role("button", name="登录").click()
    expect(tab).to_have_url(f"{live_server.url}/")
    expect(tab.get_by_role("button", name="退出")).to_be_visible()
    assert_fits_width(tab)

    # Member units through the main navigation, then the "new" button.
    open_nav(tab, "登记", "成员单位")
    expect(tab).to_have_url(f"{live_server.url}/registry/units")
    expect(tab.get_by_role("heading", level=1)).to_have_text("成员单位")
    assert_fits_width(tab)
    tab.get_by_role("link", name="新建成员单位").click()
    expect(tab).to_have_url(f"{live_server.url}/registry/units/new")
    expect(tab.get_by_role("heading", level=1)).to_have_text("新建成员单位")
    expect(tab.get_by_role("alert")).to_have_count(0)

    # First attempt: no name and a malformed e-mail address. Fields are found by their accessible
    # names, exactly: the label, without the required-field asterisk (aria-hidden).
    name = tab.get_by_role("textbox", name="单位名称", exact=True)
    email = tab.get_by_role("textbox", name="联络员邮箱", exact=True)
    liaison = tab.get_by_role("textbox", name="联络员", exact=True)
    duties = tab.get_by_role("textbox", name="职责任务", exact=True)
    kind = tab.get_by_role("combobox", name="单位类别", exact=True)
    kind.select_option(label="区直部门")
    liaison.fill("测试联络员")
    duties.fill("第一行职责\n第二行职责")
    email.fill("not-an-email")
    tab.get_by_role("button", name="保存").click()

    summary = tab.get_by_role("alert")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("提交的内容有误，请按提示修改。")
    expect(summary.get_by_role("link", name="请填写单位名称。")).to_have_attribute("href", "#f-name")
    expect(summary.get_by_role("link", name=re.compile("联络员邮箱格式不正确"))).to_have_attribute("href", "#f-liaison_email")
    expect(tab.locator("#e-name")).to_have_text("请填写单位名称。")
    expect(tab.locator("#e-liaison_email")).to_contain_text("联络员邮箱格式不正确")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_attribute("aria-describedby", "e-name")
    expect(email).to_have_attribute("aria-invalid", "true")
    # Everything typed is still there.
    expect(email).to_have_value("not-an-email")
    expect(liaison).to_have_value("测试联络员")
    expect(duties).to_have_value("第一行职责\n第二行职责")
    expect(kind.locator("option:checked")).to_have_text("区直部门")
    expect(name).to_have_value("")
    assert_fits_width(tab)

    # Second attempt, corrected: the detail page of the new unit with the flash message.
    unit_name = f"浏览器测试局{secrets.token_hex(3)}"
    name.fill(unit_name)
    email.fill("liaison-test@example.gov.cn")
    tab.get_by_role("button", name="保存").click()
    expect(tab).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/registry/units/\d+$"))
    detail_url = tab.url
    expect(tab.get_by_role("heading", level=1)).to_have_text(unit_name)
    expect(tab.get_by_role("status")).to_have_text("已保存。")
    expect(tab.locator(".facts")).to_contain_text("liaison-test@example.gov.cn")
    expect(tab.locator(".facts")).to_contain_text("测试联络员")
    assert_fits_width(tab)

    shot = tmp_path / "unit-detail.png"
    tab.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 5_000

    # The flash message is shown once only.
    tab.reload()
    expect(tab.get_by_role("status")).to_have_count(0)

    # The list's search finds the new unit.
    open_nav(tab, "登记", "成员单位")
    tab.get_by_role("searchbox", name="搜索", exact=True).fill(unit_name)
    tab.locator("#main").get_by_role("button", name="搜索").click()
    expect(tab).to_have_url(re.compile(r"/registry/units\?.*q="))
    expect(tab.locator(".search .count")).to_have_text("共 1 条")
    link = tab.locator("table.list tbody").get_by_role("link", name=unit_name)
    expect(link).to_have_count(1)
    assert_fits_width(tab)
    link.click()
    expect(tab).to_have_url(detail_url)

    assert seen_requests.urls, "no requests were recorded"
    assert not seen_requests.foreign(), f"the browser contacted hosts other than {HOST}: {seen_requests.foreign()}"
    assert any(path_of_url(u) == "/static/app.css" for u in seen_requests.urls)


def path_of_url(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)
