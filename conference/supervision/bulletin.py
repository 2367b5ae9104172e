"""Printed supervision papers: the 督办通知单 of one task (PDF) and the periodic 督办通报 for a month or
a quarter (PDF and .xlsx). Presenters: plain contexts built from the supervision figures of
conference.supervision.views, .rates and .alerts (the same rates, rules and red / yellow lists as the dashboard, never
recomputed differently), then rendered like the minutes (conference.minutes.pdf: WeasyPrint with the
static-only URL fetcher, the fonts and the HarfBuzz subsetting)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.to_thread
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from piccolo.querystring import QueryString as Q

from conference.db import as_date, fetch
from conference.errors import ValidationFailed
from conference.i18n import gettext as _
from conference.minutes import pdf
from conference.supervision import rates, views
from conference.supervision.alerts import alerts
from conference.supervision.scope import Scope
from conference.supervision.sqlparts import scope_sql
from conference.tasks.services import ALERT_LABELS, alert
from conference.tasks.states import RATING_LABELS, ROLE_LABELS, TASK_STATUS_LABELS
from conference.timefmt import cn_date, cn_datetime

PERIOD_RE = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")
LIST_LIMIT = 300  # rows of the red and yellow lists in one bulletin; the totals are always complete
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- the period


@dataclass(frozen=True)
class BulletinPeriod:
    key: str  # 2026-11 | 2026-Q4
    label: str  # 2026年11月 | 2026年第四季度
    period: rates.Period


def parse_period(value: str | None, day: dt.date) -> BulletinPeriod:
    """"2026-11" (a month) or "2026-Q4" (a quarter); empty: the month before `day`'s."""
    text = (value or "").strip()
    if not text:
        last = day.replace(day=1) - dt.timedelta(days=1)
        text = f"{last.year}-{last.month:02d}"
    match = PERIOD_RE.match(text)
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ValidationFailed({"period": _("统计期间应为某月（如 2026-11）或某季度（如 2026-Q4）。")})
    year = int(match.group(1))
    if match.group(2):
        month = int(match.group(2))
        start = dt.date(year, month, 1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        return BulletinPeriod(text, _("{y}年{m}月").format(y=year, m=month), rates.Period(start, end))
    quarter = int(match.group(3))
    start = dt.date(year, 3 * quarter - 2, 1)
    end = (dt.date(year, 3 * quarter, 1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    names = {1: _("第一季度"), 2: _("第二季度"), 3: _("第三季度"), 4: _("第四季度")}
    return BulletinPeriod(text, _("{y}年{q}").format(y=year, q=names[quarter]), rates.Period(start, end))


def period_options(day: dt.date, months: int = 12) -> list[tuple[str, str]]:
    """The last months and quarters, newest first, for the page's choice."""
    options: list[tuple[str, str]] = []
    first = day.replace(day=1)
    for _i in range(months):
        options.append((f"{first.year}-{first.month:02d}", _("{y}年{m}月").format(y=first.year, m=first.month)))
        first = (first - dt.timedelta(days=1)).replace(day=1)
    quarter = (day.month - 1) // 3 + 1
    year = day.year
    for _i in range(4):
        key = f"{year}-Q{quarter}"
        options.append((key, parse_period(key, day).label))
        quarter, year = (quarter - 1, year) if quarter > 1 else (4, year - 1)
    return options


# ---------------------------------------------------------------- the ranking


def ranking(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Units ranked by rates.score (the mean of their available rates × 100, as the dashboard
    computes them), highest first; equal scores share a rank (1, 1, 3); units without any rate
    (nothing due, nothing rated) are listed after, without a rank."""
    scored = [{**r, "score": rates.score(dict(r))} for r in rows if r.get("key") is not None]
    ranked = sorted((r for r in scored if r["score"] is not None), key=lambda r: (-r["score"], r["name"] or ""))
    previous: float | None = None
    rank = 0
    for i, row in enumerate(ranked, 1):
        if row["score"] != previous:
            rank, previous = i, row["score"]
        row["rank"] = rank
    rest = sorted((r for r in scored if r["score"] is None), key=lambda r: r["name"] or "")
    for row in rest:
        row["rank"] = None
    return ranked + rest


# ---------------------------------------------------------------- the bulletin


async def _urges(ids: set[int] | None, period: rates.Period) -> int:
    lo, hi = period.instants()
    rows = await fetch(Q("""SELECT COUNT(*) AS n FROM task_report r JOIN task t ON t.id = r.task
                            WHERE r.kind = 'urge' AND r.created_at >= {} AND r.created_at < {}
                            AND {}""", lo, hi, scope_sql(ids)))
    return int(rows[0]["n"] or 0)


def _task_line(row: Mapping[str, Any], day: dt.date) -> dict[str, Any]:
    return {"id": row["id"], "unit": row["unit_name"], "item": row["item_title"], "street": row["street_name"] or "",
            "conference": row["conference_name"], "deadline": cn_date(as_date(row["deadline"])),
            "deadline_date": as_date(row["deadline"]),
            "status": TASK_STATUS_LABELS.get(row["status"], row["status"]), "role": ROLE_LABELS.get(row["role"], row["role"]),
            "days": row.get("days"), "workdays": row.get("workdays")}


def cutoff(bp: BulletinPeriod, day: dt.date) -> tuple[dt.date, dt.datetime | None, str]:
    """The one moment every figure of a bulletin is taken at, printed `day`: for a period that has
    ended, the end of its last day (so a bulletin for November reads the same whenever it is
    printed, and no unit can point at a task closed later); for a period still running, the moment
    of printing. Returns the day the figures are "as of" (as the dashboard reads `today`), the past
    instant closings and acknowledgements are bounded by (None: as they stand now) and its words."""
    if bp.period.end < day:
        after = bp.period.end + dt.timedelta(days=1)
        return after, rates.local_midnight(after), _("{d}24时").format(d=cn_date(bp.period.end))
    return day, None, _("{d}打印时").format(d=cn_date(day))


async def bulletin(scope: Scope, chosen: int | None, bp: BulletinPeriod, day: dt.date) -> dict[str, Any]:
    """Everything the 督办通报 shows, as plain values (five statements), all as of one moment (cutoff)."""
    as_day, as_of, as_of_text = cutoff(bp, day)
    rows = await views.rate_rows(scope.ids, bp.period, "unit", as_day, as_of)
    total = rates.total_of(rows)
    lists = await alerts(scope.ids, as_day, limit=LIST_LIMIT, as_of=as_of)
    urges = await _urges(scope.ids, bp.period)
    names = {c["id"]: c["name"] for c in scope.options}
    if chosen is not None:
        title_name = names.get(chosen, "")
    else:
        ids = set(names)
        title_name = "、".join(c["name"] for c in scope.options if c.get("parent") not in ids)
    summary = [
        {"key": "assigned", "label": _("本期交办任务"), "value": str(total["counts"]["assigned"]),
         "rule": _("交办时间在统计期间内的任务（不含已撤销）。")},
        {"key": "closed", "label": _("本期销号任务"), "value": str(total["counts"]["closed"]),
         "rule": _("销号时间在统计期间内的任务。")},
        {"key": "response", "label": _("响应率"), "value": total["texts"]["response"],
         "count": f"{total['hits']['response']}/{total['totals']['response']}",
         "rule": rates.RATE_RULES["response"]},
        {"key": "resolution", "label": _("解决率"), "value": total["texts"]["resolution"],
         "count": f"{total['hits']['resolution']}/{total['totals']['resolution']}",
         "rule": rates.RATE_RULES["resolution"]},
        {"key": "on_time", "label": _("按期办结率"), "value": total["texts"]["on_time"],
         "count": f"{total['hits']['on_time']}/{total['totals']['on_time']}",
         "rule": rates.RATE_RULES["on_time"]},
        {"key": "satisfaction", "label": _("满意率"), "value": total["texts"]["satisfaction"],
         "count": f"{total['hits']['satisfaction']}/{total['totals']['satisfaction']}",
         "rule": rates.RATE_RULES["satisfaction"]},
        {"key": "open", "label": _("在办任务"), "value": str(lists["open_total"]),
         "rule": _("截至{t}尚未销号、未撤销的任务。").format(t=as_of_text)},
        {"key": "red", "label": _("逾期（红色预警）"), "value": str(lists["overdue_total"]),
         "rule": _("截至{t}已过办结期限仍未销号的任务。").format(t=as_of_text)},
        {"key": "yellow", "label": _("即将到期（黄色预警）"), "value": str(lists["yellow_total"]),
         "rule": _("截至{t}，{n} 个工作日内到期、尚未销号的任务。").format(t=as_of_text, n=lists["yellow_workdays"])},
        {"key": "unack", "label": _("超时未签收"), "value": str(lists["unack_total"]),
         "rule": _("截至{t}已过签收时限仍未签收、尚未逾期的任务。").format(t=as_of_text)},
        {"key": "urges", "label": _("本期人工催办"), "value": str(urges),
         "rule": _("统计期间内联席会议办公室人工催办的次数（不含系统自动提醒）。")},
    ]
    ranked = ranking(rows)
    return {
        "title": _("督办通报"), "scope_name": title_name, "period_label": bp.label, "period_key": bp.key,
        "start": cn_date(bp.period.start), "end": cn_date(bp.period.end), "date": cn_date(day),
        "summary": summary,
        "as_of": as_of_text,
        "red": [_task_line(r, as_day) for r in lists["overdue"]], "red_total": lists["overdue_total"],
        "yellow": [_task_line(r, as_day) for r in lists["yellow"]], "yellow_total": lists["yellow_total"],
        "yellow_workdays": lists["yellow_workdays"], "list_limit": LIST_LIMIT,
        "ranking": [{"rank": r["rank"], "name": r["name"], "kind": r.get("kind"), "score": r["score"],
                     "texts": r["texts"], "hits": r["hits"], "totals": r["totals"], "rates": r["rates"]} for r in ranked],
        "rules": {
            "as_of": _("本通报的全部数字（各项指标、红色和黄色预警名单）统一截至{t}：统计期间已结束的，截至期间最后一天24时，"
                       "此后的签收、销号不计入，任何时候打印结果相同；统计期间尚未结束的，截至打印时。").format(t=as_of_text),
            "rates": _("各项指标口径与“指标与预警”页相同，统计期间为{a}至{b}，截至{t}。“—”表示没有应计的任务，不是 0%。").format(
                a=cn_date(bp.period.start), b=cn_date(bp.period.end), t=as_of_text),
            "lists": _("红色、黄色预警名单为截至{t}的在办任务，不限于统计期间；每份名单最多列出 {n} 项，合计数为全部。").format(
                t=as_of_text, n=LIST_LIMIT),
            "ranking": _("单位排名：按该单位统计期间内可计算指标（响应率、解决率、按期办结率、满意率）的平均值 × 100 从高到低排列，"
                         "没有应计任务的指标不计入平均；得分相同的并列；各项均为“—”的单位不参与排名。"),
        },
    }


# ---------------------------------------------------------------- the notice of one task


async def notice(task_id: int, urges: list[dict[str, Any]], day: dt.date) -> dict[str, Any]:
    """The 督办通知单 of a task the caller has already checked the actor may see."""
    row = (await fetch("""
        SELECT t.id, t.status, t.role, t.deadline, t.deadline_provisional, t.ack_due, t.acknowledged_at, t.assigned_at,
               t.extension_status, t.rating, t.unit, r.text AS resolution_text, r.number AS resolution_number,
               a.title AS item_title, m.title AS meeting_title, m.starts_at AS meeting_at, u.name AS unit_name,
               u.liaison_name AS liaison, c.name AS conference_name, s.name AS street_name
        FROM task t JOIN resolution r ON r.id = t.resolution JOIN agenda_item a ON a.id = r.item
        JOIN meeting m ON m.id = r.meeting JOIN member_unit u ON u.id = t.unit JOIN conference c ON c.id = t.conference
        LEFT JOIN street s ON s.id = t.street
        WHERE t.id = {}""", task_id))[0]
    assigned = row["assigned_at"]
    year = (assigned if isinstance(assigned, dt.datetime) else dt.datetime.fromisoformat(str(assigned))).year
    deadline = as_date(row["deadline"])
    task_view = {"status": row["status"], "deadline": deadline, "ack_due": as_date(row["ack_due"])}
    flag = alert(task_view, day)
    if row["status"] in ("closed", "cancelled"):
        remaining = ""
    elif deadline < day:
        remaining = _("已逾期 {n} 天").format(n=(day - deadline).days)
    else:
        remaining = _("距办结期限还有 {n} 天").format(n=(deadline - day).days)
    last = urges[-1] if urges else None
    return {
        "title": _("督办通知单"), "number": _("督〔{y}〕{n}号").format(y=year, n=row["id"]),
        "unit": row["unit_name"], "role": ROLE_LABELS.get(row["role"], row["role"]),
        "meeting": f"{row['meeting_title']}（{cn_date(row['meeting_at'])}）", "item": row["item_title"],
        "street": row["street_name"] or "", "resolution": row["resolution_text"],
        "deadline": cn_date(deadline) + (_("（暂定）") if row["deadline_provisional"] else ""),
        "remaining": remaining, "status": TASK_STATUS_LABELS.get(row["status"], row["status"]),
        "alert": ALERT_LABELS.get(flag, ""), "ack": (_("已于{t}签收").format(t=cn_datetime(row["acknowledged_at"]))
                                                    if row["acknowledged_at"] else _("应于{d}前签收，尚未签收").format(
                                                        d=cn_date(as_date(row["ack_due"])))),
        "rating": RATING_LABELS.get(row["rating"], ""), "urge_count": len(urges),
        "urge_message": last["text"] if last else "", "urge_at": cn_datetime(last["created_at"]) if last else "",
        "office": _("{name}办公室").format(name=row["conference_name"]), "date": cn_date(day),
        "requirement": _("请你单位对照上述议定事项抓紧办理，按期办结，并在系统中及时报送办理进展和办结情况；"
                         "确有困难需要延期的，请在期限届满前提出延期申请。"),
    }


# ---------------------------------------------------------------- PDF and xlsx


def _render_pdf(template: str, context: Mapping[str, Any]) -> bytes:
    html = pdf.environment().get_template(template).render(**context)
    return pdf.html_to_pdf(html)  # static-only URL fetcher, shared fonts, one render at a time


async def render_pdf(template: str, context: Mapping[str, Any]) -> bytes:
    """In a worker thread: the event loop keeps serving while WeasyPrint works."""
    return await anyio.to_thread.run_sync(partial(_render_pdf, template, dict(context)))


THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")


def write_sheet(ws: Worksheet, title: str, subtitle: str, columns: Sequence[tuple[str, int]],
                rows: Sequence[Sequence[Any]], notes: Sequence[str] = (), formats: Mapping[int, str] | None = None) -> None:
    """Title row, subtitle row, header row (repeated on every printed page), bordered wrapped
    cells, the rules below; landscape A4 fitted to the page width."""
    width = len(columns)
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([subtitle])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.append([c for c, _w in columns])
    for i, (_c, w) in enumerate(columns, 1):
        cell = ws.cell(row=3, column=i)
        cell.font = Font(bold=True)
        cell.border = BORDER
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(i)].width = w
    for values in rows:
        ws.append(list(values))
        for i in range(1, width + 1):
            cell = ws.cell(row=ws.max_row, column=i)
            cell.border = BORDER
            cell.alignment = WRAP
            if formats and i in formats:
                cell.number_format = formats[i]
    if notes:
        ws.append([])
        for note in notes:
            ws.append([note])
            ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
            ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
            ws.row_dimensions[ws.max_row].height = 32
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def workbook_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def bulletin_xlsx(ctx: Mapping[str, Any]) -> bytes:
    """Four sheets: 汇总 (figures with their rules), 红色预警, 黄色预警, 单位排名."""
    wb = Workbook()
    title = f"{ctx['scope_name']}{ctx['title']}（{ctx['period_label']}）"
    subtitle = _("统计期间：{a}至{b}；数据截至：{t}；印发日期：{d}").format(a=ctx["start"], b=ctx["end"], t=ctx["as_of"], d=ctx["date"])
    ws = wb.active
    assert ws is not None
    ws.title = _("汇总")
    write_sheet(ws, title, subtitle, [(_("指标"), 18), (_("数值"), 12), (_("分子/分母"), 12), (_("口径"), 80)],
                [[s["label"], s["value"], s.get("count", ""), s["rule"]] for s in ctx["summary"]],
                [ctx["rules"]["as_of"], ctx["rules"]["rates"]])
    task_columns = [(_("序号"), 6), (_("承办单位"), 24), (_("议题"), 36), (_("街道"), 14), (_("办结期限"), 16), (_("状态"), 10)]
    for key, name, extra, notes in (
        ("red", _("红色预警（逾期）"), (_("逾期天数"), 10), _("已过办结期限仍未销号的任务，截至{d}。").format(d=ctx["as_of"])),
        ("yellow", _("黄色预警（即将到期）"), (_("剩余工作日"), 12),
         _("{n} 个工作日内到期、尚未销号的任务，截至{d}。").format(n=ctx["yellow_workdays"], d=ctx["as_of"])),
    ):
        sheet = wb.create_sheet(name[:31])
        field = "days" if key == "red" else "workdays"
        write_sheet(sheet, f"{title} {name}", subtitle, [*task_columns, extra],
                    [[i, r["unit"], r["item"], r["street"], r["deadline"], r["status"], r[field]]
                     for i, r in enumerate(ctx[key], 1)],
                    [notes, _("共 {n} 项。").format(n=ctx[f"{key}_total"]), ctx["rules"]["lists"]])
    ranking_sheet = wb.create_sheet(_("单位排名"))
    percent = "0.0%"
    write_sheet(ranking_sheet, f"{title} {_('单位排名')}", subtitle,
                [(_("排名"), 6), (_("单位"), 28), (_("响应率"), 10), (_("解决率"), 10), (_("按期办结率"), 12),
                 (_("满意率"), 10), (_("得分"), 8)],
                [[r["rank"], r["name"], *[r["rates"][m] for m in rates.MEASURES], r["score"]] for r in ctx["ranking"]],
                [ctx["rules"]["ranking"], ctx["rules"]["rates"]], formats={3: percent, 4: percent, 5: percent, 6: percent})
    return workbook_bytes(wb)
