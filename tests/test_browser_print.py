"""Printing a list page in Chromium (the print stylesheet in static/app.css): the sheet shows the
content only (no navigation, filters, buttons or pager), the table spans the printable width as a
real table (not the phone's cards, although a portrait A4 sheet is narrower than 760 px), and its
head row is repeated on every printed A4 page (measured with pdfinfo and pdftotext on the PDF
Chromium prints)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
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
MM = 72 / 25.4


def _poppler(tool: str, *args: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} (poppler-utils) is not installed")
    return subprocess.run([path, *args], check=True, capture_output=True, timeout=60).stdout.decode()


@pytest.mark.parametrize("url, head", [("/tasks?per_page=200", "承办单位"), ("/meetings?per_page=200", "会议名称")])
def test_list_pages_print_cleanly(page: Any, live_server: LiveServer, url: str, head: str) -> None:
    log_in(page, "office")
    page.goto(url)
    page.emulate_media(media="print")
    hidden = page.evaluate("""() => ['.topbar', 'form.filters', '.footer', '.toolbar', 'button']
        .flatMap(s => [...document.querySelectorAll(s)]).filter(e => getComputedStyle(e).display !== 'none').length""")
    assert hidden == 0
    table = page.evaluate("""() => { const t = document.querySelector('main table');
        return {display: getComputedStyle(t).display, head: getComputedStyle(t.tHead).display,
                width: t.getBoundingClientRect().width, main: document.querySelector('main').clientWidth}; }""")
    assert table["display"] == "table" and table["head"] == "table-header-group", table
    assert table["width"] >= table["main"] - 1, table

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.pdf"
        path.write_bytes(page.pdf(format="A4", prefer_css_page_size=True))
        info = _poppler("pdfinfo", str(path))
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
        size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
        assert size and abs(float(size.group(1)) - 210 * MM) < 1 and abs(float(size.group(2)) - 297 * MM) < 1, info
        texts = [_poppler("pdftotext", "-f", str(n), "-l", str(n), "-layout", str(path), "-") for n in range(1, pages + 1)]
    assert all(head in text for text in texts), [n for n, t in enumerate(texts, 1) if head not in t]
    assert not any("退出" in text or "筛选" in text or "下一页" in text for text in texts)
    if url.startswith("/tasks"):
        assert pages >= 2, "the demo's task list should fill more than one sheet, to see the head repeated"
