"""文号 and the papers of a meeting (issue 13 items 4 and 7).

文号: the format 兰联办〔2026〕6号 (hexagonal brackets U+3014/U+3015), numbers from a counter per
(conference, year, kind) that restart each year, distinct under concurrent allocation, one counter
row per key (unique index), given once at the first 签发 and kept by a correction, none without a
代字; shown on the published PDF (measured with pdftotext), the distribution e-mail, the minutes page
and the meeting page; the 代字 set on the registry form (Chinese message beside the field, input
kept) and the API.

Papers: 签到表, 议程 and 参会回执汇总表 as A4 PDFs (pdfinfo), each invited unit on exactly one row
(pdftotext), the agenda in order; the office and the conference's convenor download them, every
other role and office gets 404."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conference.documents import numbers
from conference.documents.tables import DocumentCounter
from conference.meetings.tables import Invitation, Meeting
from conference.minutes import services as minutes_services
from conference.notifications.tables import Notification
from conference.registry.tables import Conference
from conference.timefmt import today
from tests import test_api
from tests.conftest import field_error, field_value, html, post_form
from tests.factories import LANSHAN_STREET, LUOZHUANG_STREET, conference_id
from tests.test_minutes import approve, held_meeting, published_minutes, started, submit

api = test_api.api  # the API tests' fixture: clients with a fresh Bearer token
pytestmark = pytest.mark.usefixtures("database_url")

MM = 72 / 25.4
A4_PT = (210 * MM, 297 * MM)
PAPERS = ("signin", "agenda", "replies")


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} (poppler-utils) is not installed")
    return path


def pdf_text(content: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(content)
        return subprocess.run([need("pdftotext"), "-layout", str(path), "-"], check=True, capture_output=True,
                              timeout=60).stdout.decode()


def page_sizes(content: bytes) -> list[tuple[float, float]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(content)
        out = subprocess.run([need("pdfinfo"), "-f", "1", "-l", "999", str(path)], check=True, capture_output=True,
                             timeout=60).stdout.decode()
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)]


# ---------------------------------------------------------------- 文号


def test_format_uses_hexagonal_brackets() -> None:
    number = numbers.format_number("兰联办", 2026, 6)
    assert number == "兰联办\u30142026\u30156号" == "兰联办〔2026〕6号"


async def test_numbers_count_per_year_and_kind_and_restart_each_year() -> None:
    conference = await conference_id(LUOZHUANG_STREET)
    assert [await numbers.allocate(conference, 2101) for _ in range(3)] == [1, 2, 3]
    assert await numbers.allocate(conference, 2102) == 1  # a new year starts again at 1
    assert await numbers.allocate(conference, 2101, "letter") == 1  # another series
    assert await numbers.allocate(conference, 2101) == 4
    other = await conference_id(LANSHAN_STREET)
    assert await numbers.allocate(other, 2101) == 1  # each conference its own
    assert await numbers.assign(other, 2101) == "兰联办〔2101〕2号"


async def test_concurrent_allocations_get_distinct_numbers() -> None:
    conference = await conference_id(LUOZHUANG_STREET)
    got = await asyncio.gather(*(numbers.allocate(conference, 2103) for _ in range(8)))
    assert sorted(got) == list(range(1, 9))


async def test_one_counter_row_per_conference_year_and_kind() -> None:
    conference = await conference_id(LUOZHUANG_STREET)
    await numbers.allocate(conference, 2104)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await DocumentCounter.insert(DocumentCounter(conference=conference, year=2104, kind=numbers.DOCUMENT, last_number=0))
    assert await DocumentCounter.count().where((DocumentCounter.conference == conference) & (DocumentCounter.year == 2104)) == 1


async def test_publication_numbers_the_minutes_once_and_shows_it_everywhere(as_user: Any) -> None:
    held, minutes_id = await published_minutes(as_user)
    office = await as_user("office")
    row = await minutes_services.minutes_row(minutes_id)
    year = today().year
    match = re.fullmatch(rf"兰联办〔{year}〕(\d+)号", row["doc_number"])
    assert match, row["doc_number"]
    # The PDF prints it in the head, under the 期号.
    published = (await office.get(f"/minutes/{minutes_id}/published.pdf")).content
    text = pdf_text(published)
    assert row["doc_number"] in text
    assert text.index(row["doc_number"]) < text.index("经研究") if "经研究" in text else True
    # The distribution e-mail, the minutes page, the meeting page.
    bodies = [n["body"] for n in await Notification.select(Notification.body).where(
        (Notification.entity == "minutes") & (Notification.entity_id == minutes_id) & (Notification.event == "minutes_published"))]
    assert bodies and all(f"文号：{row['doc_number']}" in b for b in bodies)
    page = html(await office.get(f"/meetings/{held['meeting']}/minutes"))
    assert page.find(id="doc-number").get_text(strip=True) == row["doc_number"]
    meeting_page = html(await office.get(f"/meetings/{held['meeting']}"))
    assert meeting_page.find(id="minutes-doc-number").get_text(strip=True) == row["doc_number"]

    # A correction keeps the 文号 and takes no new number.
    counter = await DocumentCounter.select().where(
        (DocumentCounter.conference == row["conference"]) & (DocumentCounter.year == year)).first()
    convenor = await as_user("convenor")
    assert (await post_form(office, f"/minutes/{minutes_id}/corrections", {"reason": "更正出席名单"})).status_code == 303
    assert (await submit(office, minutes_id)).status_code == 303
    assert (await approve(convenor, minutes_id)).status_code == 303
    assert (await minutes_services.minutes_row(minutes_id))["doc_number"] == row["doc_number"]
    assert row["doc_number"] in pdf_text((await office.get(f"/minutes/{minutes_id}/publications/2.pdf")).content)
    after = await DocumentCounter.select().where(DocumentCounter.id == counter["id"]).first()
    assert after["last_number"] == counter["last_number"]


async def test_two_publications_get_consecutive_distinct_numbers(as_user: Any) -> None:
    office, convenor = await as_user("office"), await as_user("convenor")
    ids = []
    for _ in range(2):
        held = await held_meeting()
        minutes_id = await started(office, held["meeting"])
        assert (await submit(office, minutes_id)).status_code == 303
        ids.append(minutes_id)
    responses = await asyncio.gather(*(approve(convenor, m) for m in ids))
    assert [r.status_code for r in responses] == [303, 303]
    got = [(await minutes_services.minutes_row(m))["doc_number"] for m in ids]
    seqs = sorted(int(re.search(r"〕(\d+)号", n).group(1)) for n in got)  # type: ignore[union-attr]
    assert len(set(got)) == 2 and seqs[1] == seqs[0] + 1, got


async def test_no_prefix_no_number(as_user: Any) -> None:
    conference = await conference_id(LANSHAN_STREET)
    before = await Conference.select(Conference.doc_prefix).where(Conference.id == conference).first()
    await Conference.update({Conference.doc_prefix: ""}).where(Conference.id == conference)
    try:
        last = await DocumentCounter.select(DocumentCounter.last_number).where(
            (DocumentCounter.conference == conference) & (DocumentCounter.year == today().year)).first()
        _held, minutes_id = await published_minutes(as_user)
        row = await minutes_services.minutes_row(minutes_id)
        assert row["doc_number"] == "" and row["status"] == "published"
        assert await DocumentCounter.select(DocumentCounter.last_number).where(
            (DocumentCounter.conference == conference) & (DocumentCounter.year == today().year)).first() == last
        page = html(await (await as_user("office")).get(f"/meetings/{row['meeting']}/minutes"))
        assert page.find(id="doc-number") is None
        assert await numbers.assign(conference, 2105) == ""
        assert not await DocumentCounter.exists().where((DocumentCounter.conference == conference) & (DocumentCounter.year == 2105))
    finally:
        await Conference.update({Conference.doc_prefix: before["doc_prefix"]}).where(Conference.id == conference)


async def test_prefix_on_the_registry_form_and_api(as_user: Any, api: Any) -> None:
    admin = await as_user("admin")
    conference = await conference_id(LUOZHUANG_STREET)
    form_url = f"/registry/conferences/{conference}/edit"
    page = await admin.get(form_url)
    assert page.status_code == 200
    assert field_value(page, "doc_prefix") == "罗联办"
    data = {field["name"]: field.get("value", "") for field in html(page).select("form input[name]")}
    for select in html(page).select("form select[name]"):
        chosen = select.find("option", selected=True)
        data[select["name"]] = chosen["value"] if chosen else ""
    data.pop("_csrf_token", None)
    bad = await post_form(admin, form_url, {**data, "doc_prefix": "罗联办〔2026〕"})
    assert bad.status_code == 400
    assert "括号" in (field_error(bad, "doc_prefix") or "")
    assert field_value(bad, "doc_prefix") == "罗联办〔2026〕"
    assert (await post_form(admin, form_url, {**data, "doc_prefix": "罗联办函"})).status_code == 303
    client = await api("admin")
    body = (await client.get(f"/api/conferences/{conference}")).json()
    assert body["doc_prefix"] == "罗联办函"
    response = await client.patch(f"/api/conferences/{conference}", json={"version": body["version"], "doc_prefix": "罗联办"})
    assert response.status_code == 200 and response.json()["doc_prefix"] == "罗联办"
    assert (await client.patch(f"/api/conferences/{conference}", json={
        "version": response.json()["version"], "doc_prefix": "罗 联办"})).status_code == 400


# ---------------------------------------------------------------- papers


async def _invited_units(meeting_id: int) -> list[str]:
    rows = await Invitation.select(Invitation.unit.name.as_alias("name")).where(Invitation.meeting == meeting_id)
    return [r["name"] for r in rows]


async def test_each_paper_is_a4_with_one_row_per_invited_unit(as_user: Any) -> None:
    office = await as_user("office")
    held = await held_meeting()
    meeting_id = held["meeting"]
    units = await _invited_units(meeting_id)
    assert len(units) >= 5
    meeting = await Meeting.select(Meeting.title, Meeting.location).where(Meeting.id == meeting_id).first()
    for name in PAPERS:
        response = await office.get(f"/meetings/{meeting_id}/papers/{name}.pdf")
        assert response.status_code == 200, (name, response.text[:300])
        assert response.headers["content-type"] == "application/pdf"
        assert "filename*=UTF-8''" in response.headers["content-disposition"]
        sizes = page_sizes(response.content)
        assert sizes and all(abs(w - A4_PT[0]) < 1 and abs(h - A4_PT[1]) < 1 for w, h in sizes), (name, sizes)
        text = pdf_text(response.content)
        compact = re.sub(r"\s+", "", text)
        assert re.sub(r"\s+", "", meeting["title"]) in compact and meeting["location"] in compact, name
        lines = text.splitlines()
        if name in ("signin", "replies"):
            for unit in units:
                rows = [line for line in lines if unit in line]
                assert len(rows) == 1, (name, unit, rows)
    # 签到表: the attendee named in the reply, a signature column.
    signin = pdf_text((await office.get(f"/meetings/{meeting_id}/papers/signin.pdf")).content)
    assert "签名" in signin and "副局长刘洋" in re.sub(r"\s+", "", signin)
    # 回执汇总表: the reply of each unit and the tally.
    replies = re.sub(r"\s+", "", pdf_text((await office.get(f"/meetings/{meeting_id}/papers/replies.pdf")).content))
    assert f"应回执{len(units)}个单位" in replies and "参会" in replies and "未回复" in replies
    # 议程: the street's item, numbered in Chinese.
    item = held.get("item")
    agenda = re.sub(r"\s+", "", pdf_text((await office.get(f"/meetings/{meeting_id}/papers/agenda.pdf")).content))
    assert item and "一、" in agenda and "纪要测试议题" in agenda and "主持" in agenda


async def test_replies_after_the_deadline_are_flagged(as_user: Any) -> None:
    office = await as_user("office")
    held = await held_meeting()
    meeting_id = held["meeting"]
    starts = (await Meeting.select(Meeting.starts_at).where(Meeting.id == meeting_id).first())["starts_at"]
    await Meeting.update({Meeting.reply_deadline: starts - dt.timedelta(days=1)}).where(Meeting.id == meeting_id)
    text = pdf_text((await office.get(f"/meetings/{meeting_id}/papers/replies.pdf")).content)
    rows = {unit: next(line for line in text.splitlines() if unit in line) for unit in await _invited_units(meeting_id)}
    assert "参会" in rows["兰山区市场监管局"] and "逾期" in rows["兰山区市场监管局"]  # replied after the deadline
    assert all("未回复" in line and "逾期" in line for unit, line in rows.items() if unit != "兰山区市场监管局")
    assert "回执截止" in text and f"逾期 {len(rows)} 个" in text


async def test_papers_for_the_office_and_its_convenor_only(as_user: Any) -> None:
    held = await held_meeting()
    meeting_id = held["meeting"]
    for username, status in (("office", 200), ("convenor", 200), ("admin", 200), ("unit", 404), ("street", 404),
                             ("office_luozhuang", 404), ("street_luozhuang", 404), ("unit_police", 404)):
        client = await as_user(username)
        response = await client.get(f"/meetings/{meeting_id}/papers/signin.pdf")
        assert response.status_code == status, (username, response.status_code)
        page = await client.get(f"/meetings/{meeting_id}")
        if page.status_code == 200:  # the invited unit sees the meeting, without the papers
            assert (html(page).find(id="meeting-papers") is not None) == (status == 200), username
    office = await as_user("office")
    assert (await office.get(f"/meetings/{meeting_id}/papers/other.pdf")).status_code == 404
    assert (await office.get(f"/meetings/{meeting_id}/papers/signin")).status_code == 404
    assert (await office.get("/meetings/999999/papers/signin.pdf")).status_code == 404
    # The convenor of 兰山街道 does not see 罗庄街道's meeting.
    other = await held_meeting("office_luozhuang", LUOZHUANG_STREET, "street_luozhuang")
    convenor = await as_user("convenor")
    assert (await convenor.get(f"/meetings/{other['meeting']}/papers/agenda.pdf")).status_code == 404
    page = html(await office.get(f"/meetings/{meeting_id}"))
    links = page.find(id="meeting-papers")
    assert links is not None and {a["href"] for a in links.find_all("a")} == {
        f"/meetings/{meeting_id}/papers/{n}.pdf" for n in PAPERS}
