"""Ledgers (台账) of agenda items, resolutions and tasks, the way offices keep them: one column list
per ledger drives the table on screen, the .xlsx and the CSV, so the three always hold the same
rows and columns. Also the assessment sheet (考核) as .xlsx.

Ledgers are kept to be printed and handed over: 序号 instead of database ids (tasks and resolutions
carry the reference the office uses, "2026年第1次全体会议第2项"), the latest progress report, days
overdue as of the cut-off date (截至日期), the approved extension, the street's rating and comment,
and deadlines counted on weekdays only marked （暂定）.

Excel: a title row (conference and ledger), a line with the period and the cut-off date, a bold
header row frozen and repeated on every printed page, thin borders and wrapped text, landscape A4
fitted to the page width, the rules (注) below the table; dates as real date cells with the format
yyyy"年"m"月"d"日". CSV: UTF-8 with a BOM (so that Excel opens the Chinese correctly),
dates as 2026-11-29, which Excel reads as dates in every locale. User text is never run as a
formula: text cells stay text in Excel, and in the CSV a text starting with = + - @ gets a leading '.
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

from conference.agenda.states import CATEGORY_LABELS as ITEM_CATEGORY_LABELS
from conference.agenda.states import STATUS_LABELS as ITEM_STATUS_LABELS
from conference.agenda.states import URGENCY_LABELS
from conference.i18n import gettext as _
from conference.tasks.states import RATING_LABELS, ROLE_LABELS
from conference.tasks.states import STATUS_LABELS as TASK_STATUS_LABELS
from conference.timefmt import cn_date, local, today

DATE_FORMAT = 'yyyy"年"m"月"d"日"'
PERCENT_FORMAT = "0.0%"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = 100_000  # rows per export; more asks the user to narrow the filters


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text | int | date
    width: float = 14  # Excel column width (characters; a Chinese character counts about 2)


@dataclass(frozen=True)
class Ledger:
    kind: str
    title: str
    columns: tuple[Column, ...]
    statuses: dict[str, str]
    date_label: str  # what the date range filters on


RESOLUTION_STATES = {"open": _("办理中"), "done": _("已办结")}
SEQ = Column("seq", _("序号"), "int", 4.5)

LEDGERS = {
    "items": Ledger("items", _("议题台账"), (
        SEQ,
        Column("title", _("议题名称"), width=30),
        Column("street_name", _("提请街道"), width=11),
        Column("conference_name", _("联席会议"), width=18),
        Column("category", _("类别"), width=9),
        Column("urgency", _("紧急程度"), width=7),
        Column("units", _("提请协调单位"), width=26),
        Column("status", _("状态"), width=9),
        Column("submitted", _("提交日期"), "date", 14),
        Column("age", _("已提交天数"), "int", 7),
        Column("meetings_waited", _("已等待会议次数"), "int", 8),
    ), {k: v for k, v in ITEM_STATUS_LABELS.items() if k != "draft"}, _("提交日期")),
    "resolutions": Ledger("resolutions", _("议定事项台账"), (
        SEQ,
        Column("ref", _("会议及议定事项编号"), width=18),
        Column("meeting_date", _("会议日期"), "date", 14),
        Column("item_title", _("议题"), width=22),
        Column("street_name", _("提请街道"), width=11),
        Column("text", _("议定事项"), width=36),
        Column("lead_unit_name", _("牵头单位"), width=16),
        Column("cooperating", _("配合单位"), width=24),
        Column("deadline", _("办结期限"), "date", 14),
        Column("conference_name", _("联席会议"), width=18),
        Column("progress", _("销号进度"), width=7),
        Column("status", _("状态"), width=8),
    ), RESOLUTION_STATES, _("议定日期")),
    "tasks": Ledger("tasks", _("督办任务台账"), (
        SEQ,
        Column("ref", _("会议及议定事项编号"), width=12),
        Column("item_title", _("议题"), width=14),
        Column("resolution_text", _("议定事项"), width=24),
        Column("unit_name", _("承办单位"), width=11),
        Column("role", _("承办角色"), width=6),
        Column("street_name", _("街道"), width=7),
        Column("conference_name", _("联席会议"), width=10),
        Column("assigned", _("交办日期"), "date", 12),
        Column("ack_due", _("签收时限"), "date", 12),
        Column("acknowledged", _("签收日期"), "date", 12),
        Column("deadline", _("办结期限"), "date", 12),
        Column("extension", _("延期"), width=11),
        Column("status", _("状态"), width=6),
        Column("progress", _("最新进展"), width=22),
        Column("overdue", _("逾期天数"), "int", 5),
        Column("closed", _("销号日期"), "date", 12),
        Column("rating", _("评价意见"), width=13),
    ), dict(TASK_STATUS_LABELS), _("交办日期")),
}

LEDGER_NOTES = {
    "items": (
        _("已提交天数：自提交日期至截至日期的自然日天数；已等待会议次数：议题被列入会议而未议结、顺延至下次会议的次数。"),
    ),
    "resolutions": (
        _("办结期限为现行期限；标注“（暂定）”的期限所涉年份的节假日安排尚未录入，暂按周一至周五计算工作日，录入后自动重算。"),
        _("销号进度：已销号任务数 / 任务总数（不含已撤销的任务）。"),
    ),
    "tasks": (
        _("逾期天数：截至日期（已销号的任务为销号日期）超过办结期限的自然日天数；办结期限为现行期限，经批准延期的按延期后的日期计算；未逾期或已撤销的任务不计。"),
        _("办结期限标注“（暂定）”的，所涉年份的节假日安排尚未录入，暂按周一至周五计算工作日，录入后自动重算。"),
        _("最新进展：承办单位最近一次报送的进展或办结情况及其日期。"),
    ),
}
PROGRESS_CHARS = 200  # the latest report is cut to this many characters in the ledger


class Tentative(dt.date):
    """A deadline counted on weekdays only (暂定, see Resolution.deadline_provisional): a date that
    reads 2027年1月15日（暂定） on screen, in the .xlsx and (as 2027-01-15（暂定）) in the CSV."""

    @classmethod
    def of(cls, day: dt.date | None, provisional: Any) -> dt.date | None:
        return cls(day.year, day.month, day.day) if day is not None and provisional else day


def _day(value: Any) -> dt.date | None:
    """A local calendar date from a date column or a timestamp (aware datetime, or SQLite text)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return local(value).date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return local(dt.datetime.fromisoformat(text)).date()


