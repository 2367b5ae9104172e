"""Ledgers (台账) of agenda items, resolutions and tasks, the way offices keep them: one column list
per ledger drives the table on screen, the .xlsx and the CSV, so the three always hold the same
rows and columns. Also the assessment sheet (考核) as .xlsx.

Excel: Chinese headers in a bold, frozen first row, column widths, dates as real date cells with
the format yyyy"年"m"月"d"日". CSV: UTF-8 with a BOM (so that Excel opens the Chinese correctly),
dates as 2026-11-29, which Excel reads as dates in every locale. User text is never run as a
formula: text cells stay text in Excel, and in the CSV a text starting with = + - @ gets a leading '.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from conference.agenda.services import CATEGORY_LABELS as ITEM_CATEGORY_LABELS
from conference.agenda.services import STATUS_LABELS as ITEM_STATUS_LABELS
from conference.agenda.services import URGENCY_LABELS
from conference.i18n import gettext as _
from conference.tasks.services import RATING_LABELS, ROLE_LABELS
from conference.tasks.services import STATUS_LABELS as TASK_STATUS_LABELS
from conference.timefmt import cn_date, local

DATE_FORMAT = 'yyyy"年"m"月"d"日"'
PERCENT_FORMAT = "0.0%"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = 100_000  # rows per export; more asks the user to narrow the filters


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text | int | date
    width: int = 14  # Excel column width (characters; a Chinese character counts about 2)


@dataclass(frozen=True)
class Ledger:
    kind: str
    title: str
    columns: tuple[Column, ...]
    statuses: dict[str, str]
    date_label: str  # what the date range filters on


RESOLUTION_STATES = {"open": _("办理中"), "done": _("已办结")}

LEDGERS = {
    "items": Ledger("items", _("议题台账"), (
        Column("id", _("编号"), "int", 8),
        Column("title", _("议题名称"), width=36),
        Column("street_name", _("提请街道"), width=14),
        Column("conference_name", _("联席会议"), width=30),
        Column("category", _("类别"), width=10),
        Column("urgency", _("紧急程度"), width=10),
        Column("units", _("提请协调单位"), width=36),
        Column("status", _("状态"), width=16),
        Column("submitted", _("提交日期"), "date", 16),
        Column("meetings_waited", _("已等待会议次数"), "int", 14),
    ), {k: v for k, v in ITEM_STATUS_LABELS.items() if k != "draft"}, _("提交日期")),
    "resolutions": Ledger("resolutions", _("议定事项台账"), (
        Column("id", _("编号"), "int", 8),
        Column("meeting_title", _("会议"), width=26),
        Column("meeting_date", _("会议日期"), "date", 16),
        Column("item_title", _("议题"), width=30),
        Column("street_name", _("提请街道"), width=14),
        Column("text", _("议定事项"), width=48),
        Column("lead_unit_name", _("牵头单位"), width=22),
        Column("cooperating", _("配合单位"), width=36),
        Column("deadline", _("办结期限"), "date", 16),
        Column("conference_name", _("联席会议"), width=30),
        Column("progress", _("销号进度"), width=12),
        Column("status", _("状态"), width=10),
    ), RESOLUTION_STATES, _("议定日期")),
    "tasks": Ledger("tasks", _("督办任务台账"), (
        Column("id", _("编号"), "int", 8),
        Column("item_title", _("议题"), width=30),
        Column("resolution_text", _("议定事项"), width=48),
        Column("unit_name", _("承办单位"), width=22),
        Column("role", _("承办角色"), width=10),
        Column("conference_name", _("联席会议"), width=30),
        Column("street_name", _("街道"), width=14),
        Column("assigned", _("交办日期"), "date", 16),
        Column("ack_due", _("签收时限"), "date", 16),
        Column("acknowledged", _("签收日期"), "date", 16),
        Column("deadline", _("办结期限"), "date", 16),
        Column("status", _("状态"), width=10),
        Column("closed", _("销号日期"), "date", 16),
        Column("rating", _("街道评价"), width=10),
    ), dict(TASK_STATUS_LABELS), _("交办日期")),
}


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


def present(kind: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of `views.ledger_rows` as the ledger's cells: labels instead of codes, local dates."""
    result = []
    for r in rows:
        if kind == "items":
            cells = {
                "id": r["id"], "title": r["title"], "street_name": r["street_name"] or _("（办公室提出）"),
                "conference_name": r["conference_name"], "category": ITEM_CATEGORY_LABELS.get(r["category"], r["category"]),
                "urgency": URGENCY_LABELS.get(r["urgency"], r["urgency"]), "units": r["units"] or "",
                "status": ITEM_STATUS_LABELS.get(r["status"], r["status"]), "submitted": _day(r["submitted_at"]),
                "meetings_waited": r["meetings_waited"],
            }
        elif kind == "resolutions":
            open_tasks, tasks, closed = int(r["open_tasks"]), int(r["tasks"]), int(r["closed_tasks"])
            cells = {
                "id": r["id"], "meeting_title": r["meeting_title"], "meeting_date": _day(r["meeting_at"]),
                "item_title": r["item_title"], "street_name": r["street_name"] or _("（办公室提出）"), "text": r["text"],
                "lead_unit_name": r["lead_unit_name"], "cooperating": r["cooperating"] or "", "deadline": _day(r["deadline"]),
                "conference_name": r["conference_name"], "progress": f"{closed}/{tasks}",
                "status": RESOLUTION_STATES["open" if open_tasks else "done"],
            }
        else:
            cells = {
                "id": r["id"], "item_title": r["item_title"], "resolution_text": r["resolution_text"],
                "unit_name": r["unit_name"], "role": ROLE_LABELS.get(r["role"], r["role"]), "conference_name": r["conference_name"],
                "street_name": r["street_name"] or _("（办公室提出）"), "assigned": _day(r["assigned_at"]),
                "ack_due": _day(r["ack_due"]), "acknowledged": _day(r["acknowledged_at"]), "deadline": _day(r["deadline"]),
                "status": TASK_STATUS_LABELS.get(r["status"], r["status"]), "closed": _day(r["closed_at"]),
                "rating": RATING_LABELS.get(r["rating"], r["rating"] or ""),
            }
        result.append(cells)
    return result


def cell_text(value: Any) -> str:
    """How a cell reads on screen: dates as 2026年11月29日, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return cn_date(value)
    return str(value)


# ---------------------------------------------------------------- files


def _sheet_title(title: str) -> str:
    for ch in '[]:*?/\\':
        title = title.replace(ch, "")
    return title[:31] or "Sheet1"


def xlsx_bytes(title: str, columns: Sequence[Column], rows: Iterable[dict[str, Any]],
               formats: dict[str, str] | None = None) -> bytes:
    """A workbook with one sheet: bold frozen header, widths, typed cells (write-only: constant
    memory whatever the number of rows)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(title))
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.font = bold
        cell.alignment = Alignment(vertical="center")
        header.append(cell)
    ws.append(header)
    for row in rows:
        out: list[Any] = []
        for col in columns:
            value = row.get(col.key)
            if col.kind == "date" and value is not None:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = DATE_FORMAT
                out.append(cell)
            elif formats and col.key in formats and value is not None:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = formats[col.key]
                out.append(cell)
            elif isinstance(value, str) and value.startswith("="):
                # openpyxl would store user text starting with "=" as a formula: keep it text.
                cell = WriteOnlyCell(ws, value=value)
                cell.data_type = "s"
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(column: Column, value: Any) -> Any:
    if value is None:
        return ""
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
