"""Supervision pages (督办统计) for offices, admins and convenors: the dashboard of rates, trend and
alerts; the ledgers (台账) on screen, as .xlsx and CSV.
Streets and units get 403 from the guard. Filters come from the query string; a value that cannot
be read is ignored and named in a message, and the export links carry the filters as read, so a
download always holds the rows of the page it was taken from."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response, Router, get
from litestar.response import Template

from conference import workers
from conference.accounts.actor import Actor, CurrentActor
from conference.errors import Conflict
from conference.i18n import gettext as _
from conference.registry.services import KIND_LABELS
from conference.roles import SUPERVISORS
from conference.supervision import alerts as alert_lists
from conference.supervision import charts, ledger_sql, ledgers, rates, views
from conference.supervision.scope import Scope, figure_scope
from conference.timefmt import today
from conference.web.listing import paging, parse_id
from conference.web.templating import render

LEDGER_PER_PAGE = 50


@dataclass
class Query:
    """The query string as read: clean values, the form's values, and a message per bad field."""

    raw: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)

    def ref(self, name: str, label: str) -> int | None:
        value = (self.raw.get(name) or "").strip()
        if not value:
            return None
        if (number := parse_id(value)) is not None:
            self.form[name] = value
            return number
        self.errors[name] = _("请从列表中选择{label}。").format(label=label)
        return None

    def date(self, name: str, label: str) -> dt.date | None:
        value = (self.raw.get(name) or "").strip()
        if not value:
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            self.errors[name] = _("{label}不是有效日期，请按 2026-11-29 的格式填写。").format(label=label)
            return None
        if not 2000 <= day.year <= 2100:
            self.errors[name] = _("{label}应在 2000 年至 2100 年之间。").format(label=label)
            return None
        self.form[name] = value
        return day

    def choice(self, name: str, label: str, choices: dict[str, str], default: str = "") -> str:
        value = (self.raw.get(name) or "").strip()
        if not value:
            return default
        if value in choices:
            self.form[name] = value
            return value
        self.errors[name] = _("请从列表中选择{label}。").format(label=label)
        return default

    def range(self, start: dt.date | None, end: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
        if start and end and end < start:
            self.errors["end"] = _("结束日期不能早于开始日期。")
            self.form.pop("end", None)
            return start, None
        return start, end

    def url(self, path: str, **changes: Any) -> str:
        params = {**self.form, **{k: str(v) for k, v in changes.items() if v not in (None, "")}}
        return path + ("?" + urllib.parse.urlencode(params) if params else "")


def read_query(request: Request[Any, Any, Any]) -> Query:
    return Query({k: v for k, v in request.query_params.items() if isinstance(v, str)})


def download(content: bytes, media_type: str, ascii_name: str, name: str) -> Response[bytes]:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(name)}"
    return Response(content=content, media_type=media_type, headers={"Content-Disposition": disposition,
                                                                     "Cache-Control": "no-store"})


# ---------------------------------------------------------------- dashboard


