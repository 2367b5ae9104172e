"""Importing member units from .xlsx/.csv: the per-row report, whole-file errors, roles, audit."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from typing import Any

import httpx
import openpyxl
import pytest

from tests.conftest import html

URL = "/registry/units/import"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["单位名称", "单位类别", "上级单位", "职责任务", "联络员", "联络员电话", "联络员邮箱", "分管负责人"]


def tag() -> str:
    return uuid.uuid4().hex[:8]


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    text = "\r\n".join(",".join(f'"{c}"' if "," in c else c for c in row) for row in rows) + "\r\n"
    return text.encode(encoding)


async def upload(client: httpx.AsyncClient, name: str, content: bytes, mime: str = XLSX, conference: str = "",
                 csrf: bool = True) -> httpx.Response:
    data = {"conference": conference}
    if csrf:
        data["_csrf_token"] = client.cookies.get("csrftoken", "")
    return await client.post(URL, data=data, files={"file": (name, content, mime)})


async def units_named(*names: str) -> dict[str, dict[str, Any]]:
    from conference.registry.tables import MemberUnit

    rows = await MemberUnit.select().where(MemberUnit.name.is_in(list(names)))
    return {r["name"]: r for r in rows}


async def conference_id(name: str) -> int:
    from conference.registry.tables import Conference

    row = await Conference.select(Conference.id).where(Conference.name == name).first()
    assert row is not None
    return int(row["id"])


async def last_import_event() -> dict[str, Any]:
    from conference.audit.tables import AuditEvent

    row = await AuditEvent.select().where((AuditEvent.action == "import") & (AuditEvent.entity == "member_unit")).order_by(
        AuditEvent.id, ascending=False).output(load_json=True).first()
    return row or {"id": None}


def rejected_table(response: httpx.Response) -> dict[int, tuple[str, list[str]]]:
    """Row number -> (unit name, reasons) from the report table."""
    table = html(response).find(id="rejected")
    if table is None:
        return {}
    found = {}
    for tr in table.find("tbody").find_all("tr"):
        cells = tr.find_all("td")
        number = int("".join(ch for ch in cells[0].get_text() if ch.isdigit()))
        found[number] = (cells[1].get_text(strip=True), [li.get_text(strip=True) for li in cells[2].find_all("li")])
    return found


def file_error(response: httpx.Response) -> str:
    node = html(response).find(id="e-file")
    assert node is not None, response.text
    return node.get_text(strip=True)


# ---------------------------------------------------------------- good files


async def test_good_xlsx_creates_units_with_memberships_and_audit(as_user):
    client = await as_user("office")
    t = tag()
    dept, agency, station = f"测试住建局{t}", f"测试物业服务中心{t}", f"测试市场监管所{t}"
    conf = await conference_id("兰山区城市基层党建联席会议")
    content = xlsx([
        HEADER,
        [dept, "区直部门", None, "城市更新、物业监管", "张明", 5398123456, "zj@example.gov.cn", "李强"],
        [agency, "派驻机构", dept, "", "王芳", "0539-8123456", "", ""],  # parent: an earlier row of this file
        [station, "派驻机构", "兰山区市场监管局", "", "", None, None, None],  # parent: an existing unit
    ])
    response = await upload(client, "units.xlsx", content, conference=str(conf))
    assert response.status_code == 200, response.text
    page = html(response)
    assert "成功导入 3 个成员单位，0 行未导入" in page.find(class_="import-counts").get_text()
    links = {a.get_text(): a["href"] for a in page.select("#created a")}
    assert set(links) == {dept, agency, station}
    assert rejected_table(response) == {}

    units = await units_named(dept, agency, station)
    assert units[dept]["kind"] == "department"
    assert units[dept]["liaison_phone"] == "5398123456"  # a number cell comes back as text without ".0"
    assert units[dept]["liaison_email"] == "zj@example.gov.cn"
    assert units[agency]["kind"] == "dispatched_agency"
    assert units[agency]["parent_unit"] == units[dept]["id"]
    existing = await units_named("兰山区市场监管局")
    assert units[station]["parent_unit"] == existing["兰山区市场监管局"]["id"]
    assert links[dept] == f"/registry/units/{units[dept]['id']}"

    from conference.audit.tables import AuditEvent
    from conference.registry.tables import Membership
    from conference.timefmt import today

    memberships = await Membership.select().where(Membership.unit.is_in([u["id"] for u in units.values()]))
    assert {m["conference"] for m in memberships} == {conf}
    assert all(m["start_date"] == today() and m["end_date"] is None for m in memberships)
    created = await AuditEvent.select().where((AuditEvent.entity == "member_unit") & (AuditEvent.action == "create")
                                              & AuditEvent.entity_id.is_in([u["id"] for u in units.values()]))
    assert len(created) == 3
    assert await AuditEvent.count().where((AuditEvent.entity == "membership")
                                          & AuditEvent.entity_id.is_in([m["id"] for m in memberships])) == 3
    event = await last_import_event()
    assert event["after"]["created"] == 3 and event["after"]["rejected"] == 0 and event["after"]["rows"] == 3
    assert event["after"]["filename"] == "units.xlsx"
    assert event["conference_id"] == conf

    # The units list shows them.
    listing = html(await client.get("/registry/units", params={"q": t}))
    assert {a.get_text() for a in listing.select("table.list tbody a")} == {dept, agency, station}

    # Importing the same file again creates nothing and reports every row as already existing.
    again = await upload(client, "units.xlsx", content, conference=str(conf))
    assert again.status_code == 200
    report = rejected_table(again)
    assert sorted(report) == [2, 3, 4]
    assert all(any("已有同名成员单位" in r for r in reasons) for _name, reasons in report.values())
    assert "成功导入 0 个成员单位，3 行未导入" in html(again).find(class_="import-counts").get_text()
    assert len(await units_named(dept, agency, station)) == 3


async def test_import_without_conference_adds_no_membership(as_user):
    client = await as_user("admin")
    name = f"测试单位{tag()}"
    response = await upload(client, "a.xlsx", xlsx([HEADER, [name, "其他"]]))
    assert response.status_code == 200
    unit = (await units_named(name))[name]
    assert unit["kind"] == "other"
    from conference.registry.tables import Membership

    assert await Membership.count().where(Membership.unit == unit["id"]) == 0


async def test_columns_in_any_order_and_only_required_ones(as_user):
    client = await as_user("office")
    name = f"测试街道单位{tag()}"
    response = await upload(client, "a.xlsx", xlsx([["单位类别", "单位名称"], ["街道", name]]))
    assert response.status_code == 200
    assert (await units_named(name))[name]["kind"] == "street"


# ---------------------------------------------------------------- the per-row report


async def test_report_lists_each_rejected_row_with_every_reason(as_user):
    client = await as_user("office")
    t = tag()
    good, other = f"测试合格单位{t}", f"测试另一单位{t}"
    bad_parent_child = f"测试下级单位{t}"
    content = xlsx([
        HEADER,                                                                           # row 1
        [good, "区直部门", None, None, None, None, "ok@example.gov.cn"],                     # 2 ok
        [f"测试坏邮箱{t}", "区直部门", None, None, None, None, "not-an-email"],              # 3
        [f"测试坏类别{t}", "事业单位"],                                                      # 4
        ["兰山区市场监管局", "区直部门"],                                                    # 5 exists already
        [good, "其他"],                                                                   # 6 duplicate of row 2
        [None, "区直部门", None, "职责"],                                                   # 7 no name
        [],                                                                               # 8 blank: skipped, still counted
        [f"测试无上级{t}", "派驻机构", f"不存在的单位{t}"],                                   # 9
        [f"测试多错{t}", "", None, None, None, "电话abc", "x@y"],                            # 10 three problems
        [bad_parent_child, "派驻机构", f"测试坏邮箱{t}"],                                     # 11 parent rejected above
        [other, "派驻机构", good, None, None, None, None, "王五"],                           # 12 ok, parent row 2
    ])
    response = await upload(client, "report.xlsx", content)
    assert response.status_code == 200, response.text
    report = rejected_table(response)
    assert sorted(report) == [3, 4, 5, 6, 7, 9, 10, 11]
    assert report[3] == (f"测试坏邮箱{t}", ["联络员邮箱格式不正确，例如 liaison@example.gov.cn。"])
    assert report[4][1] == ["单位类别“事业单位”无效，应为：区直部门、派驻机构、街道、其他。"]
    assert report[5][0] == "兰山区市场监管局"
    assert "已有同名成员单位" in report[5][1][0]
    assert report[6] == (good, ["与本文件第 2 行的单位名称重复。"])
    assert report[7][0] == "（未填写）" and report[7][1] == ["请填写单位名称。"]
    assert report[9][1] == [f"找不到上级单位“不存在的单位{t}”：应为系统中已有的单位，或本文件中排在前面的单位。"]
    assert report[10][1] == ["请选择单位类别。", "联络员电话只能包含数字、空格和 + - ( )。",
                             "联络员邮箱格式不正确，例如 liaison@example.gov.cn。"]
    assert report[11][1] == [f"上级单位“测试坏邮箱{t}”（第 3 行）未能导入，请先修正那一行。"]
    page = html(response)
    assert "共 10 行数据：成功导入 2 个成员单位，8 行未导入" in page.find(class_="import-counts").get_text()

    units = await units_named(good, other, f"测试坏邮箱{t}", f"测试坏类别{t}", f"测试无上级{t}", f"测试多错{t}", bad_parent_child)
    assert set(units) == {good, other}
    assert units[other]["parent_unit"] == units[good]["id"]
    event = await last_import_event()
    assert event["after"]["created"] == 2 and event["after"]["rejected"] == 8
    assert event["after"]["rejected_rows"] == [3, 4, 5, 6, 7, 9, 10, 11]


async def test_row_numbers_count_blank_rows_and_styled_empty_rows_are_cheap(as_user):
    from openpyxl.styles import Font

    client = await as_user("office")
    name = f"测试空行{tag()}"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append([])
    sheet.append([name, "其他", None, None, None, None, "bad"])
    sheet.cell(row=1048576, column=1).font = Font(bold=True)  # "used range" to the last row of Excel
    out = io.BytesIO()
    workbook.save(out)
    response = await upload(client, "a.xlsx", out.getvalue())
    assert response.status_code == 200
    assert list(rejected_table(response)) == [3]


async def test_duplicate_within_file_is_rejected_even_when_first_was_rejected(as_user):
    client = await as_user("office")
    name = f"测试重名{tag()}"
    response = await upload(client, "d.xlsx", xlsx([HEADER, [name, "错误类别"], [name, "其他"]]))
    report = rejected_table(response)
    assert sorted(report) == [2, 3]
    assert report[3][1] == ["与本文件第 2 行的单位名称重复。"]
    assert await units_named(name) == {}


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
async def test_csv_in_chinese_excel_encodings(as_user, encoding):
    client = await as_user("office")
    t = tag()
    a, b = f"测试CSV部门{t}", f"测试CSV所{t}"
    content = csv_bytes([HEADER, [a, "区直部门", "", "负责, 协调", "张三", "0539-8000000", "a@example.gov.cn", "李四"],
                         [b, "派驻机构", a, "", "", "", "bad", ""]], encoding)
    if encoding == "utf-8-sig":
        assert content.startswith(b"\xef\xbb\xbf")
    response = await upload(client, "units.csv", content, mime="text/csv")
    assert response.status_code == 200, response.text
    report = rejected_table(response)
    assert list(report) == [3]
    assert report[3] == (b, ["联络员邮箱格式不正确，例如 liaison@example.gov.cn。"])
    units = await units_named(a, b)
    assert set(units) == {a}
    assert units[a]["duties"] == "负责, 协调"


async def test_csv_with_tabs_in_utf16_as_excel_unicode_text(as_user):
    client = await as_user("office")
    name = f"测试制表符{tag()}"
    content = ("\t".join(HEADER) + "\r\n" + f"{name}\t其他\r\n").encode("utf-16")
    response = await upload(client, "UNITS.CSV", content, mime="text/csv")
    assert response.status_code == 200, response.text
    assert name in await units_named(name)


# ---------------------------------------------------------------- whole-file errors


def _many_rows(t: str) -> bytes:
    return csv_bytes([HEADER] + [[f"测试超量{t}{i}", "其他"] for i in range(2001)], "utf-8")


WHOLE_FILE_CASES = [
    ("malformed_xlsx", "a.xlsx", lambda t: b"PK\x03\x04 this is not really a zip file", "不是有效的 .xlsx 工作簿"),
    ("zip_not_workbook", "a.xlsx", lambda t: _zip_with_text(), "不是有效的 .xlsx 工作簿"),
    ("text_renamed_xlsx", "a.xlsx", lambda t: csv_bytes([HEADER, [f"测试{t}", "其他"]], "utf-8"), "不是有效的 .xlsx 工作簿"),
    ("old_xls_bytes", "a.xlsx", lambda t: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ".xls"),
    ("empty_xlsx_file", "a.xlsx", lambda t: b"", "文件是空的"),
    ("empty_csv_file", "a.csv", lambda t: b"", "文件是空的"),
    ("wrong_extension", "units.txt", lambda t: csv_bytes([HEADER, [f"测试{t}", "其他"]], "utf-8"), "只能导入 .xlsx 或 .csv 文件"),
    ("xls_extension", "units.xls", lambda t: xlsx([HEADER, [f"测试{t}", "其他"]]), "不支持旧版 Excel（.xls）"),
    ("no_extension", "units", lambda t: xlsx([HEADER, [f"测试{t}", "其他"]]), "只能导入 .xlsx 或 .csv 文件"),
    ("binary_renamed_csv", "a.csv", lambda t: bytes(range(256)) * 8, "不是可识别的 CSV 文本"),
    ("xlsx_renamed_csv", "a.csv", lambda t: xlsx([HEADER, [f"测试{t}", "其他"]]), "实际上是 Excel 工作簿"),
    ("header_only_xlsx", "a.xlsx", lambda t: xlsx([HEADER]), "只有表头"),
    ("header_only_csv", "a.csv", lambda t: csv_bytes([HEADER], "utf-8-sig"), "只有表头"),
    ("blank_workbook", "a.xlsx", lambda t: xlsx([]), "文件中没有内容"),
    ("blank_lines_csv", "a.csv", lambda t: b"\r\n,,\r\n\r\n", "文件中没有内容"),
    ("missing_headers", "a.xlsx", lambda t: xlsx([["单位名称", "联络员"], [f"测试{t}", "张三"]]), "缺少必需的表头：“单位类别”"),
    ("unknown_header", "a.xlsx", lambda t: xlsx([[*HEADER, "备注"], [f"测试{t}", "其他"]]), "无法识别的表头：“备注”"),
    ("repeated_header", "a.xlsx", lambda t: xlsx([[*HEADER, "联络员"], [f"测试{t}", "其他"]]), "表头重复：“联络员”"),
    ("data_without_header", "a.xlsx", lambda t: xlsx([[f"测试{t}", "其他"]]), "第一行应为表头"),
    ("too_many_rows", "a.csv", _many_rows, "超过 2000 行"),
    ("oversized", "a.csv", lambda t: csv_bytes([HEADER, [f"测试{t}", "其他", "", "x" * (2 * 1024 * 1024)]], "utf-8"),
     "不能超过 2 MB"),
]


def _zip_with_text() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return out.getvalue()


@pytest.mark.parametrize(("filename", "make", "message"), [c[1:] for c in WHOLE_FILE_CASES], ids=[c[0] for c in WHOLE_FILE_CASES])
async def test_whole_file_errors_show_beside_file_field(as_user, filename, make, message):
    client = await as_user("office")
    t = tag()
    before = await last_import_event()
    response = await upload(client, filename, make(t))
    assert response.status_code == 400, response.text[:500]
    error = file_error(response)
    assert message in error
    page = html(response)
    summary = page.find(id="error-summary")
    assert summary is not None and summary.find("a", href="#f-file") is not None
    assert page.find(id="f-file")["aria-invalid"] == "true"
    from conference.registry.tables import MemberUnit

    assert await MemberUnit.count().where(MemberUnit.name.like(f"%{t}%")) == 0
    assert (await last_import_event())["id"] == before["id"]  # nothing imported, nothing recorded


async def test_exactly_2000_rows_are_accepted(as_user):
    client = await as_user("office")
    t = tag()
    content = csv_bytes([HEADER] + [[f"测试满额{t}-{i}", "错误类别"] for i in range(2000)], "utf-8")
    response = await upload(client, "many.csv", content, mime="text/csv")
    assert response.status_code == 200
    assert len(rejected_table(response)) == 2000  # rejected (bad kind) so that the test stays quick


async def test_far_too_large_upload_is_refused_with_chinese_message(as_user):
    client = await as_user("office")
    response = await upload(client, "big.xlsx", b"PK" + b"\x00" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert "不能超过 2 MB" in html(response).find("h1").get_text()


async def test_no_file_chosen(as_user):
    client = await as_user("office")
    response = await client.post(URL, data={"conference": "", "_csrf_token": client.cookies.get("csrftoken", "")},
                                 files={"file": ("", b"", "application/octet-stream")})
    assert response.status_code == 400
    assert file_error(response) == "请选择要导入的 .xlsx 或 .csv 文件。"


async def test_conference_must_be_visible_to_the_office(as_user):
    client = await as_user("office")  # 兰山区: cannot see 罗庄街道
    name = f"测试越权{tag()}"
    other = await conference_id("罗庄街道城市基层党建联席会议")
    response = await upload(client, "a.xlsx", xlsx([HEADER, [name, "其他"]]), conference=str(other))
    assert response.status_code == 400
    node = html(response).find(id="e-conference")
    assert node is not None and "无权" in node.get_text()
    assert await units_named(name) == {}
    garbage = await upload(client, "a.xlsx", xlsx([HEADER, [name, "其他"]]), conference="abc")
    assert garbage.status_code == 400
    assert await units_named(name) == {}


async def test_unit_created_by_someone_else_during_import_rolls_back_everything(as_user, monkeypatch):
    from conference.collation import sort_key
    from conference.registry import importer
    from conference.registry.tables import MemberUnit
    from conference.timefmt import now

    client = await as_user("office")
    t = tag()
    first, second = f"测试并发一{t}", f"测试并发二{t}"
    checked = importer._check_rows

    async def check_then_someone_saves(report, rows):
        valid = await checked(report, rows)
        await MemberUnit.insert(MemberUnit(name=second, sort_key=sort_key(second), kind="other", created_at=now()))
        return valid

    monkeypatch.setattr(importer, "_check_rows", check_then_someone_saves)
    before = await last_import_event()
    response = await upload(client, "a.xlsx", xlsx([HEADER, [first, "其他"], [second, "其他"]]))
    assert response.status_code == 409
    assert "没有导入任何单位" in html(response).find(id="error-summary").get_text()
    assert set(await units_named(first, second)) == {second}
    assert (await last_import_event())["id"] == before["id"]


async def test_upload_without_csrf_token_is_refused(as_user):
    client = await as_user("office")
    name = f"测试无令牌{tag()}"
    response = await upload(client, "a.xlsx", xlsx([HEADER, [name, "其他"]]), csrf=False)
    assert response.status_code == 403
    assert await units_named(name) == {}


# ---------------------------------------------------------------- page, template, roles


async def test_import_page_offers_visible_conferences_and_template(as_user):
    client = await as_user("office")
    response = await client.get(URL)
    assert response.status_code == 200
    page = html(response)
    form = page.find("form", enctype="multipart/form-data")
    assert form is not None and form.find("input", attrs={"name": "_csrf_token"}) is not None
    assert form.find("input", type="file", id="f-file") is not None
    options = [o.get_text() for o in page.select("#f-conference option")]
    assert "兰山区城市基层党建联席会议" in options and "兰山街道城市基层党建联席会议" in options
    assert "罗庄街道城市基层党建联席会议" not in options
    assert page.find("a", href="/registry/units/import/template.xlsx") is not None
    units_list = html(await client.get("/registry/units"))
    assert units_list.find("a", href=URL) is not None


async def test_template_download_opens_with_openpyxl(as_user):
    client = await as_user("office")
    response = await client.get("/registry/units/import/template.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(XLSX)
    assert "attachment" in response.headers["content-disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert rows[1][1] == "区直部门"
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= 20


async def test_filled_template_imports(as_user):
    client = await as_user("office")
    template = (await client.get("/registry/units/import/template.xlsx")).content
    workbook = openpyxl.load_workbook(io.BytesIO(template))
    sheet = workbook.worksheets[0]
    name = f"测试模板单位{tag()}"
    sheet["A2"] = name
    out = io.BytesIO()
    workbook.save(out)
    response = await upload(client, "成员单位导入模板.xlsx", out.getvalue())
    assert response.status_code == 200, response.text
    assert rejected_table(response) == {}
    unit = (await units_named(name))[name]
    assert unit["liaison_phone"] == "0539-8123456"


@pytest.mark.parametrize("username", ["unit", "street", "convenor"])
async def test_other_roles_are_refused(as_user, username):
    client = await as_user(username)
    assert (await client.get(URL)).status_code == 403
    assert (await client.get("/registry/units/import/template.xlsx")).status_code == 403
    name = f"测试无权{tag()}"
    response = await upload(client, "a.xlsx", xlsx([HEADER, [name, "其他"]]))
    assert response.status_code == 403
    assert await units_named(name) == {}


async def test_anonymous_is_sent_to_login(anon):
    response = await anon.get(URL)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")



# ---------------------------------------------------------------- bounded work off the event loop


async def test_zip_bomb_of_styled_empty_rows_is_refused_at_once(as_user):
    from tests.xlsx_bomb import styled_empty_rows_xlsx, unzipped_size

    client = await as_user("office")
    name = f"测试炸弹{tag()}"
    bomb = styled_empty_rows_xlsx([HEADER, [name, "其他"]], 200_000)  # like the file met: small on disk, ~60 MB inside
    assert len(bomb) < 400 * 1024 and unzipped_size(bomb) > 50 * 1024 * 1024
    before = await last_import_event()
    started = time.perf_counter()
    response = await upload(client, "bomb.xlsx", bomb)
    assert time.perf_counter() - started < 2
    assert response.status_code == 400
    assert "工作簿解压后内容过大" in file_error(response) and "不能超过 8 MB" in file_error(response)
    assert await units_named(name) == {}
    assert (await last_import_event())["id"] == before["id"]


async def test_styled_empty_rows_under_the_cap_are_read_off_the_event_loop(as_user, anon):
    """A workbook just under the size cap, its data followed by thousands of styled empty rows:
    the rows are imported, reading stops after the run of blank rows, and the server answers other
    requests meanwhile (the parse runs in a worker thread)."""
    from conference.registry import import_file
    from tests.xlsx_bomb import styled_empty_rows_xlsx, unzipped_size

    client = await as_user("office")
    name = f"测试空行格式{tag()}"
    content = styled_empty_rows_xlsx([HEADER, [name, "其他"]], 20_000)
    assert import_file.MAX_UNZIPPED_BYTES // 2 < unzipped_size(content) < import_file.MAX_UNZIPPED_BYTES
    gaps: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            assert (await anon.get("/healthz")).status_code == 200
            gaps.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    async def run() -> httpx.Response:
        try:
            return await upload(client, "styled.xlsx", content)
        finally:
            done.set()

    response, _ = await asyncio.gather(run(), probe())
    assert response.status_code == 200, file_error(response)
    assert name in await units_named(name)
    assert len(gaps) >= 3 and max(gaps) < 0.5, gaps


async def test_a_file_that_reads_too_long_is_refused_with_a_message(as_user, monkeypatch):
    from conference.registry import import_file

    monkeypatch.setattr(import_file, "MAX_PARSE_SECONDS", 0.0)  # the limit is checked every 256 rows
    client = await as_user("office")
    t = tag()
    for filename, content in [("slow.csv", csv_bytes([HEADER] + [[f"测试超时{t}{i}", "其他"] for i in range(300)], "utf-8")),
                              ("slow.xlsx", xlsx([HEADER] + [[f"测试超时{t}x{i}", "其他"] for i in range(300)]))]:
        response = await upload(client, filename, content)
        assert response.status_code == 400, filename
        assert "文件读取时间过长（超过 0 秒）" in file_error(response)
    from conference.registry.tables import MemberUnit

    assert await MemberUnit.count().where(MemberUnit.name.like(f"测试超时{t}%")) == 0


async def test_reading_stops_after_a_long_run_of_blank_rows():
    from conference.registry import import_file

    rows = [HEADER, ["甲单位", "其他"]] + [[]] * import_file.MAX_BLANK_RUN + [["乙单位", "其他"]]
    assert [r[1]["name"] for r in import_file.read_rows("gap.xlsx", xlsx(rows))] == ["甲单位"]
    short_gap = [HEADER, ["甲单位", "其他"]] + [[]] * 10 + [["乙单位", "其他"]]
    assert [r[1]["name"] for r in import_file.read_rows("gap.xlsx", xlsx(short_gap))] == ["甲单位", "乙单位"]
