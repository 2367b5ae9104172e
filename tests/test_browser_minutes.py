"""Minutes end to end in Chromium against the real server: the office drafts from the records and
submits; the convenor opens the PDF (watermarked 征求意见稿) and returns it with a comment; the
office fixes and resubmits; the convenor signs; the published PDF/A downloads with the SHA-256 the
page shows. The held meeting with its resolutions is prepared through the services on the live
server's database (a subprocess), the rest through the pages."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.browser import (  # noqa: F401 - pytest finds the fixtures in this module's namespace
    ROOT,
    LiveServer,
    _server_env,
    assert_fits_width,
    browser_fixture,
    chromium_fixture,
    live_server_fixture,
    log_in,
    log_out,
    page_fixture,
    seen_requests_fixture,
)

pytestmark = pytest.mark.browser

PREPARE = """
import asyncio, json
from conference import db

async def main():
    db.configure()
    await db.start()
    try:
        from tests.test_minutes import held_meeting
        print(json.dumps(await held_meeting()))
    finally:
        await db.stop()

asyncio.run(main())
"""


def prepare(server: LiveServer) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", PREPARE], cwd=ROOT, env=_server_env(server.database_url, server.url),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data






def test_draft_review_return_fix_sign_and_download(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    tab = page
    held = prepare(live_server)
    meeting = held["meeting"]
    minutes_url = f"{live_server.url}/meetings/{meeting}/minutes"

    # The office drafts from the records, edits a section, saves a version and submits.
    log_in(tab, "office")
    tab.goto(f"/meetings/{meeting}")
    tab.locator("#minutes-link").click()
    expect(tab).to_have_url(minutes_url)
    tab.get_by_role("button", name="起草纪要").click()
    expect(tab.get_by_role("status")).to_have_text("已根据会议记录生成纪要初稿（第1版），请修改完善。")
    expect(tab.locator("#minutes-status")).to_have_text("起草中")
    expect(tab.locator("#minutes-text")).to_contain_text(f"一、{held['texts'][0]}")
    expect(tab.locator("#minutes-text")).to_contain_text(f"二、{held['texts'][1]}")
    expect(tab.get_by_label("出席", exact=True)).to_contain_text("兰山区市场监管局副局长刘洋")
    requirements = tab.get_by_label("会议要求", exact=True)
    requirements.fill("各成员单位要按期报送办理进展。")
    assert_fits_width(tab)
    tab.get_by_role("button", name="保存（生成新版本）").click()
    expect(tab.get_by_role("status")).to_have_text("已保存为第2版。")
    tab.get_by_role("button", name="送召集人审核签发").click()
    expect(tab.get_by_role("status")).to_have_text("第2版已送召集人审核签发。")
    expect(tab.locator("#minutes-status")).to_have_text("待签发")
    expect(tab.locator("#meeting-status")).to_have_text("纪要审签中")
    log_out(tab)

    # The convenor reads it as HTML and opens the PDF, then returns it with a comment on a section.
    log_in(tab, "convenor")
    tab.goto(minutes_url)
    expect(tab.locator("#minutes-text")).to_contain_text("各成员单位要按期报送办理进展。")
    href = tab.locator("#read-pdf").get_attribute("href")
    assert href and href.endswith("/versions/2.pdf")
    response = tab.request.get(href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    review = PdfReader(io.BytesIO(response.body()))
    assert "征求意见稿" in review.pages[0].extract_text()
    assert "各成员单位要按期报送办理进展。" in re.sub(r"\s+", "", "".join(p.extract_text() for p in review.pages))
    tab.get_by_label("退回意见针对", exact=True).select_option(label="会议要求")
    tab.get_by_role("textbox", name="退回意见", exact=True).fill("请写明每周报送的时间。")
    assert_fits_width(tab)
    tab.get_by_role("button", name="退回修改").click()
    expect(tab.get_by_role("status")).to_have_text("纪要已退回办公室修改。")
    expect(tab.locator("#minutes-status")).to_have_text("已退回修改")
    log_out(tab)

    # The office sees the comment, fixes the section, saves and resubmits.
    log_in(tab, "office")
    tab.goto(minutes_url)
    expect(tab.locator(".comment.kind-return")).to_contain_text("请写明每周报送的时间。")
    expect(tab.locator(".comment.kind-return")).to_contain_text("会议要求")
    tab.get_by_label("会议要求", exact=True).fill("各成员单位要在每周五17:00前报送办理进展。")
    tab.get_by_role("button", name="保存（生成新版本）").click()
    expect(tab.get_by_role("status")).to_have_text("已保存为第3版。")
    tab.get_by_role("button", name="送召集人审核签发").click()
    expect(tab.get_by_role("status")).to_have_text("第3版已送召集人审核签发。")
    log_out(tab)

    # The convenor signs; the published PDF downloads.
    log_in(tab, "convenor")
    tab.goto(minutes_url)
    tab.get_by_role("button", name="签发（第3版）").click()
    expect(tab.get_by_role("status")).to_have_text("纪要已签发印发，已通知各成员单位和有关街道。")
    expect(tab.locator("#minutes-status")).to_have_text("已签发印发")
    expect(tab.locator("#meeting-status")).to_have_text("纪要已印发")
    assert_fits_width(tab)
    sha = tab.locator("table.publications .sha").first.inner_text().strip()
    with tab.expect_download() as info:
        tab.locator("#published-pdf").click()
    download = info.value
    target = tmp_path / "published.pdf"
    download.save_as(str(target))
    content = target.read_bytes()
    assert content.startswith(b"%PDF") and hashlib.sha256(content).hexdigest() == sha
    published = PdfReader(io.BytesIO(content))
    assert b"pdfaid" in bytes(published.trailer["/Root"]["/Metadata"].get_object().get_data())
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in published.pages))
    assert "各成员单位要在每周五17:00前报送办理进展。" in text and held["texts"][0] in text and "草稿" not in text
    # A second download is the same bytes.
    again = tab.request.get(f"{live_server.url}/meetings/{meeting}/minutes/published.pdf")
    assert again.status == 200 and again.body() == content
