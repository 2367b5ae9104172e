"""Ledgers (台账): the .xlsx and the CSV hold exactly the rows the screen shows for the same filters;
Excel gets a bold frozen header, column widths and real date cells; the CSV a UTF-8 BOM."""

from __future__ import annotations

import csv
import datetime as dt
import io
import urllib.parse
from typing import Any

import openpyxl
import pytest

from conference.supervision.ledgers import DATE_FORMAT, LEDGERS
from conference.timefmt import cn_date
from tests.conftest import html
from tests.test_supervision import Dataset, build_dataset, make_task, sh


@pytest.fixture(scope="module")
async def data(database_url: str) -> Dataset:
    ds = await build_dataset()
    # Enough tasks for two pages of the screen (50 per page).
    for i in range(56):
        await make_task(ds, f"P{i}", ds.agency, "R3", assigned=sh(2025, 1 + i % 12, 1 + i % 28, 8), ack_due=dt.date(2025, 12, 31),
                        deadline=dt.date(2026, 6, 30), status="acknowledged", acknowledged=sh(2025, 12, 1), street=False)
    return ds


def screen_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    table = html(response).find("table", class_="ledger")
    return [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in table.select("tbody tr") if not tr.find(class_="muted")]


def screen_header(response: Any) -> list[str]:
    return [th.get_text(strip=True) for th in html(response).select("table.ledger thead th")]


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return cn_date(value.date())
    if isinstance(value, dt.date):
        return cn_date(value)
    return str(value)


def xlsx_sheet(response: Any) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return openpyxl.load_workbook(io.BytesIO(response.content)).active


