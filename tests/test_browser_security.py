"""Issue 10, item 7 in a real browser: pages that used inline script or style work under the strict
Content-Security-Policy (the `page` fixture fails on any CSP violation in the console), the
confirmations moved to static/app.js still ask, and the OpenAPI page still starts Swagger UI."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import (  # noqa: F401 - pytest finds the fixtures in this module's namespace
    LiveServer,
    RequestLog,
    browser_fixture,
    chromium_fixture,
    live_server_fixture,
    log_in,
    page_fixture,
    seen_requests_fixture,
)

pytestmark = pytest.mark.browser


def test_pages_run_under_the_policy(page: Any, live_server: LiveServer, seen_requests: RequestLog) -> None:
    from playwright.sync_api import expect

    log_in(page, "office")
    for url in ("/meetings", "/tasks", "/notifications", "/supervision", "/supervision/ledgers", "/outbox", "/audit"):
        response = page.goto(url)
        assert response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # The ledger's width, computed by the server, is set by static/app.js from data-min-width.
    page.goto("/supervision/ledgers")
    table = page.locator("table[data-min-width]").first
    if table.count():
        expected = table.get_attribute("data-min-width")
        assert table.evaluate("t => t.style.minWidth") == f"{expected}px"

    # A confirmation (formerly an onsubmit attribute) asks, and dismissing it keeps the page.
    page.goto("/meetings")
    page.locator("table a[href^='/meetings/']").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    buttons = page.locator("form[data-confirm] button[type=submit]:visible")
    assert buttons.count(), "no visible confirmation on the first meeting page"
    if buttons.count():
        asked: list[str] = []

        def dismiss(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        before = page.url
        question = buttons.first.evaluate("b => b.form.dataset.confirm")
        buttons.first.click()
        page.wait_for_timeout(300)
        assert asked and asked[0] == question
        assert page.url == before


def test_the_openapi_page_starts_swagger_ui(page: Any, live_server: LiveServer, seen_requests: RequestLog) -> None:
    from playwright.sync_api import expect

    page.goto("/schema")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(re.compile("联席会议议事督办系统 API"))


def test_the_error_page_back_link_works_without_inline_script(page: Any, live_server: LiveServer,
                                                               seen_requests: RequestLog) -> None:
    log_in(page, "office")
    page.goto("/meetings")
    page.goto("/no-such-page")
    page.locator("a[data-back]").click()
    page.wait_for_url(re.compile(r"/meetings$"))
