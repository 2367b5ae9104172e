"""A table as a file people print or open in a spreadsheet: a typed column list (Column), an
optional heading (title, period line, notes), and the writers for .xlsx and CSV. No domain here:
the ledgers (conference.supervision.ledgers) and the audit log export use it.

Excel: a title row, a subtitle line, a bold header row frozen and repeated on every printed page,
thin borders and wrapped text, landscape A4 fitted to the page width, the notes (注) below the
table; dates as real date cells with the format yyyy"年"m"月"d"日". CSV: UTF-8 with a BOM (so that
Excel opens the Chinese correctly), dates as 2026-11-29, which Excel reads as dates in every
locale. User text is never run as a formula: text cells stay text in Excel, and in the CSV a text
starting with = + - @ gets a leading '.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from conference.i18n import gettext as _
from conference.timefmt import cn_date

DATE_FORMAT = 'yyyy"年"m"月"d"日"'


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text | int | date
    width: float = 14  # Excel column width (characters; a Chinese character counts about 2)


class Tentative(dt.date):
    """A provisional date (暂定), such as a deadline counted on weekdays only because the year's
    holidays are not entered yet (Resolution.deadline_provisional): it reads 2027年1月15日（暂定）
    on screen, in the .xlsx and (as 2027-01-15（暂定）) in the CSV."""

    @classmethod
    def of(cls, day: dt.date | None, provisional: Any) -> dt.date | None:
        return cls(day.year, day.month, day.day) if day is not None and provisional else day


@dataclass(frozen=True)
class Heading:
    """What a printed table says above and below it: the title row, the line with the period and
    the cut-off date (截至日期), and the notes (注) after the last row."""

    title: str
    subtitle: str = ""
    notes: tuple[str, ...] = ()


def _sheet_title(title: str) -> str:
    for ch in '[]:*?/\\':
        title = title.replace(ch, "")
    return title[:31] or "Sheet1"


THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(vertical="top", wrap_text=True)
CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
HEADER_FILL = PatternFill("solid", fgColor="E7ECF3")
BODY_FONT = Font(size=10)
LINE_HEIGHT = 13.5  # points per line of 10 pt text


def _lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide (a Chinese character counts 2)."""
    room = max(1.0, width - 1.5) * 1.1  # 10 pt text in columns measured in 11 pt characters
    total = 0
    for part in text.split("\n"):
        used = sum(2 if ord(ch) > 0x2E7F else 1 for ch in part)
        total += max(1, -(-used // int(room)))
    return total


def _print_setup(ws: Any, n_columns: int, header_row: int) -> None:
    """Landscape A4, fit to the page width (as many pages down as needed), the header row repeated
    on every page, centred, narrow margins, page numbers in the footer."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4 (ECMA-376 ST_PaperSize)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.freeze_panes = f"A{header_row + 1}"


def xlsx_bytes(title: str, columns: Sequence[Column], rows: Iterable[dict[str, Any]],
               formats: dict[str, str] | None = None, heading: Heading | None = None) -> bytes:
    """A workbook with one sheet ready to print: an optional title row, subtitle line (period,
    截至日期) and notes (`heading`); a bold header row repeated on every printed page; typed cells
    (real dates, numbers) with thin borders and wrapped text; landscape A4 fitted to the width.
    Write-only: constant memory whatever the number of rows."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(title))
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    header_row = 3 if heading else 1
    _print_setup(ws, len(columns), header_row)  # before the first row: sheetPr and sheetViews precede sheetData
    if heading:
        # The title centred across the table's width without merged cells (write-only sheets
        # cannot merge): "centre across selection" on the row's cells.
        for text, font in ((heading.title, Font(bold=True, size=16)), (heading.subtitle, Font(size=10))):
            line = []
            for i in range(len(columns)):
                cell = WriteOnlyCell(ws, value=text if i == 0 else None)
                cell.font = font
                cell.alignment = Alignment(horizontal="centerContinuous", vertical="center")
                line.append(cell)
            ws.append(line)
    bold = Font(bold=True, size=10)
    ws.row_dimensions[header_row].height = 2 * LINE_HEIGHT + 4  # headers wrap to two lines in narrow columns
    header = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.font = bold
        cell.alignment = HEADER_ALIGN
        cell.border = BORDER
        cell.fill = HEADER_FILL
        header.append(cell)
    ws.append(header)
    # Assigning a font, border or alignment to a cell makes openpyxl hash and look up the style
    # each time (60% of the time of a large export, measured): each distinct style is built once
    # here and copied onto the cells.
    styles: dict[tuple[str, str | None], Any] = {}

    def style(col: Column, number_format: str | None) -> Any:
        key = (col.kind, number_format)
        if key not in styles:
            model = WriteOnlyCell(ws)
            model.border = BORDER
            model.font = BODY_FONT
            model.alignment = WRAP if col.kind == "text" else CENTER
            if number_format:
                model.number_format = number_format
            styles[key] = model._style
        return copy.copy(styles[key])

    row_index = header_row
    for row in rows:
        out: list[Any] = []
        lines = 1
        for col in columns:
            value = row.get(col.key)
            if isinstance(value, Tentative):  # a date format this long would not fit the column: two lines of text
                value = cn_date(value) + "\n" + _("（暂定）")
            cell = WriteOnlyCell(ws, value=value)
            number_format = None
            if isinstance(value, str):
                if value.startswith("="):
                    cell.data_type = "s"  # openpyxl would store user text starting with "=" as a formula: keep it text.
                lines = max(lines, _lines(value, col.width))
            if value is not None and not isinstance(value, str):
                if col.kind == "date":
                    number_format = DATE_FORMAT
                elif formats and col.key in formats:
                    number_format = formats[col.key]
            cell._style = style(col, number_format)
            out.append(cell)
        row_index += 1
        # Spreadsheet programs do not all grow a row to its wrapped text on opening (LibreOffice
        # keeps the default height): the height is set from an estimate of the lines.
        ws.row_dimensions[row_index].height = min(409, LINE_HEIGHT * lines + 3)
        ws.append(out)
    if heading and heading.notes:
        ws.append([])
        for note in (_("注："), *heading.notes):
            cell = WriteOnlyCell(ws, value=note)
            cell.font = Font(size=9)
            ws.append([cell])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(column: Column, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Tentative):
        return value.isoformat() + _("（暂定）")
    if column.kind == "date":
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # text that a spreadsheet would run as a formula (CSV injection, OWASP)
    return value


def csv_bytes(columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with BOM, CRLF line ends (RFC 4180), dates as YYYY-MM-DD."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([_csv_value(c, row.get(c.key)) for c in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
