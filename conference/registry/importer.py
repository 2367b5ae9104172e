"""Importing member units from an .xlsx workbook or a .csv file, with a report row by row.

Behaviour (what the office sees):

* Row by row, not all-or-nothing: every valid row is created, every invalid row is listed with its
  row number as Excel shows it (header = row 1), the unit name and every reason, so the office can
  fix just those rows and import them again. Importing the whole file again rejects the rows that
  went in the first time as "already exists" -- harmless and clearly reported.
* The valid rows are written in one transaction, together with one audit event per unit (and per
  membership) and one summary event (action "import"). Should someone create a unit of the same
  name while the import runs, nothing is written and the office is asked to import again.
* Problems with the file as a whole (size, type, encoding, damaged workbook, headers, no data or
  too many rows) raise ValidationFailed for the field "file": a 400 with one Chinese message.
* Reading is bounded and happens off the event loop (`read_rows_in_worker`): at most two files are
  parsed at once per process, each in a worker thread, so other requests keep being answered. A
  workbook is refused before parsing when its parts unzip to more than MAX_UNZIPPED_BYTES (a small
  .xlsx can hold tens of MB of styled empty rows); reading stops at the first MAX_BLANK_RUN blank
  rows in a row (Excel's "used range" often runs to row 1048576), and a file that still takes more
  than MAX_PARSE_SECONDS to read is refused with a message.

The file format: the first non-blank row of the first worksheet is the header; blank rows are
skipped; the columns may come in any order; only 单位名称 and 单位类别 are required columns.
上级单位 names a unit already in the system or one on an earlier row of the same file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PureWindowsPath
from typing import Any

import asyncpg
import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from conference import db, workers
from conference.accounts.actor import Actor
from conference.audit.services import record
from conference.errors import Conflict, NotFound, ValidationFailed
from conference.i18n import gettext as _
from conference.records import insert_audited
from conference.registry import services
from conference.registry.services import KIND_LABELS, UNIT_FIELDS
from conference.registry.tables import Membership, MemberUnit
from conference.timefmt import now, today

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
# A 2 MB .xlsx may inflate to far more XML (a "zip bomb": 150 KB of styled empty rows unzipped to
# 58 MB and took 26 s to parse); refuse before openpyxl reads it. A real 2,000-row list unzips to
# under 2 MB. The cap also bounds the one step that cannot be stopped half-way: when a sheet has
# no <dimension> element, openpyxl's read_only mode scans the whole sheet while opening the
# workbook (about 2 MB/s, measured).
MAX_UNZIPPED_BYTES = 8 * 1024 * 1024
MAX_BLANK_RUN = 1000  # blank rows in a row after which the rest of the sheet is not read
MAX_PARSE_SECONDS = 15.0  # reading one file; more is refused (the worker process stops at the next row)
MAX_COLUMNS = 64  # cells further right are never read
EXTENSIONS = (".xlsx", ".csv")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never in a text file; common in binary ones

# Column headers (field -> header text), in the order of the template.
HEADERS = {
    "name": _("单位名称"),
    "kind": _("单位类别"),
    "parent_unit": _("上级单位"),
    "duties": _("职责任务"),
    "liaison_name": _("联络员"),
    "liaison_phone": _("联络员电话"),
    "liaison_email": _("联络员邮箱"),
    "leader_name": _("分管负责人"),
}
REQUIRED_HEADERS = ("name", "kind")
EXAMPLE_ROW = {
    "name": _("兰山区住房和城乡建设局"),
    "kind": KIND_LABELS["department"],
    "parent_unit": "",
    "duties": _("城市更新、老旧小区改造、物业管理监督"),
    "liaison_name": _("张明"),
    "liaison_phone": "0539-8123456",
    "liaison_email": "zhujian@example.gov.cn",
    "leader_name": _("李强（副局长）"),
}
COLUMN_WIDTHS = {"name": 30, "kind": 12, "parent_unit": 26, "duties": 44, "liaison_name": 12,
                 "liaison_phone": 18, "liaison_email": 28, "leader_name": 18}


@dataclass(frozen=True)
class CreatedUnit:
    row: int
    id: int
    name: str


@dataclass(frozen=True)
class RejectedRow:
    row: int
    name: str
    reasons: list[str]


@dataclass
class ImportReport:
    filename: str
    rows: int = 0  # data rows read (blank rows are not counted)
    created: list[CreatedUnit] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    conference: dict[str, Any] | None = None  # {"id", "name"} when memberships were added


@dataclass
class _Valid:
    row: int
    values: dict[str, Any]
    parent_in_file: str | None  # name of an earlier row of this file, resolved when written


def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed({"file": message}, _("文件无法导入，请按提示修改后重新上传。"))


# ---------------------------------------------------------------- reading the file


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a phone number typed into Excel comes back as 13905390000.0
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


def _too_slow(seconds: float) -> ValidationFailed:
    return _file_error(_("文件读取时间过长（超过 {n} 秒），无法导入。请删除多余的空行、格式和其他工作表，"
                         "只保留成员单位数据后重新保存。").format(n=int(seconds)))


def _xlsx_rows(content: bytes, deadline: float) -> Iterator[tuple[int, list[str]]]:
    """(Excel row number, cell texts) for each non-blank row of the first worksheet, up to the
    first MAX_BLANK_RUN blank rows in a row."""
    not_workbook = _("文件不是有效的 .xlsx 工作簿，可能已损坏或设置了打开密码。请在 Excel 中打开后另存为 .xlsx 再导入。")
    if not content.startswith(b"PK"):
        if content.startswith(b"\xd0\xcf\x11\xe0"):
            raise _file_error(_("该文件是旧版 Excel（.xls）格式或设置了打开密码。请在 Excel 中另存为不加密的 .xlsx 再导入。"))
        raise _file_error(not_workbook)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _file_error(not_workbook) from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise _file_error(_("工作簿解压后内容过大（约 {size:.0f} MB，不能超过 {limit} MB），无法导入。"
                            "请删除多余的空行、格式和其他工作表，只保留成员单位数据后重新保存。")
                          .format(size=unzipped / 1024 / 1024, limit=MAX_UNZIPPED_BYTES // 1024 // 1024))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds of error for a damaged file; all mean "not a workbook"
        raise _file_error(not_workbook) from None
    try:
        if not workbook.worksheets:
            raise _file_error(not_workbook)
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        number = blank_run = 0
        while blank_run < MAX_BLANK_RUN:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception:  # noqa: BLE001 - read_only parses lazily: a damaged sheet fails here
                raise _file_error(not_workbook) from None
            number += 1
            if number % 256 == 0 and time.monotonic() > deadline:
                raise TimeoutError  # read_rows turns it into the message
            # openpyxl fills gaps with blank rows and Excel styles whole empty rows: a sheet whose
            # last styled row is 1048576 yields a million of them, so skip them at C speed before
            # converting anything, and stop after a long run of them: no list has such gaps.
            if values.count(None) == len(values):
                blank_run += 1
                continue
            texts = [_cell_text(v) for v in values]
            if any(texts):
                blank_run = 0
                yield number, texts
            else:
                blank_run += 1
    finally:
        workbook.close()


def _decode_csv(content: bytes) -> str:
    if content.startswith(b"PK\x03\x04"):
        raise _file_error(_("该文件实际上是 Excel 工作簿，请把扩展名改为 .xlsx，或在 Excel 中另存为 CSV 后再导入。"))
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)  # Excel's "Unicode text" export
    else:
        # UTF-8 (with or without BOM) first: GB18030 would "decode" UTF-8 bytes into nonsense.
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if CONTROL_CHARS.search(text):
            break  # control characters: a binary file renamed to .csv
        return text
    raise _file_error(_("文件不是可识别的 CSV 文本（应为 UTF-8 或 GBK 编码的逗号分隔文件）。"
                        "请在 Excel 中选择“另存为”→“CSV UTF-8（逗号分隔）”后再导入。"))


def _csv_rows(content: bytes, deadline: float) -> Iterator[tuple[int, list[str]]]:
    """(record number, cell texts) for each non-blank CSV record; a record is a row in Excel."""
    text = _decode_csv(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, values in enumerate(reader, start=1):
            if number % 256 == 0 and time.monotonic() > deadline:
                raise TimeoutError  # read_rows turns it into the message
            texts = [v.strip() for v in values[:MAX_COLUMNS]]
            if any(texts):
                yield number, texts
    except csv.Error:
        raise _file_error(_("第 {n} 行的 CSV 格式有误（例如引号不成对或单元格内容过长），请检查后重新导入。")
                          .format(n=reader.line_num)) from None


def _header_fields(header: list[str]) -> dict[int, str]:
    """Column index -> field; raises when columns are unknown, repeated or missing."""
    by_text: dict[str, str] = {}
    for name, label in HEADERS.items():
        by_text[label] = name
        by_text[name] = name
    columns: dict[int, str] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    for index, raw in enumerate(header):
        text = raw.replace(" ", "").replace("\u3000", "").rstrip("*＊")
        if not text:
            continue  # an empty header cell: the column is ignored
        known = by_text.get(text)
        if known is None:
            unknown.append(raw)
        elif known in columns.values():
            repeated.append(raw)
        else:
            columns[index] = known
    missing = [HEADERS[n] for n in REQUIRED_HEADERS if n not in columns.values()]
    problems = []
    if unknown:
        problems.append(_("无法识别的表头：{names}。").format(names="、".join(f"“{t}”" for t in unknown)))
    if repeated:
        problems.append(_("表头重复：{names}。").format(names="、".join(f"“{t}”" for t in repeated)))
    if missing:
        problems.append(_("缺少必需的表头：{names}。").format(names="、".join(f"“{t}”" for t in missing)))
    if problems:
        expected = "、".join(HEADERS.values())
        problems.append(_("第一行应为表头：{expected}（可下载导入模板对照）。").format(expected=expected))
        raise _file_error("".join(problems))
    return columns


def read_rows(filename: str, content: bytes, max_seconds: float | None = None) -> list[tuple[int, dict[str, str]]]:
    """(Excel row number, field -> text) for each non-blank data row; whole-file problems raise.
    CPU-bound: called through `read_rows_in_worker` from the server."""
    seconds = MAX_PARSE_SECONDS if max_seconds is None else max_seconds
    try:
        return _read_rows(filename, content, time.monotonic() + seconds)
    except TimeoutError:
        raise _too_slow(seconds) from None


def _read_rows(filename: str, content: bytes, deadline: float) -> list[tuple[int, dict[str, str]]]:
    if not content:
        raise _file_error(_("文件是空的，请选择填好的导入文件。"))
    if len(content) > MAX_BYTES:
        size = len(content) / 1024 / 1024
        raise _file_error(_("文件不能超过 2 MB（所选文件约 {size:.1f} MB），请分批导入。").format(size=size))
    suffix = PureWindowsPath(filename).suffix.lower()
    if suffix == ".xls":
        raise _file_error(_("不支持旧版 Excel（.xls）文件。请在 Excel 中“另存为” .xlsx 后再导入。"))
    if suffix not in EXTENSIONS:
        raise _file_error(_("只能导入 .xlsx 或 .csv 文件。"))
    source = _xlsx_rows(content, deadline) if suffix == ".xlsx" else _csv_rows(content, deadline)
    columns: dict[int, str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for number, values in source:
        if columns is None:
            columns = _header_fields(values)
            continue
        if len(rows) == MAX_ROWS:
            raise _file_error(_("文件中的数据超过 {n} 行，请拆分成多个文件分批导入。").format(n=MAX_ROWS))
        rows.append((number, {name: values[i] if i < len(values) else "" for i, name in columns.items()}))
    if columns is None:
        raise _file_error(_("文件中没有内容。第一行应为表头，从第二行起每行一个成员单位。"))
    if not rows:
        raise _file_error(_("文件中只有表头，没有成员单位数据。"))
    return rows


async def read_rows_in_worker(filename: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """`read_rows` in a worker process (conference.workers): parsing a workbook is seconds of CPU
    that, even in a thread, would slow every other request of this process."""
    # The limit is passed along: the worker process has its own copy of this module's settings.
    return await workers.run(read_rows, filename, content, MAX_PARSE_SECONDS)


# ---------------------------------------------------------------- validating and writing


def _kind_code(text: str) -> str:
    by_label = {label: code for code, label in KIND_LABELS.items()}
    return by_label.get(text, text)  # a code (department ...) passes as itself; anything else fails as a choice


async def import_units(actor: Actor, filename: str, content: bytes, conference_id: int | None) -> ImportReport:
    report = ImportReport(filename=PureWindowsPath(filename).name)
    if conference_id is not None:
        try:
            conference = await services.require_visible_conference(actor, conference_id)
        except NotFound:
            raise ValidationFailed({"conference": _("所选联席会议不存在，或您无权操作。")}) from None
        report.conference = {"id": conference["id"], "name": conference["name"]}
    rows = await read_rows_in_worker(filename, content)
    report.rows = len(rows)

    # One read transaction for the checks: a snapshot, and one connection instead of one per query.
    async with db.engine().transaction():
        valid = await _check_rows(report, rows)
    await _write(actor, report, valid, conference_id)
    return report


async def _check_rows(report: ImportReport, rows: list[tuple[int, dict[str, str]]]) -> list[_Valid]:
    """Validates each row like the unit form does, plus parents by name and repeats within the file;
    rejected rows go into the report, valid ones are returned in file order."""
    existing = {r["name"]: r["id"] for r in await MemberUnit.select(MemberUnit.id, MemberUnit.name)}
    first_row_of: dict[str, int] = {}  # name -> the first row of this file that used it
    accepted: set[str] = set()
    rejected_rows: dict[str, int] = {}
    valid: list[_Valid] = []
    for number, data in rows:
        name = data.get("name", "").strip()
        parent_name = data.get("parent_unit", "").strip()
        raw_kind = data.get("kind", "").strip()
        problems: dict[str, list[str]] = {}
        parent_in_file: str | None = None
        form_data = {**data, "kind": _kind_code(raw_kind), "parent_unit": ""}
        if parent_name:
            if parent_name in existing:
                form_data["parent_unit"] = str(existing[parent_name])
            elif parent_name == name:
                problems["parent_unit"] = [_("上级单位不能是本单位。")]
            elif parent_name in accepted:
                parent_in_file = parent_name
            elif parent_name in rejected_rows:
                problems["parent_unit"] = [_("上级单位“{name}”（第 {n} 行）未能导入，请先修正那一行。")
                                           .format(name=parent_name, n=rejected_rows[parent_name])]
            else:
                problems["parent_unit"] = [_("找不到上级单位“{name}”：应为系统中已有的单位，或本文件中排在前面的单位。")
                                           .format(name=parent_name)]
        values, _version, form = await services.unit_values(form_data, None)
        for key, message in form.errors.items():
            if key == "kind" and raw_kind:
                message = _("单位类别“{value}”无效，应为：{choices}。").format(
                    value=raw_kind, choices="、".join(KIND_LABELS.values()))
            elif key == "name" and name in existing:
                message = _("系统中已有同名成员单位（可能已经导入过）。")
            problems.setdefault(key, []).insert(0, message)
        if name and name in first_row_of:
            problems.setdefault("name", []).append(_("与本文件第 {n} 行的单位名称重复。").format(n=first_row_of[name]))
        if name:
            first_row_of.setdefault(name, number)
        if problems:
            reasons = [m for key in (*UNIT_FIELDS, *sorted(problems.keys() - set(UNIT_FIELDS))) for m in problems.get(key, [])]
            report.rejected.append(RejectedRow(number, name, reasons))
            if name:
                rejected_rows.setdefault(name, number)
            continue
        accepted.add(name)
        valid.append(_Valid(number, values, parent_in_file))
    return valid


async def _write(actor: Actor, report: ImportReport, valid: list[_Valid], conference_id: int | None) -> None:
    created_on = today()
    try:
        async with db.atomic():
            names = [v.values["name"] for v in valid]
            for start in range(0, len(names), 500):
                taken = await MemberUnit.select(MemberUnit.name).where(MemberUnit.name.is_in(names[start:start + 500]))
                if taken:
                    raise _concurrent()
            ids: dict[str, int] = {}
            for item in valid:
                values = {**item.values, "owner_conference": services.owner_of(actor), "created_at": now()}
                if item.parent_in_file is not None:
                    values["parent_unit"] = ids[item.parent_in_file]
                unit_id = await insert_audited(actor, MemberUnit, "member_unit", values, conference_id=conference_id)
                ids[values["name"]] = unit_id
                if conference_id is not None:
                    membership = {"unit": unit_id, "conference": conference_id, "start_date": created_on, "end_date": None}
                    await insert_audited(actor, Membership, "membership", membership, conference_id=conference_id)
                report.created.append(CreatedUnit(item.row, unit_id, values["name"]))
            await record(actor, "import", "member_unit", 0, conference_id=conference_id, after={
                "filename": report.filename, "rows": report.rows, "created": len(report.created),
                "rejected": len(report.rejected), "rejected_rows": [r.row for r in report.rejected][:200],
                "conference_id": conference_id,
            })
    except (sqlite3.IntegrityError, asyncpg.UniqueViolationError):
        report.created.clear()
        raise _concurrent() from None


def _concurrent() -> Conflict:
    return Conflict(_("导入过程中有其他人新增了同名的成员单位，本次没有导入任何单位。请重新上传文件。"))


# ---------------------------------------------------------------- the template workbook


def template_workbook() -> bytes:
    """The import template: the header row, one example row, frozen header, a list for 单位类别."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("成员单位")
    names = list(HEADERS)
    sheet.append([HEADERS[n] for n in names])
    sheet.append([EXAMPLE_ROW[n] for n in names])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F2F2F2")
    for index, name in enumerate(names, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        cell.fill = fill
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = COLUMN_WIDTHS[name]
        if name == "liaison_phone":
            sheet.column_dimensions[letter].number_format = "@"  # phone numbers stay text, leading 0 kept
        if name == "duties":
            sheet.cell(row=2, column=index).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    kind_column = sheet.cell(row=1, column=names.index("kind") + 1).column_letter
    choices = DataValidation(type="list", formula1='"{}"'.format(",".join(KIND_LABELS.values())), allow_blank=False,
                             showErrorMessage=True, errorTitle=_("单位类别"),
                             error=_("请从列表中选择：{choices}").format(choices="、".join(KIND_LABELS.values())))
    choices.add(f"{kind_column}2:{kind_column}{MAX_ROWS + 1}")
    sheet.add_data_validation(choices)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