def overdue_days(deadline: dt.date | None, status: str, closed: dt.date | None, cutoff: dt.date) -> int | None:
    """Calendar days past the (current) deadline as of the cut-off date, or the closing date for a
    closed task; None when not overdue or cancelled (rule in LEDGER_NOTES)."""
    if deadline is None or status == "cancelled":
        return None
    end = closed if status == "closed" else cutoff
    if end is None:
        return None
    days = (end - deadline).days
    return days if days > 0 else None


def _extension(r: dict[str, Any]) -> str:
    day = _day(r["extension_deadline"])
    if not r["extension_status"] or day is None:
        return ""
    if r["extension_status"] == "approved":
        return _("已批准延期至{d}").format(d=cn_date(day))
    if r["extension_status"] == "requested":
        return _("申请延期至{d}（待审批）").format(d=cn_date(day))
    return _("申请延期至{d}，未获同意").format(d=cn_date(day))


def _progress(r: dict[str, Any]) -> str:
    text = " ".join((r["progress_text"] or "").split())
    if not text:
        return ""
    if len(text) > PROGRESS_CHARS:
        text = text[:PROGRESS_CHARS - 1] + "…"
    return f"{cn_date(_day(r['progress_at']))}：{text}"


def _rating(r: dict[str, Any]) -> str:
    label = RATING_LABELS.get(r["rating"], r["rating"] or "")
    comment = " ".join((r["rating_comment"] or "").split())
    return f"{label}：{comment}" if label and comment else label


def present(kind: str, rows: Iterable[dict[str, Any]], cutoff: dt.date | None = None, *,
            first: int = 1) -> list[dict[str, Any]]:
    """Rows of `views.ledger_rows` as the ledger's cells: labels instead of codes, local dates,
    序号 counted from `first`, days overdue and ages as of `cutoff` (today by default). The
    database id stays in the row (key "id", not a column) for the links on screen."""
    cutoff = cutoff or today()
    result = []
    for seq, r in enumerate(rows, start=first):
        if kind == "items":
            submitted = _day(r["submitted_at"])
            cells = {
                "title": r["title"], "street_name": r["street_name"] or _("（办公室提出）"),
                "conference_name": r["conference_name"], "category": ITEM_CATEGORY_LABELS.get(r["category"], r["category"]),
                "urgency": URGENCY_LABELS.get(r["urgency"], r["urgency"]), "units": r["units"] or "",
                "status": ITEM_STATUS_LABELS.get(r["status"], r["status"]), "submitted": submitted,
                "age": max(0, (cutoff - submitted).days) if submitted else None, "meetings_waited": r["meetings_waited"],
            }
        elif kind == "resolutions":
            open_tasks, tasks, closed = int(r["open_tasks"]), int(r["tasks"]), int(r["closed_tasks"])
            cells = {
                "ref": _("{meeting}第{n}项").format(meeting=r["meeting_title"], n=r["number"]),
                "meeting_date": _day(r["meeting_at"]), "item_title": r["item_title"],
                "street_name": r["street_name"] or _("（办公室提出）"), "text": r["text"],
                "lead_unit_name": r["lead_unit_name"], "cooperating": r["cooperating"] or "",
                "deadline": Tentative.of(_day(r["deadline"]), r["deadline_provisional"]),
                "conference_name": r["conference_name"], "progress": f"{closed}/{tasks}",
                "status": RESOLUTION_STATES["open" if open_tasks else "done"],
            }
        else:
            deadline, closed_day = _day(r["deadline"]), _day(r["closed_at"])
            cells = {
                "ref": _("{meeting}第{n}项").format(meeting=r["meeting_title"], n=r["resolution_number"]),
                "item_title": r["item_title"], "resolution_text": r["resolution_text"],
                "unit_name": r["unit_name"], "role": ROLE_LABELS.get(r["role"], r["role"]), "conference_name": r["conference_name"],
                "street_name": r["street_name"] or _("（办公室提出）"), "assigned": _day(r["assigned_at"]),
                "ack_due": _day(r["ack_due"]), "acknowledged": _day(r["acknowledged_at"]),
                "deadline": Tentative.of(deadline, r["deadline_provisional"]), "extension": _extension(r),
                "status": TASK_STATUS_LABELS.get(r["status"], r["status"]), "progress": _progress(r),
                "overdue": overdue_days(deadline, r["status"], closed_day, cutoff), "closed": closed_day,
                "rating": _rating(r),
            }
        result.append({"id": r["id"], "seq": seq, **cells})
    return result


