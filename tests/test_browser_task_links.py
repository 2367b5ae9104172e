"""A unit that has only the task e-mail, on a 390 px phone in Chromium against the real server: it
opens the personal link, acknowledges the task and reports progress with a photo, without a log-in;
no page of the walk scrolls sideways."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest

from tests.browser import (  # noqa: F401 - pytest finds the fixtures in this module's namespace
    LiveServer,
    assert_fits_width,
    browser_fixture,
    chromium_fixture,
    live_server_fixture,
    page_fixture,
    seen_requests_fixture,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def task_link_from_outbox(live_server: LiveServer) -> tuple[str, str]:
    """The personal link in the task e-mail of a demo task still waiting to be acknowledged (the
    tables keep only a hash): (path, unit name)."""
    with sqlite3.connect(live_server.database_url.removeprefix("sqlite:///")) as conn:
        rows = conn.execute(
            """SELECT n.body, u.name FROM notification n JOIN task t ON t.id = n.entity_id JOIN member_unit u ON u.id = t.unit
               WHERE n.entity = 'task' AND n.unit IS NOT NULL AND t.status = 'assigned' ORDER BY n.id DESC""").fetchall()
    for body, unit in rows:
        if found := re.search(r"/t/\d+/[A-Za-z0-9_\-]+", body):
            return found.group(0), unit
    raise AssertionError("no task link in the outbox")


def test_unit_acts_on_its_task_from_the_email_on_a_phone(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    tab = page
    tab.set_viewport_size(PHONE)
    link, unit = task_link_from_outbox(live_server)
    tab.goto(live_server.url + link)
    expect(tab.locator("#link-holder")).to_contain_text(unit)
    expect(tab.locator("#task-status")).to_have_text("待签收")
    assert tab.get_by_role("navigation", name="主导航").count() == 0  # no account, no menu
    assert_fits_width(tab)

    tab.get_by_role("button", name="签收", exact=True).click()
    expect(tab.get_by_role("status")).to_have_text("已签收。请按期办理并报送进展。")
    expect(tab.locator("#task-status")).to_have_text("已签收")
    assert tab.url == live_server.url + link
    assert_fits_width(tab)

    form = tab.locator("#progress-form")
    form.get_by_role("textbox", name="进展情况", exact=True).fill("已到现场核查，附照片。")
    form.get_by_label("附件", exact=True).set_input_files({"name": "现场.png", "mimeType": "image/png", "buffer": PNG})
    form.get_by_role("button", name="报送进展").click()
    expect(tab.get_by_role("status")).to_have_text("进展情况已报送。")
    expect(tab.locator("#task-status")).to_have_text("办理中")
    record = tab.locator("#task-record tr[data-kind='progress']").last
    expect(record).to_contain_text("已到现场核查，附照片。")
    expect(record).to_contain_text(f"{unit}（办理链接）")
    expect(record.get_by_role("link", name="现场.png")).to_be_visible()
    assert_fits_width(tab)
