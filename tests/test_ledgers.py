"""Ledgers (台账): the .xlsx and the CSV hold exactly the rows and columns the screen shows for the
same filters; the .xlsx is ready to print (title row, period and 截至日期, 序号, bold header repeated on
every page, borders, wrapped text, landscape A4 fitted to the width, the rules below the table); the
columns 最新进展, 逾期天数, 延期, 评价意见 and the （暂定） deadline hold the values of tasks built with
known dates; the CSV has a UTF-8 BOM; the queries of a page and an export do not grow with the rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import urllib.parse
from typing import Any

import openpyxl
import pytest

from conference.spreadsheets import DATE_FORMAT
from conference.supervision.ledgers import LEDGERS
from conference.tasks.tables import Task, TaskReport
from conference.timefmt import cn_date
from tests.conftest import html
from tests.querycount import count_queries
from tests.test_supervision import Dataset, build_dataset, make_task, sh

CUTOFF = dt.date(2026, 12, 3)


@pytest.fixture(scope="module")
async def data(database_url: str) -> Dataset:
    ds = await build_dataset()
    # Enough tasks for two pages of the screen (50 per page).
    for i in range(56):
        await make_task(ds, f"P{i}", ds.agency, "R3", assigned=sh(2025, 1 + i % 12, 1 + i % 28, 8), ack_due=dt.date(2025, 12, 31),
                        deadline=dt.date(2026, 6, 30), status="acknowledged", acknowledged=sh(2025, 12, 1), street=False)
    return ds


@pytest.fixture
def cutoff(monkeypatch):
    """The ledger as produced on 2026-12-03."""
    import conference.supervision.routes as supervision_routes

    monkeypatch.setattr(supervision_routes, "today", lambda: CUTOFF)
    return CUTOFF


def screen_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    table = html(response).find("table", class_="ledger")
    return [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in table.select("tbody tr") if not tr.find(class_="muted")]


def screen_ids(response: Any) -> list[int]:
    return [int(tr["data-id"]) for tr in html(response).select("table.ledger tbody tr[data-id]")]


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


HEADER_ROW = 3


def xlsx_table(ws: Any) -> tuple[list[Any], list[list[Any]], list[str]]:
    """(header, body rows, notes) of a ledger sheet: rows 1-2 title and period, row 3 the header,
    then the rows up to the blank line before the notes."""
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[HEADER_ROW - 1])
    body: list[list[Any]] = []
    for row in rows[HEADER_ROW:]:
        if all(v is None for v in row):
            break
        body.append(list(row))
    notes = [str(r[0]) for r in rows[HEADER_ROW + len(body) + 1:] if r and r[0]]
    return header, body, notes


def xlsx_text(value: Any) -> str:
    """A cell as the screen shows it (a 暂定 deadline is two lines of text in the .xlsx)."""
    return value.replace("\n", "") if isinstance(value, str) else as_text(value)


def csv_rows(response: Any, kind: str) -> tuple[list[str], list[list[str]]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8

    def day(v: str) -> str:
        iso, tentative = (v[:-4], "（暂定）") if v.endswith("（暂定）") else (v, "")
        return cn_date(dt.date.fromisoformat(iso)) + tentative

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    kinds = [c.kind for c in LEDGERS[kind].columns]
    body = [[day(v) if k == "date" and v else v for v, k in zip(row, kinds, strict=True)] for row in rows[1:]]
    return rows[0], body


async def fetch_all(client: Any, query: dict[str, Any]) -> tuple[Any, list[list[str]], Any, Any]:
    qs = urllib.parse.urlencode(query)
    page = await client.get(f"/supervision/ledger?{qs}")
    xlsx = await client.get(f"/supervision/ledger.xlsx?{qs}")
    csv_response = await client.get(f"/supervision/ledger.csv?{qs}")
    return page, screen_rows(page), xlsx, csv_response


async def assert_same_rows(client: Any, query: dict[str, Any]) -> list[int]:
    """The screen, the .xlsx and the CSV hold the same header and cells; returns the ids of the
    rows in order (from the screen)."""
    page, shown, xlsx, csv_response = await fetch_all(client, query)
    ws = xlsx_sheet(xlsx)
    header, _body, _notes = xlsx_table(ws)
    assert header == screen_header(page)
    cells = [[xlsx_text(c.value) for c in row]
             for row in ws.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(shown))]
    assert cells == shown
    csv_header, body = csv_rows(csv_response, query.get("kind", "tasks"))
    assert csv_header == screen_header(page)
    assert body == shown
    return screen_ids(page)


async def row_of(client: Any, query: dict[str, Any], row_id: int) -> dict[str, str]:
    """One row of the screen as {header: text}."""
    page = await client.get(f"/supervision/ledger?{urllib.parse.urlencode(query)}")
    rows = dict(zip(screen_ids(page), screen_rows(page), strict=True))
    return dict(zip(screen_header(page), rows[row_id], strict=True))


async def test_task_ledger_filters_and_files_agree(as_user, data, cutoff):
    office = await as_user("office")
    query = {"kind": "tasks", "conference": data.conference, "unit": data.dept, "status": "closed",
             "start": "2023-01-01", "end": "2024-12-31"}
    ids = await assert_same_rows(office, query)
    assert ids == [data.tasks[t] for t in ("T2", "T1", "T7", "T8")]  # newest assignment first
    t1 = await row_of(office, query, data.tasks["T1"])
    assert t1["序号"] == "2" and t1["会议及议定事项编号"].endswith("第1项") and t1["会议及议定事项编号"].startswith("2023年第2次全体会议")
    assert t1["交办日期"] == "2024年3月4日" and t1["签收日期"] == "2024年3月6日" and t1["状态"] == "已销号"
    assert t1["销号日期"] == "2024年4月30日" and t1["评价意见"] == "满意" and t1["逾期天数"] == ""
    # T2 was closed at 00:30 the day after its deadline: one day late; T8 two days (2024-01-02).
    assert (await row_of(office, query, data.tasks["T2"]))["逾期天数"] == "1"
    assert (await row_of(office, query, data.tasks["T8"]))["逾期天数"] == "2"
    # The date range is on local days: T2 and T1 were assigned on 4 March.
    only_march = await assert_same_rows(office, {**query, "start": "2024-03-04", "end": "2024-03-04"})
    assert sorted(only_march) == sorted([data.tasks["T1"], data.tasks["T2"]])
    by_street = await assert_same_rows(office, {"kind": "tasks", "conference": data.conference, "street": data.street,
                                                "status": "assigned"})
    assert by_street == [data.tasks["T6"]]  # T10 has no street


async def test_task_values_for_known_dates(as_user, data, cutoff):
    """最新进展, 逾期天数 as of the cut-off date, 延期, 评价意见 and the （暂定） deadline."""
    ds = data
    late = await make_task(ds, "K1", ds.dept, "R1", assigned=sh(2026, 5, 20, 10), ack_due=dt.date(2026, 5, 22),
                           acknowledged=sh(2026, 5, 21, 9), deadline=dt.date(2026, 9, 30), status="in_progress")
    await Task.update({Task.extension_status: "approved", Task.extension_deadline: dt.date(2026, 10, 30),
                       Task.deadline: dt.date(2026, 10, 30)}).where(Task.id == late)
    for text, at in (("已完成管网铺设的60%", sh(2026, 9, 1, 10)), ("完成路面恢复，正在验收", sh(2026, 11, 20, 16)),
                     ("旧的报告", sh(2026, 8, 1, 10))):
        await TaskReport.insert(TaskReport(task=late, kind="progress", text=text, author_name="张三", created_at=at))
    await TaskReport.insert(TaskReport(task=late, kind="returned", text="不是进展", author_name="办公室",
                                       created_at=sh(2026, 11, 25, 10)))
    tentative = await make_task(ds, "K2", ds.agency, "R1", assigned=sh(2026, 11, 25, 10), ack_due=dt.date(2026, 11, 27),
                                deadline=dt.date(2027, 1, 15), role="cooperate")
    await Task.update({Task.deadline_provisional: True, Task.extension_status: "requested",
                       Task.extension_deadline: dt.date(2027, 2, 26)}).where(Task.id == tentative)
    rated = await make_task(ds, "K3", ds.dept, "R2", assigned=sh(2026, 3, 2, 10), ack_due=dt.date(2026, 3, 4),
                            acknowledged=sh(2026, 3, 3), deadline=dt.date(2026, 6, 30), status="closed",
                            closed=sh(2026, 7, 3, 15), rating="basically_satisfied", rated=sh(2026, 7, 10))
    await Task.update({Task.rating_comment: "路灯已修复，\n但夜间巡查还需加强"}).where(Task.id == rated)

    office = await as_user("office")
    query = {"kind": "tasks", "conference": ds.conference, "start": "2026-01-01", "end": "2026-12-31"}
    ids = await assert_same_rows(office, query)
    assert ids == [tentative, late, rated]
    row = await row_of(office, query, late)
    assert row["序号"] == "2" and row["交办日期"] == "2026年5月20日" and row["签收时限"] == "2026年5月22日"
    assert row["办结期限"] == "2026年10月30日" and row["延期"] == "已批准延期至2026年10月30日"
    assert row["最新进展"] == "2026年11月20日：完成路面恢复，正在验收"
    assert row["逾期天数"] == str((CUTOFF - dt.date(2026, 10, 30)).days) == "34"
    assert row["状态"] == "办理中" and row["评价意见"] == "" and row["承办角色"] == "牵头单位"
    row = await row_of(office, query, tentative)
    assert row["办结期限"] == "2027年1月15日（暂定）" and row["延期"] == "申请延期至2027年2月26日（待审批）"
    assert row["逾期天数"] == "" and row["最新进展"] == "" and row["签收日期"] == ""
    row = await row_of(office, query, rated)
    assert row["逾期天数"] == "3" and row["评价意见"] == "基本满意：路灯已修复， 但夜间巡查还需加强"

    ws = xlsx_sheet(await office.get(f"/supervision/ledger.xlsx?{urllib.parse.urlencode(query)}"))
    header, body, _notes = xlsx_table(ws)
    first = dict(zip(header, body[0], strict=True))
    assert first["序号"] == 1 and first["办结期限"] == "2027年1月15日\n（暂定）"
    assert ws.cell(HEADER_ROW + 1, header.index("办结期限") + 1).alignment.wrap_text
    second = dict(zip(header, body[1], strict=True))
    assert second["逾期天数"] == 34 and second["办结期限"] == dt.datetime(2026, 10, 30)
    assert ws.cell(HEADER_ROW + 2, header.index("办结期限") + 1).number_format == DATE_FORMAT
    _csv_header, csv_body = csv_rows(await office.get(f"/supervision/ledger.csv?{urllib.parse.urlencode(query)}"), "tasks")
    raw = list(csv.reader(io.StringIO((await office.get(f"/supervision/ledger.csv?{urllib.parse.urlencode(query)}"))
                                      .content.decode("utf-8-sig"))))
    assert raw[1][header.index("办结期限")] == "2027-01-15（暂定）" and raw[2][header.index("逾期天数")] == "34"
    assert len(csv_body) == 3
    for key in ("K1", "K2", "K3"):  # leave the 2024 figures of the other tests as they were
        await TaskReport.delete().where(TaskReport.task == ds.tasks[key])
        await Task.delete().where(Task.id == ds.tasks.pop(key))


async def test_xlsx_ready_to_print(as_user, data, cutoff):
    office = await as_user("office")
    query = f"kind=tasks&conference={data.conference}&unit={data.dept}&start=2024-01-01&end=2024-12-31"
    response = await office.get(f"/supervision/ledger.xlsx?{query}")
    ws = xlsx_sheet(response)
    # Title row: conference and ledger; then the period and the cut-off date.
    assert ws["A1"].value == f"{data.conference_name}督办任务台账" and ws["A1"].font.b
    assert ws["A2"].value == "统计期间（按交办日期）：2024年1月1日至2024年12月31日　　截至日期：2026年12月3日　　共 4 条"
    header, body, notes = xlsx_table(ws)
    assert header == [c.header for c in LEDGERS["tasks"].columns]
    assert header[:2] == ["序号", "会议及议定事项编号"] and "编号" not in header
    for name in ("最新进展", "逾期天数", "延期", "评价意见", "办结期限"):
        assert name in header
    assert [r[0] for r in body] == [1, 2, 3, 4]  # T3, T4, T2 and T1 (T5 was assigned on 31 December 2023)
    assert notes[0] == "注：" and any(n.startswith("1. 逾期天数：截至日期") for n in notes)
    # The header row: bold, bordered, repeated on every printed page, frozen on screen.
    assert all(cell.font.b and cell.border.top.style == "thin" for cell in ws[HEADER_ROW])
    assert ws.print_title_rows.replace("$", "") == "3:3" and ws.freeze_panes == "A4"
    # Cells: thin borders all round, text wrapped, dates as real dates.
    for cell in ws[HEADER_ROW + 1]:
        assert {cell.border.left.style, cell.border.right.style, cell.border.top.style, cell.border.bottom.style} == {"thin"}
        assert cell.alignment.wrap_text
    assigned = [c for c in ws["I"][HEADER_ROW:HEADER_ROW + len(body)]]
    assert header[8] == "交办日期" and all(isinstance(c.value, dt.datetime) and c.is_date for c in assigned)
    assert all(c.number_format == DATE_FORMAT for c in assigned)
    # Landscape A4, fitted to one page wide, as many pages down as needed.
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert str(ws.page_setup.fitToWidth) == "1" and str(ws.page_setup.fitToHeight) == "0"
    assert "&P" in ws.oddFooter.center.text
    # Widths: 序号 narrow, the texts wide, every column set.
    widths = {header[i]: ws.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width for i in range(len(header))}
    assert widths["序号"] == 4.5 and widths["议定事项"] == 24 and widths["最新进展"] == 22 and widths["交办日期"] == 12
    # Rows are as high as their wrapped text (estimated: not every program grows them on opening).
    heights = {i: ws.row_dimensions[i].height for i in range(HEADER_ROW + 1, HEADER_ROW + 1 + len(body))}
    assert all(h and h >= 16 for h in heights.values())
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition


async def test_screen_heading_and_notes(as_user, data, cutoff):
    office = await as_user("office")
    page = html(await office.get(f"/supervision/ledger?kind=tasks&conference={data.conference}"))
    heading = page.select_one(".ledger-heading").get_text(" ", strip=True)
    assert data.conference_name in heading and "截至日期：2026年12月3日" in heading
    assert "逾期天数：" in page.select_one(".ledger-notes").get_text()
    cells = page.select("table.ledger tbody tr[data-id] td")
    assert cells and all(td.get("data-label") for td in cells)  # the labels of the stacked rows on phones
    first = page.select_one("table.ledger tbody tr[data-id]")
    assert first.select_one('td[data-col="ref"] a')["href"] == f"/tasks/{first['data-id']}"
    assert [td.get_text(strip=True) for td in page.select('td[data-col="seq"]')][:3] == ["1", "2", "3"]
    second = html(await office.get(f"/supervision/ledger?kind=tasks&conference={data.conference}&page=2"))
    assert second.select_one('td[data-col="seq"]').get_text(strip=True) == "51"  # 序号 runs on across pages


async def test_item_and_resolution_ledgers(as_user, data, cutoff):
    office = await as_user("office")
    query = {"kind": "items", "conference": data.conference}
    items = await assert_same_rows(office, query)
    assert sorted(items) == sorted(data.items.values())
    first = await row_of(office, query, data.items["I1"])
    assert first["提请协调单位"] == "、".join(sorted([data.dept_name, data.agency_name]))
    assert first["提交日期"] == "2023年9月1日" and first["已提交天数"] == str((CUTOFF - dt.date(2023, 9, 1)).days)
    street_items = await assert_same_rows(office, {"kind": "items", "conference": data.conference, "street": data.street})
    assert sorted(street_items) == sorted([data.items["I1"], data.items["I2"]])
    agency_items = await assert_same_rows(office, {"kind": "items", "conference": data.conference, "unit": data.agency})
    assert agency_items == [data.items["I1"]]

    query = {"kind": "resolutions", "conference": data.conference, "status": "done"}
    done = await assert_same_rows(office, query)
    assert done == [data.resolutions["R2"]]
    r2 = await row_of(office, query, data.resolutions["R2"])
    assert r2["销号进度"] == "2/2" and r2["状态"] == "已办结" and r2["会议日期"] == "2023年9月20日"
    assert r2["会议及议定事项编号"].startswith("2023年第2次全体会议") and r2["会议及议定事项编号"].endswith("第2项")
    query = {"kind": "resolutions", "conference": data.conference, "status": "open"}
    still_open = await assert_same_rows(office, query)
    assert still_open == [data.resolutions["R3"], data.resolutions["R1"]]
    r1 = await row_of(office, query, data.resolutions["R1"])
    assert r1["牵头单位"] == data.dept_name and r1["配合单位"] == data.agency_name and r1["提请街道"] == data.street_name
    coop = await assert_same_rows(office, {"kind": "resolutions", "conference": data.conference, "unit": data.agency})
    assert sorted(coop) == sorted([data.resolutions["R1"], data.resolutions["R3"]])


async def test_export_holds_every_page(as_user, data):
    office = await as_user("office")
    query = {"kind": "tasks", "conference": data.conference, "unit": data.agency}
    qs = urllib.parse.urlencode(query)
    first = await office.get(f"/supervision/ledger?{qs}")
    assert html(first).find(id="ledger-total").get_text(strip=True) == "共 59 条"
    second = await office.get(f"/supervision/ledger?{qs}&page=2")
    shown = screen_rows(first) + screen_rows(second)
    assert len(shown) == 59 and [r[0] for r in shown] == [str(i) for i in range(1, 60)]
    _header, body, _notes = xlsx_table(xlsx_sheet(await office.get(f"/supervision/ledger.xlsx?{qs}")))
    assert [[as_text(v) for v in row] for row in body] == shown
    assert csv_rows(await office.get(f"/supervision/ledger.csv?{qs}"), "tasks")[1] == shown
    # The page's export links carry its filters.
    links = {a.get_text(strip=True): a["href"] for a in html(first).select(".actions a.button")}
    assert urllib.parse.parse_qs(urllib.parse.urlparse(links["导出 Excel"]).query) == {k: [str(v)] for k, v in query.items()}


async def test_ledger_query_count_is_constant(as_user, cutoff):
    """A page and an export run the same statements for 2 tasks as for 40 with reports."""
    ds = await build_dataset()
    office = await as_user("office")
    urls = [f"/supervision/ledger?kind={k}&conference={ds.conference}" for k in ("tasks", "resolutions", "items")]
    urls += [f"/supervision/ledger.xlsx?kind=tasks&conference={ds.conference}", f"/supervision/ledger.csv?kind=tasks&conference={ds.conference}"]

    async def queries(url: str) -> int:
        with count_queries() as seen:
            assert (await office.get(url)).status_code == 200
        return len(seen)

    before = [await queries(u) for u in urls]
    for i in range(40):
        task = await make_task(ds, f"Q{i}", ds.dept, "R1", assigned=sh(2026, 1 + i % 11, 2), ack_due=dt.date(2026, 1 + i % 11, 5),
                               deadline=dt.date(2026, 1 + i % 11, 25), status="in_progress", acknowledged=sh(2026, 1 + i % 11, 3))
        for day in (10, 12):
            await TaskReport.insert(TaskReport(task=task, kind="progress", text=f"进展{i}-{day}", author_name="张三",
                                               created_at=sh(2026, 1 + i % 11, day)))
    after = [await queries(u) for u in urls]
    assert after == before
    assert max(before) <= 8


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
    header, rows = csv_rows(await luozhuang.get("/supervision/ledger.csv?kind=tasks"), "tasks")
    conferences = {r[header.index("联席会议")] for r in rows}
    assert conferences and data.conference_name not in conferences
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
    from conference.spreadsheets import Column, csv_bytes, xlsx_bytes

    columns = (Column("title", "议题名称"), Column("day", "日期", "date"))
    rows = [{"title": "=HYPERLINK(\"http://example.com\")", "day": dt.date(2026, 11, 29)}, {"title": "-1+2", "day": None}]
    ws = openpyxl.load_workbook(io.BytesIO(xlsx_bytes("测试", columns, rows))).active
    assert ws["A2"].data_type == "s" and ws["A2"].value == rows[0]["title"]
    assert ws["B2"].is_date and ws["B3"].value is None
    lines = list(csv.reader(io.StringIO(csv_bytes(columns, rows).decode("utf-8-sig"))))
    assert lines[1] == ["'" + rows[0]["title"], "2026-11-29"] and lines[2] == ["'-1+2", ""]