def kpi_cards(q: Query, period: rates.Period, alerts: dict[str, Any], total: dict[str, Any]) -> list[dict[str, Any]]:
    """The cards at the top of the dashboard, each with the link to the task list filtered to
    exactly the tasks it counts (same scope: the chosen conference and those below it)."""
    scope = {"conference": q.form["conference"], "below": "1"} if "conference" in q.form else {}
    start, end = period.start.isoformat(), period.end.isoformat()

    def link(**params: str) -> str:
        return "/tasks?" + urllib.parse.urlencode({**params, **scope})

    sat_n, sat_d = total["hits"]["satisfaction"], total["totals"]["satisfaction"]
    return [
        {"key": "open", "label": _("在办任务"), "value": alerts["open_total"], "link": link(status="open"),
         "note": _("截至今天")},
        {"key": "red", "label": _("已逾期（红色）"), "value": alerts["overdue_total"], "link": link(alert="red"),
         "note": _("已过办结期限仍未销号"), "tone": "danger"},
        {"key": "yellow", "label": _("即将到期（黄色）"), "value": alerts["yellow_total"], "link": link(alert="yellow"),
         "note": _("{n} 个工作日内到期").format(n=alerts["yellow_workdays"]), "tone": "warn"},
        {"key": "unack", "label": _("超时未签收"), "value": alerts["unack_total"], "link": link(alert="unack"),
         "note": _("已过签收时限，未逾期"), "tone": "warn"},
        {"key": "closed", "label": _("本期销号"), "value": total["counts"]["closed"],
         "link": link(status="closed", closed_from=start, closed_to=end), "note": _("统计期间内销号")},
        {"key": "satisfaction", "label": _("满意率"), "value": total["texts"]["satisfaction"],
         "link": link(status="closed", rated_from=start, rated_to=end),
         "note": _("统计期间内评价 {d} 件，满意及基本满意 {n} 件").format(d=sat_d, n=sat_n)},
    ]


