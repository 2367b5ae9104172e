"""Ledgers (台账) of agenda items, resolutions and tasks, the way offices keep them: one column list
per ledger drives the table on screen, the .xlsx and the CSV, so the three always hold the same
rows and columns.

Ledgers are kept to be printed and handed over: 序号 instead of database ids (tasks and resolutions
carry the reference the office uses, "2026年第1次全体会议第2项"), the latest progress report, days
overdue as of the cut-off date (截至日期), the approved extension, the street's rating and comment,
and deadlines counted on weekdays only marked （暂定）. This module turns the rows read by
conference.supervision.ledger_sql into those cells and headings; how a table becomes an .xlsx or a
CSV file is conference.spreadsheets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conference.agenda.states import CATEGORY_LABELS as ITEM_CATEGORY_LABELS
from conference.agenda.states import ITEM_STATUS_LABELS, URGENCY_LABELS
from conference.i18n import gettext as _
from conference.spreadsheets import Column, Heading, Tentative, csv_bytes, xlsx_bytes
from conference.tasks.states import RATING_LABELS, ROLE_LABELS, TASK_STATUS_LABELS
from conference.timefmt import cn_date, local, today

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = 100_000  # rows per export; more asks the user to narrow the filters


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


def ledger_xlsx(ledger: Ledger, rows: list[dict[str, Any]], cutoff: dt.date, heading: Heading) -> bytes:
    """The ledger's rows as read from the database, labelled and laid out: run in a worker process
    (conference.workers), since 60,000 rows are seconds of CPU."""
    return xlsx_bytes(ledger.title, ledger.columns, present(ledger.kind, rows, cutoff), heading=heading)


def ledger_csv(ledger: Ledger, rows: list[dict[str, Any]], cutoff: dt.date) -> bytes:
    return csv_bytes(ledger.columns, present(ledger.kind, rows, cutoff))