def cell_text(value: Any) -> str:
    """How a cell reads on screen: dates as 2026年11月29日 (暂定 ones with （暂定）), nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, Tentative):
        return cn_date(value) + _("（暂定）")
    if isinstance(value, dt.date):
        return cn_date(value)
    return str(value)


def date_parts(value: dt.date) -> tuple[str, ...]:
    """A date as the screen may break it: ("2026年", "11月29日（暂定）")."""
    text = cell_text(value)
    year, sep, rest = text.partition(_("年"))
    return (year + sep, rest) if sep else (text,)


@dataclass(frozen=True)
class Heading:
    """What a printed ledger says above and below its table: the title row, the line with the
    period and the cut-off date (截至日期), and the notes (注) after the last row."""

    title: str
    subtitle: str = ""
    notes: tuple[str, ...] = ()


def ledger_heading(ledger: Ledger, conference: str, start: dt.date | None, end: dt.date | None,
                   cutoff: dt.date, total: int) -> Heading:
    if start and end:
        period = _("{a}至{b}").format(a=cn_date(start), b=cn_date(end))
    elif start:
        period = _("{a}起").format(a=cn_date(start))
    elif end:
        period = _("截至{b}").format(b=cn_date(end))
    else:
        period = _("全部")
    subtitle = _("统计期间（按{label}）：{period}　　截至日期：{cutoff}　　共 {n} 条").format(
        label=ledger.date_label, period=period, cutoff=cn_date(cutoff), n=total)
    notes = tuple(_("{n}. {text}").format(n=i, text=t) for i, t in enumerate(LEDGER_NOTES[ledger.kind], start=1))
    return Heading(f"{conference}{ledger.title}", subtitle, notes)


# ---------------------------------------------------------------- files


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


def ledger_xlsx(ledger: Ledger, rows: list[dict[str, Any]], cutoff: dt.date, heading: Heading) -> bytes:
    """The ledger's rows as read from the database, labelled and laid out: run in a worker process
    (conference.workers), since 60,000 rows are seconds of CPU."""
    return xlsx_bytes(ledger.title, ledger.columns, present(ledger.kind, rows, cutoff), heading=heading)


def ledger_csv(ledger: Ledger, rows: list[dict[str, Any]], cutoff: dt.date) -> bytes:
    return csv_bytes(ledger.columns, present(ledger.kind, rows, cutoff))


# ---------------------------------------------------------------- the assessment sheet


ASSESSMENT_COLUMNS = (
    Column("name", _("单位名称"), width=26),
    Column("kind_label", _("单位类别"), width=12),
    Column("response", _("响应率"), width=10),
    Column("resolution", _("解决率"), width=10),
    Column("on_time", _("按期办结率"), width=12),
    Column("satisfaction", _("满意率"), width=10),
    Column("score", _("街道评价得分"), width=14),
    Column("weight", _("权重"), width=8),
    Column("contribution", _("折算分"), width=10),
)
ASSESSMENT_FORMATS = {"response": PERCENT_FORMAT, "resolution": PERCENT_FORMAT, "on_time": PERCENT_FORMAT,
                      "satisfaction": PERCENT_FORMAT, "weight": "0%", "score": "0.0", "contribution": "0.00"}


def assessment_cells(rows: Iterable[dict[str, Any]], kind_labels: dict[str, str]) -> list[dict[str, Any]]:
    return [{
        "name": r["name"], "kind_label": kind_labels.get(r["kind"], r["kind"]),
        **{m: r["rates"][m] for m in ("response", "resolution", "on_time", "satisfaction")},
        "score": r["score"], "weight": r["weight"], "contribution": r["contribution"],
    } for r in rows]