def csv_rows(response: Any, kind: str) -> tuple[list[str], list[list[str]]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    kinds = [c.kind for c in LEDGERS[kind].columns]
    body = [[cn_date(dt.date.fromisoformat(v)) if k == "date" and v else v for v, k in zip(row, kinds, strict=True)]
            for row in rows[1:]]
    return rows[0], body


async def fetch_all(client: Any, query: dict[str, Any]) -> tuple[Any, list[list[str]], Any, Any]:
    qs = urllib.parse.urlencode(query)
    page = await client.get(f"/supervision/ledger?{qs}")
    xlsx = await client.get(f"/supervision/ledger.xlsx?{qs}")
    csv_response = await client.get(f"/supervision/ledger.csv?{qs}")
    return page, screen_rows(page), xlsx, csv_response


async def assert_same_rows(client: Any, query: dict[str, Any]) -> list[list[str]]:
    page, shown, xlsx, csv_response = await fetch_all(client, query)
    ws = xlsx_sheet(xlsx)
    sheet = list(ws.iter_rows(values_only=True))
    assert list(sheet[0]) == screen_header(page)
    assert [[as_text(v) for v in row] for row in sheet[1:]] == shown
    header, body = csv_rows(csv_response, query.get("kind", "tasks"))
    assert header == screen_header(page)
    assert body == shown
    return shown


async def test_task_ledger_filters_and_files_agree(as_user, data):
    office = await as_user("office")
    query = {"kind": "tasks", "conference": data.conference, "unit": data.dept, "status": "closed",
             "start": "2023-01-01", "end": "2024-12-31"}
    shown = await assert_same_rows(office, query)
    assert [int(r[0]) for r in shown] == [data.tasks[t] for t in ("T2", "T1", "T7", "T8")]  # newest assignment first
    t1 = shown[1]
    assert t1[7] == "2024年3月4日" and t1[9] == "2024年3月6日" and t1[11] == "已销号" and t1[12] == "2024年4月30日"
    assert t1[13] == "满意"
    # The date range is on local days: T2 and T1 were assigned on 4 March.
    only_march = await assert_same_rows(office, {**query, "start": "2024-03-04", "end": "2024-03-04"})
    assert sorted(int(r[0]) for r in only_march) == sorted([data.tasks["T1"], data.tasks["T2"]])
    by_street = await assert_same_rows(office, {"kind": "tasks", "conference": data.conference, "street": data.street,
                                                "status": "assigned"})
    assert [int(r[0]) for r in by_street] == [data.tasks["T6"]]  # T10 has no street


async def test_xlsx_format(as_user, data):
    office = await as_user("office")
    response = await office.get(f"/supervision/ledger.xlsx?kind=tasks&conference={data.conference}&unit={data.dept}")
    ws = xlsx_sheet(response)
    assert ws.freeze_panes == "A2"
    assert all(cell.font.b for cell in ws[1])
    assert ws["A1"].value == "编号" and ws["H1"].value == "交办日期"
    assert ws.column_dimensions["C"].width == 48
    assigned = [c for c in ws["H"][1:] if c.value is not None]
    assert assigned and all(isinstance(c.value, dt.datetime) and c.is_date for c in assigned)
    assert all(c.number_format == DATE_FORMAT for c in assigned)
    assert all(isinstance(c.value, int) for c in ws["A"][1:])
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition


async def test_item_and_resolution_ledgers(as_user, data):
    office = await as_user("office")
    items = await assert_same_rows(office, {"kind": "items", "conference": data.conference})
    assert sorted(int(r[0]) for r in items) == sorted(data.items.values())
    first = next(r for r in items if int(r[0]) == data.items["I1"])
    assert first[6] == "、".join(sorted([data.dept_name, data.agency_name]))
    assert first[8] == "2023年9月1日"
    street_items = await assert_same_rows(office, {"kind": "items", "conference": data.conference, "street": data.street})
    assert sorted(int(r[0]) for r in street_items) == sorted([data.items["I1"], data.items["I2"]])
    agency_items = await assert_same_rows(office, {"kind": "items", "conference": data.conference, "unit": data.agency})
    assert [int(r[0]) for r in agency_items] == [data.items["I1"]]

    done = await assert_same_rows(office, {"kind": "resolutions", "conference": data.conference, "status": "done"})
    assert [int(r[0]) for r in done] == [data.resolutions["R2"]]
    assert done[0][10:] == ["2/2", "已办结"] and done[0][2] == "2023年9月20日"
    still_open = await assert_same_rows(office, {"kind": "resolutions", "conference": data.conference, "status": "open"})
    assert [int(r[0]) for r in still_open] == [data.resolutions["R3"], data.resolutions["R1"]]
    r1 = still_open[1]
    assert r1[6] == data.dept_name and r1[7] == data.agency_name and r1[4] == data.street_name
    coop = await assert_same_rows(office, {"kind": "resolutions", "conference": data.conference, "unit": data.agency})
    assert sorted(int(r[0]) for r in coop) == sorted([data.resolutions["R1"], data.resolutions["R3"]])


async def test_export_holds_every_page(as_user, data):
    office = await as_user("office")
    query = {"kind": "tasks", "conference": data.conference, "unit": data.agency}
    qs = urllib.parse.urlencode(query)
    first = await office.get(f"/supervision/ledger?{qs}")
    assert html(first).find(id="ledger-total").get_text(strip=True) == "共 59 条"
    second = await office.get(f"/supervision/ledger?{qs}&page=2")
    shown = screen_rows(first) + screen_rows(second)
    assert len(shown) == 59
    sheet = list(xlsx_sheet(await office.get(f"/supervision/ledger.xlsx?{qs}")).iter_rows(values_only=True))
    assert [[as_text(v) for v in row] for row in sheet[1:]] == shown
    assert csv_rows(await office.get(f"/supervision/ledger.csv?{qs}"), "tasks")[1] == shown
    # The page's export links carry its filters.
    links = {a.get_text(strip=True): a["href"] for a in html(first).select(".actions a.button")}
    assert urllib.parse.parse_qs(urllib.parse.urlparse(links["导出 Excel"]).query) == {k: [str(v)] for k, v in query.items()}


async def test_export_limit(as_user, data, monkeypatch):
    from conference.supervision import ledgers

    monkeypatch.setattr(ledgers, "EXPORT_LIMIT", 3)
    office = await as_user("office")
    response = await office.get(f"/supervision/ledger.csv?kind=tasks&conference={data.conference}")
    assert response.status_code == 409 and "缩小筛选范围" in response.text


async def test_ledger_scope(as_user, data):
    luozhuang = await as_user("office_luozhuang")
    for path in ("/supervision/ledger", "/supervision/ledger.xlsx", "/supervision/ledger.csv"):
        assert (await luozhuang.get(f"{path}?kind=tasks&conference={data.conference}")).status_code == 404
    _header, rows = csv_rows(await luozhuang.get("/supervision/ledger.csv?kind=tasks"), "tasks")
    assert not {int(r[0]) for r in rows} & set(data.tasks.values())
    items = html(await luozhuang.get("/supervision/ledger?kind=items")).get_text()
    assert data.conference_name not in items


async def test_bad_filters(as_user, data):
    office = await as_user("office")
    response = await office.get("/supervision/ledger?kind=tasks&status=bogus&start=yesterday&unit=x")
    assert response.status_code == 200
    errors = html(response).find(id="error-summary").get_text()
    assert "状态" in errors and "成员单位" in errors
    unknown_kind = await office.get("/supervision/ledger?kind=bogus")
    assert unknown_kind.status_code == 200 and html(unknown_kind).find("table", class_="ledger")["data-kind"] == "tasks"


def test_user_text_never_becomes_a_formula():
    from conference.supervision.ledgers import Column, csv_bytes, xlsx_bytes

    columns = (Column("title", "议题名称"), Column("day", "日期", "date"))
    rows = [{"title": "=HYPERLINK(\"http://example.com\")", "day": dt.date(2026, 11, 29)}, {"title": "-1+2", "day": None}]
    ws = openpyxl.load_workbook(io.BytesIO(xlsx_bytes("测试", columns, rows))).active
    assert ws["A2"].data_type == "s" and ws["A2"].value == rows[0]["title"]
    assert ws["B2"].is_date and ws["B3"].value is None
    lines = list(csv.reader(io.StringIO(csv_bytes(columns, rows).decode("utf-8-sig"))))
    assert lines[1] == ["'" + rows[0]["title"], "2026-11-29"] and lines[2] == ["'-1+2", ""]
