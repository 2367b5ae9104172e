"""The small things of issue 16 (item 9): a select left empty asks to choose (请选择…), every form
reports all its errors at once, badges stay on one line, and a download's ASCII file name means
something (minutes-<conference>-<year>-<number>.pdf) while filename* keeps the Chinese title."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest

from conference.forms import ascii_filename, download_disposition
from conference.minutes.services import loads
from conference.minutes.tables import Minutes, MinutesPublication, MinutesVersion
from conference.web.files import content_disposition
from tests.conftest import field_error, html, post_form
from tests.test_tasks import MARKET, act, held_meeting, new_task

ROOT = Path(__file__).resolve().parent.parent


def errors_of(response) -> dict[str, str]:
    """Every message the page shows beside a field (id e-<name>)."""
    return {p["id"].removeprefix("e-"): p.get_text(strip=True) for p in html(response).select("p.error[id^=e-]")}


@pytest.mark.parametrize(("username", "url", "field", "message"), [
    ("office", "/registry/units/new", "kind", "请选择单位类别。"),
    ("office", "/meetings/new", "kind", "请选择会议类型。"),
    ("admin", "/admin/users/new", "role", "请选择角色。"),
    ("street", "/items/new", "category", "请选择类别。"),
])
async def test_an_empty_select_asks_to_choose(as_user, username, url, field, message):
    response = await post_form(await as_user(username), url, {})
    assert response.status_code == 400
    assert field_error(response, field) == message
    assert not any(text.startswith("请填写") and name == field for name, text in errors_of(response).items())


async def test_an_empty_resolution_form_reports_every_error_at_once(as_user):
    office = await as_user("office")
    meeting_id, _item_id = await held_meeting()
    # What the browser sends for the untouched form: the date mode is preselected.
    response = await post_form(office, f"/meetings/{meeting_id}/resolutions",
                               {"item": "", "text": "", "lead_unit": "", "deadline_mode": "date", "deadline": ""})
    assert response.status_code == 400
    assert errors_of(response) == {
        "item": "请选择议题。", "text": "请填写议定事项内容。", "lead_unit": "请选择牵头单位。", "deadline": "请填写办结期限。",
    }
    summary = {a["href"] for a in html(response).select("#error-summary a")}
    assert {"#f-item", "#f-text", "#f-lead_unit", "#f-deadline"} <= summary
    # An item that is not on the agenda is reported together with the other fields' messages.
    response = await post_form(office, f"/meetings/{meeting_id}/resolutions", {"item": "999999", "text": "", "lead_unit": ""})
    assert errors_of(response) == {"item": "该议题不在本次会议的议程上。", "text": "请填写议定事项内容。",
                                   "lead_unit": "请选择牵头单位。", "deadline_mode": "请选择期限方式。"}


async def test_an_empty_unit_form_reports_every_error_at_once(as_user):
    response = await post_form(await as_user("office"), "/registry/units/new", {"liaison_email": "not-an-address"})
    assert response.status_code == 400
    errors = errors_of(response)
    assert errors["name"] == "请填写单位名称。" and errors["kind"] == "请选择单位类别。"
    assert errors["liaison_email"].startswith("联络员邮箱格式不正确")


async def test_an_empty_meeting_form_reports_every_error_at_once(as_user):
    # The conference is checked with the other fields, not before them.
    response = await post_form(await as_user("office"), "/meetings/new", {})
    assert response.status_code == 400
    errors = errors_of(response)
    assert errors["conference"] == "请选择联席会议。" and errors["kind"] == "请选择会议类型。"
    assert {"title", "date", "start_time", "end_time", "location"} <= set(errors)


async def test_a_task_report_reports_the_text_and_the_file_together(as_user):
    task_id = (await new_task())[MARKET]
    response = await act(await as_user("unit"), task_id, "progress", {"text": ""},
                         files=[("files", ("记录.exe", b"MZ", "application/octet-stream"))])
    assert response.status_code == 400
    summary = {a["href"]: a.get_text(strip=True) for a in html(response).select("#error-summary a")}
    assert summary == {"#f-progress-text": "请填写进展情况。", "#f-progress-files": "只能上传 PDF、Word、Excel 或 JPG/PNG 图片。"}


def test_badges_do_not_wrap() -> None:
    css = (ROOT / "static" / "app.css").read_text(encoding="utf-8")
    rule = re.search(r"(?m)^\.badge \{([^}]*)\}", css)
    assert rule and "white-space: nowrap" in rule.group(1)


def test_the_ascii_fallback_name_means_something() -> None:
    assert ascii_filename("兰山街道城市基层党建联席会议纪要（第3版）.pdf") == "download.pdf"
    assert ascii_filename("2026年第1次全体会议 notice.pdf") == "2026-1-notice.pdf"
    # Uploaded files too (agenda and task attachments).
    assert content_disposition("检查记录.pdf").startswith('attachment; filename="download.pdf"; filename*=UTF-8')
    disposition = download_disposition("会议纪要.pdf", ascii_name="minutes-3-2026-6.pdf", inline=True)
    assert disposition == ("inline; filename=\"minutes-3-2026-6.pdf\"; "
                           f"filename*=UTF-8''{urllib.parse.quote('会议纪要.pdf')}")


def _disposition_names(header: str) -> tuple[str, str]:
    ascii_name = re.search(r'filename="([^"]*)"', header)
    utf8_name = re.search(r"filename\*=UTF-8''(\S+)", header)
    assert ascii_name and utf8_name, header
    return ascii_name.group(1), urllib.parse.unquote(utf8_name.group(1))


async def test_minutes_pdf_download_names(as_user):
    minutes = await Minutes.select().where(Minutes.published_version.is_not_null()).order_by(Minutes.id).first()
    assert minutes is not None and minutes["issue_year"] and minutes["issue_number"]
    publication = await MinutesPublication.select().where(MinutesPublication.minutes == minutes["id"]).order_by(
        MinutesPublication.seq, ascending=False).first()
    version = await MinutesVersion.select().where((MinutesVersion.minutes == minutes["id"])
                                                  & (MinutesVersion.number == publication["version_number"])).first()
    title = loads(version)[0]["title"]
    assert title and not title.isascii()
    stem = f"minutes-{minutes['conference']}-{minutes['issue_year']}-{minutes['issue_number']}"
    office = await as_user("office")

    response = await office.get(f"/minutes/{minutes['id']}/published.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    ascii_name, name = _disposition_names(response.headers["content-disposition"])
    if publication["seq"] == 1:
        assert (ascii_name, name) == (f"{stem}.pdf", f"{title}.pdf")
    else:
        assert (ascii_name, name) == (f"{stem}-{publication['seq']}.pdf", f"{title}（第{publication['seq']}次印发）.pdf")
    assert "_" * 3 not in ascii_name

    number = publication["version_number"]
    response = await office.get(f"/minutes/{minutes['id']}/versions/{number}.pdf")
    assert response.status_code == 200
    assert _disposition_names(response.headers["content-disposition"]) == (f"{stem}-v{number}.pdf", f"{title}（第{number}版）.pdf")
