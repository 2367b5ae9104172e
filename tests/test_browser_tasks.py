"""Supervision end to end in Chromium against the real server: the office adopts a resolution on the
held demo meeting, the lead unit acknowledges it, reports progress with a photo and reports it done,
the office closes it and the street rates it — each account logging in and out through the UI."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

import pytest

from tests.browser import (  # noqa: F401 - pytest finds the fixtures in this module's namespace
    LiveServer,
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

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")






def open_task(tab: Any, text: str, count: int, unit: str = "兰山区市场监管局") -> None:
    """Through the main navigation to the task list, searched for the resolution's text; then the
    task of `unit` (the list shows the `count` tasks of the resolution the account may see)."""
    from playwright.sync_api import expect

    open_nav(tab, "督办", "督办任务")
    tab.get_by_label("议定事项内容", exact=True).fill(text)
    tab.get_by_role("button", name="筛选").click()
    expect(tab.locator(".filters .count")).to_have_text(f"共 {count} 条")
    tab.locator("table.tasks tbody tr").filter(has=tab.locator("td.unit", has_text=unit)).get_by_role("link").click()
    expect(tab.locator("#resolution-text")).to_contain_text(text)
    expect(tab.locator("#task-unit")).to_have_text(unit)


def test_resolution_to_rated_task(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    tab = page
    text = f"浏览器测试：市场监管局牵头清理停车场周边占道经营{secrets.token_hex(3)}"
    deadline = dt.date.today() + dt.timedelta(days=40)

    # The office records the resolution on the held 兰山街道 plenary. Fields are found by their
    # accessible names, exactly: the label without the required-field asterisk (aria-hidden).
    log_in(tab, "office")
    open_nav(tab, "会议", "会议列表")
    tab.get_by_label("状态", exact=True).select_option(label="已召开")
    tab.get_by_role("button", name="筛选").click()
    tab.get_by_role("link", name=re.compile(r"年第1次全体会议$")).click()
    expect(tab.get_by_role("heading", name="议定事项")).to_be_visible()
    before = tab.locator("#resolutions .numeral").count()
    tab.locator("details.adopt summary").click()
    form = tab.locator("#resolution-form")
    form.get_by_role("combobox", name="议题", exact=True).select_option(label="老旧小区停车位不足")
    form.get_by_role("textbox", name="议定事项内容", exact=True).fill(text)
    form.get_by_role("combobox", name="牵头单位", exact=True).select_option(label="兰山区市场监管局")
    form.get_by_role("group", name="配合单位", exact=True).get_by_label("兰山派出所", exact=True).check()
    form.get_by_role("radio", name="指定日期").check()
    form.get_by_label("办结日期（按指定日期）", exact=True).fill(deadline.isoformat())
    assert_fits_width(tab)
    form.get_by_role("button", name="记录并交办").click()
    expect(tab.get_by_role("status")).to_have_text("议定事项已记录，督办任务已交办给各承办单位。")
    entry = tab.locator("#resolutions li[data-resolution]").filter(has_text=text)
    expect(entry).to_have_count(1)
    expect(tab.locator("#resolutions .numeral")).to_have_count(before + 1)
    expect(entry.locator(".numeral")).to_have_text(re.compile("^[一二三四五六七八九十]+、$"))
    expect(entry.locator(".resolution-lead")).to_have_text("兰山区市场监管局")
    expect(entry.locator(".resolution-cooperating")).to_have_text("兰山派出所")
    expect(entry.locator(".resolution-deadline")).to_have_text(f"{deadline.year}年{deadline.month}月{deadline.day}日")
    expect(entry.locator(".resolution-tasks a")).to_have_count(2)
    log_out(tab)

    # The lead unit acknowledges, reports progress with a photo, then reports it done.
    log_in(tab, "unit")
    expect(tab.get_by_role("navigation", name="主导航").locator("a[href=\"/tasks\"]")).to_have_text("督办任务")
    open_task(tab, text, 1)  # its own task only
    expect(tab.get_by_role("heading", level=1)).to_contain_text("待签收")
    expect(tab.locator("#task-role")).to_have_text("牵头单位")
    tab.get_by_role("button", name="签收", exact=True).click()
    expect(tab.get_by_role("status")).to_have_text("已签收。请按期办理并报送进展。")
    expect(tab.locator("#task-status")).to_have_text("已签收")
    progress = tab.locator("#progress-form")
    progress.get_by_role("textbox", name="进展情况", exact=True).fill("已对停车场周边12户商户逐一约谈。")
    progress.get_by_label("附件", exact=True).set_input_files(files=[{"name": "约谈现场.png", "mimeType": "image/png", "buffer": PNG}])
    progress.get_by_role("button", name="报送进展").click()
    expect(tab.get_by_role("status")).to_have_text("进展情况已报送。")
    expect(tab.locator("#task-status")).to_have_text("办理中")
    record = tab.locator("#task-record")
    expect(record.locator("tr[data-kind=progress]")).to_contain_text("已对停车场周边12户商户逐一约谈。")
    expect(record.get_by_role("link", name="约谈现场.png", exact=True)).to_have_attribute("href", re.compile(r"^/task-attachments/\d+$"))
    preview = record.get_by_role("link", name="预览：约谈现场.png", exact=True)  # issue 16 item 3: its thumbnail
    expect(preview).to_have_attribute("href", re.compile(r"^/task-attachments/\d+/view$"))
    preview.scroll_into_view_if_needed()
    expect(preview.locator("img")).to_have_js_property("naturalWidth", 1)  # the 1x1 photo's thumbnail loaded
    assert_fits_width(tab)
    done = tab.locator("#done-form")
    done.get_by_role("textbox", name="办结情况及佐证", exact=True).fill("占道经营已全部清理，商户签订门前三包责任书。")
    done.get_by_role("button", name="报办结").click()
    expect(tab.get_by_role("status")).to_have_text("已报办结，等待联席会议办公室核实销号。")
    expect(tab.locator("#task-status")).to_have_text("已报办结")
    expect(tab.locator("#task-evidence")).to_have_text("占道经营已全部清理，商户签订门前三包责任书。")
    log_out(tab)

    # The office verifies and closes it.
    log_in(tab, "office")
    open_task(tab, text, 2)
    tab.locator("#close-form").get_by_role("textbox", name="销号意见", exact=True).fill("经现场核实，同意销号。")
    tab.get_by_role("button", name="销号", exact=True).click()
    expect(tab.get_by_role("status")).to_have_text("任务已销号，已请街道评价。")
    expect(tab.locator("#task-status")).to_have_text("已销号")
    log_out(tab)

    # The street rates it; "dissatisfied" needs a comment first.
    log_in(tab, "street")
    open_task(tab, text, 2)
    rate = tab.locator("#rate-form")
    rate.get_by_role("radio", name="不满意").check()
    rate.get_by_role("button", name="提交评价").click()
    expect(tab.locator("#e-rating_comment")).to_have_text("请填写评价意见。")
    expect(tab.locator("#rate-form").get_by_role("radio", name="不满意")).to_be_checked()
    tab.locator("#rate-form").get_by_role("radio", name="满意", exact=True).check()
    tab.locator("#rate-form").get_by_role("textbox", name="评价意见", exact=True).fill("清理及时，居民满意。")
    tab.locator("#rate-form").get_by_role("button", name="提交评价").click()
    expect(tab.get_by_role("status")).to_have_text("评价已提交，谢谢。")
    expect(tab.locator("#task-rating")).to_have_text("满意：清理及时，居民满意。")
    expect(tab.locator("#rate-form")).to_have_count(0)
    kinds = tab.locator("#task-record td.kind")
    expect(kinds).to_have_text(["交办", "签收", "进展", "报办结", "销号", "街道评价"])
    assert_fits_width(tab)
    log_out(tab)