@get("/", opt={"roles": SUPERVISORS})
async def dashboard(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    """Nine statements whatever the data: conferences, scope, the rate table, the trend, the
    alert counts and three lists (red, yellow, not acknowledged). The KPI cards come from the alert
    counts and the rate table's totals."""
    q = read_query(request)
    day = today()
    conference_id = q.ref("conference", _("联席会议"))
    start, end = q.range(q.date("start", _("开始日期")), q.date("end", _("结束日期")))
    start = start or dt.date((end or day).year, 1, 1)  # default: the current year
    period = rates.Period(start, end or dt.date(start.year, 12, 31))
    group = q.choice("group", _("统计维度"), rates.GROUPS, "unit")
    scope = await figure_scope(actor, conference_id)
    rows = await views.rate_rows(scope.ids, period, group, day)
    total = rates.total_of(rows)
    months = await views.trend(scope.ids, rates.months_ending(min(period.end, day)), day)
    alerts = await alert_lists.alerts(scope.ids, day)
    return render(
        request, "supervision/dashboard.html", q=q, period=period, group=group, groups=rates.GROUPS,
        conferences=scope.options, rows=rows, total=total, months=months,
        chart=charts.trend_svg(months), alerts=alerts, measures=rates.MEASURE_LABELS,
        kind_labels=KIND_LABELS, today=day, cards=kpi_cards(q, period, alerts, total), rate_rules=rates.RATE_RULES,
    )


# The assessment (考核) pages: conference.supervision.pages.


# ---------------------------------------------------------------- ledgers


@dataclass(frozen=True)
class LedgerRequest:
    q: Query
    ledger: ledgers.Ledger
    flt: ledger_sql.LedgerFilter
    scope: Scope


async def _ledger_request(request: Request[Any, Any, Any], actor: Actor) -> LedgerRequest:
    q = read_query(request)
    kinds = {k: v.title for k, v in ledgers.LEDGERS.items()}
    ledger = ledgers.LEDGERS[q.choice("kind", _("台账类型"), kinds, "tasks")]
    q.form["kind"] = ledger.kind
    start, end = q.range(q.date("start", _("开始日期")), q.date("end", _("结束日期")))
    flt = ledger_sql.LedgerFilter(
        kind=ledger.kind, status=q.choice("status", _("状态"), ledger.statuses), conference_id=q.ref("conference", _("联席会议")),
        unit_id=q.ref("unit", _("成员单位")), street_id=q.ref("street", _("街道")), start=start, end=end,
    )
    scope = await figure_scope(actor, flt.conference_id)
    return LedgerRequest(q, ledger, flt, scope)


def _ledger_heading(lr: LedgerRequest, cutoff: dt.date, total: int) -> ledgers.Heading:
    """The title row names the chosen conference, else the top ones the actor sees."""
    options = lr.scope.options
    if lr.flt.conference_id is not None:
        names = [c["name"] for c in options if c["id"] == lr.flt.conference_id]
    else:
        ids = {c["id"] for c in options}
        names = [c["name"] for c in options if c["parent"] not in ids]
    return ledgers.ledger_heading(lr.ledger, "、".join(names), lr.flt.start, lr.flt.end, cutoff, total)


@get("/ledger", opt={"roles": SUPERVISORS})
async def ledger_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    lr = await _ledger_request(request, actor)
    at = paging(await ledger_sql.ledger_count(lr.scope.ids, lr.flt), lr.q.raw.get("page"), default=LEDGER_PER_PAGE)
    rows = await ledger_sql.ledger_rows(lr.scope.ids, lr.flt, limit=at.limit, offset=at.offset)
    cutoff = today()

    def url(**changes: Any) -> str:
        return lr.q.url("/supervision/ledger", **changes)

    return render(
        request, "supervision/ledger.html", q=lr.q, ledger=lr.ledger, ledgers=ledgers.LEDGERS, flt=lr.flt,
        conferences=lr.scope.options, rows=ledgers.present(lr.ledger.kind, rows, cutoff, first=at.offset + 1),
        heading=_ledger_heading(lr, cutoff, at.total), total=at.total, paging=at, url=url,
        cell_text=ledgers.cell_text, date_parts=ledgers.date_parts, options=await ledger_sql.filter_options(),
        xlsx_url=lr.q.url("/supervision/ledger.xlsx"), csv_url=lr.q.url("/supervision/ledger.csv"),
        export_limit=ledgers.EXPORT_LIMIT,
    )


async def _export_rows(lr: LedgerRequest) -> list[dict[str, Any]]:
    """The rows as read from the database; labelling them (`ledgers.present`) is left to the worker
    process that builds the file: for 100,000 rows it is seconds of CPU."""
    rows = await ledger_sql.ledger_rows(lr.scope.ids, lr.flt, limit=ledgers.EXPORT_LIMIT + 1)
    if len(rows) > ledgers.EXPORT_LIMIT:
        raise Conflict(_("符合条件的记录超过 {n} 条，请缩小筛选范围后再导出。").format(n=ledgers.EXPORT_LIMIT))
    return rows


def _file_stem(lr: LedgerRequest) -> tuple[str, str]:
    stamp = today().strftime("%Y%m%d")
    return f"ledger-{lr.ledger.kind}-{stamp}", f"{lr.ledger.title}_{stamp}"


@get("/ledger.xlsx", opt={"roles": SUPERVISORS})
async def ledger_xlsx(request: Request[Any, Any, Any], actor: CurrentActor) -> Response[bytes]:
    lr = await _ledger_request(request, actor)
    rows = await _export_rows(lr)
    cutoff = today()
    heading = _ledger_heading(lr, cutoff, len(rows))
    content = await workers.run(ledgers.ledger_xlsx, lr.ledger, rows, cutoff, heading)
    ascii_name, name = _file_stem(lr)
    return download(content, ledgers.XLSX_TYPE, ascii_name + ".xlsx", name + ".xlsx")


@get("/ledger.csv", opt={"roles": SUPERVISORS})
async def ledger_csv(request: Request[Any, Any, Any], actor: CurrentActor) -> Response[bytes]:
    lr = await _ledger_request(request, actor)
    rows = await _export_rows(lr)
    cutoff = today()
    content = await workers.run(ledgers.ledger_csv, lr.ledger, rows, cutoff)
    ascii_name, name = _file_stem(lr)
    return download(content, "text/csv; charset=utf-8", ascii_name + ".csv", name + ".csv")


# Pages and downloads, not API operations: kept out of the OpenAPI schema as a group.
ROUTES: list[Any] = [Router("/supervision", route_handlers=[dashboard, ledger_page, ledger_xlsx, ledger_csv], include_in_schema=False)]
