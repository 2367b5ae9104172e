"""The file an office uploads to import member units: its columns, its limits, reading an .xlsx
workbook or a .csv file into rows, and the template workbook to fill in.

The format: the first non-blank row of the first worksheet is the header; blank rows are skipped;
the columns may come in any order; only 单位名称 and 单位类别 are required columns.

Problems with the file as a whole (size, type, encoding, damaged workbook, headers, no data or too
many rows) raise ValidationFailed for the field "file": a 400 with one Chinese message.

Reading is bounded and happens off the event loop (`read_rows_in_worker`), so other requests keep
being answered. A workbook is refused before parsing when its parts unzip to more than
MAX_UNZIPPED_BYTES (a small .xlsx can hold tens of MB of styled empty rows); reading stops at the
first MAX_BLANK_RUN blank rows in a row (Excel's "used range" often runs to row 1048576), and a
file that still takes more than MAX_PARSE_SECONDS to read is refused with a message.

What the rows mean (checking them like the unit form, writing the units) is
conference.registry.importer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import PureWindowsPath
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from conference import workers
from conference.errors import ValidationFailed
from conference.i18n import gettext as _
from conference.registry.services import KIND_LABELS

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


def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed({"file": message}, _("文件无法导入，请按提示修改后重新上传。"))


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
