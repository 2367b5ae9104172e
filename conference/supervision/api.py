"""Supervision (督办统计) over the JSON API (issue 15 item 1): the dashboard's rates with its filters,
the alert lists (red, yellow, not acknowledged), the annual assessment sheet, and the ledgers (台账)
as .xlsx/.csv downloads. Offices, admins and convenors only, as the pages (streets and units 403);
scope and figures come from the same functions as the pages (conference.supervision.views,
.assessment, .routes, .pages), so the API and the pages always agree."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, get
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from conference.accounts.actor import CurrentActor
from conference.errors import ValidationFailed
from conference.i18n import gettext as _
from conference.roles import SUPERVISORS
from conference.supervision import ledgers, pages, routes, views
from conference.timefmt import today
from conference.web.apikit import READ_ERRORS, IdQuery, answers, relabelled
from conference.web.listing import MAX_YEAR, MIN_YEAR

TAGS = ["督办统计"]
LABELS = {"conference": _("联席会议"), "start": _("开始日期"), "end": _("结束日期"), "group": _("统计维度"),
          "year": _("年度"), "kind": _("台账类型"), "status": _("状态"), "unit": _("成员单位"), "street": _("街道")}
StartQuery = Annotated[dt.date | None, QueryParameter(description=_("统计期间开始日（默认当年 1 月 1 日）"))]
EndQuery = Annotated[dt.date | None, QueryParameter(description=_("统计期间结束日（默认当年 12 月 31 日）"))]


class RateRow(msgspec.Struct):
    key: int | None  # the unit, street or conference; None: items the office raised itself (no street)
    name: str | None
    kind: str | None  # the unit's kind, when grouped by unit
    hits: dict[str, int]  # numerators per measure: response, resolution, on_time, satisfaction
    totals: dict[str, int]  # denominators
    counts: dict[str, int]  # tasks assigned / closed in the period
    rates: dict[str, float | None]  # 0..1, None when nothing counts yet
    texts: dict[str, str]  # as the page prints them, e.g. 87.5%


class RatesOut(msgspec.Struct):
    start: dt.date
    end: dt.date
    group: str
    rows: list[RateRow]
    total: RateRow


class AlertTask(msgspec.Struct):
    id: int
    deadline: dt.date
    ack_due: dt.date
    status: str
    role: str
    unit_name: str
    conference_name: str
    street_name: str | None
    item_title: str
    days: int | None = None  # red: days overdue; unack: days past the acknowledgement due date
    workdays: int | None = None  # yellow: working days left


class AlertsOut(msgspec.Struct):
    open_total: int
    overdue_total: int
    yellow_total: int
    unack_total: int
    yellow_until: dt.date
    yellow_workdays: int
    overdue: list[AlertTask]
    yellow: list[AlertTask]
    unack: list[AlertTask]


class AssessmentRow(msgspec.Struct):
    id: int
    name: str
    kind: str | None
    rank: int | None
    rates: dict[str, float | None]
    ratings: dict[str, int]
    rated: int
    evaluation: float | None
    other: float | None  # the office's other score (其他考核得分)
    combined: float | None


class AssessmentOut(msgspec.Struct):
    year: int
    conference: int | None
    conference_name: str
    rows: list[AssessmentRow]
    rules: list[str]


@get("/rates", opt={"roles": SUPERVISORS}, tags=TAGS, summary=_("督办统计：四率"), responses=answers(RatesOut, READ_ERRORS))
async def supervision_rates(
    actor: CurrentActor,
    conference: IdQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
    group: Annotated[Literal["unit", "street", "conference"], QueryParameter(description=_("统计维度"))] = "unit",
) -> RatesOut:
    """与 /supervision 页面相同的数字：响应率、解决率、按期办结率、满意率（分子 hits、分母 totals），按成员单位、街道或联席会议分组，附合计 total。"""
    day = today()
    if start and end and end < start:
        raise ValidationFailed({"end": _("结束日期不能早于开始日期。")})
    first = start or dt.date((end or day).year, 1, 1)  # the page's default: the current year
    period = views.Period(first, end or dt.date(first.year, 12, 31))
    scope = await views.figure_scope(actor, conference)
    rows = await views.rate_rows(scope.ids, period, group, day)
    total = {"key": None, "name": _("合计"), "kind": None, **views.total_of(rows)}
    return RatesOut(start=period.start, end=period.end, group=group,
                    rows=[msgspec.convert(r, RateRow) for r in rows], total=msgspec.convert(total, RateRow))


@get("/alerts", opt={"roles": SUPERVISORS}, tags=TAGS, summary=_("督办统计：预警"), responses=answers(AlertsOut, READ_ERRORS))
async def supervision_alerts(actor: CurrentActor, conference: IdQuery = None) -> AlertsOut:
    """截至今天的在办任务预警：overdue 已逾期（红色）、yellow 即将到期（黄色）、unack 超时未签收，各列最多 30 条，与 /supervision 页面相同。"""
    scope = await views.figure_scope(actor, conference)
    return msgspec.convert(await views.alerts(scope.ids, today()), AlertsOut)


@get("/assessment", opt={"roles": SUPERVISORS}, tags=TAGS, summary=_("年度考核"), responses=answers(AssessmentOut, READ_ERRORS))
async def supervision_assessment(
    request: Request[Any, Any, Any],
    actor: CurrentActor,
    year: Annotated[int | None, QueryParameter(ge=MIN_YEAR, le=MAX_YEAR, description=_("年度，默认今年"))] = None,
    conference: IdQuery = None,
) -> AssessmentOut:
    """与 /supervision/assessment 页面相同的考核表：四率、街道评价、办公室其他得分和综合得分，按综合得分排名。"""
    a = await pages.assessment_data(request, actor)  # the page's own reading of year and conference
    return AssessmentOut(year=a["year"], conference=a["conference_id"], conference_name=a["conference_name"],
                         rows=[msgspec.convert(r, AssessmentRow) for r in a["rows"]], rules=a["rules"])


LedgerKind = Annotated[str | None, QueryParameter(max_length=40, description=_("台账类型，如 tasks、items、meetings"))]
LedgerStatus = Annotated[str | None, QueryParameter(max_length=40, description=_("状态"))]


@get("/ledger.xlsx", opt={"roles": SUPERVISORS}, tags=TAGS, summary=_("台账（Excel）"),
     responses=answers(bytes, READ_ERRORS, media_type=ledgers.XLSX_TYPE, description=_(".xlsx 文件"),
                       example="（二进制 .xlsx 文件：表头为筛选条件，每行一条台账记录）"),
     media_type=ledgers.XLSX_TYPE)
async def ledger_xlsx(request: Request[Any, Any, Any], actor: CurrentActor, kind: LedgerKind = None, status: LedgerStatus = None,
                      conference: IdQuery = None, unit: IdQuery = None, street: IdQuery = None,
                      start: StartQuery = None, end: EndQuery = None) -> Response[bytes]:
    """与 /supervision/ledger.xlsx 相同的文件和筛选；超过导出上限时返回 409。"""
    return await routes.ledger_xlsx.fn(request=request, actor=actor)


@get("/ledger.csv", opt={"roles": SUPERVISORS}, tags=TAGS, summary=_("台账（CSV）"),
     responses=answers(bytes, READ_ERRORS, media_type="text/csv; charset=utf-8", description=_("UTF-8 编码的 CSV 文件"),
                       example="任务编号,议定事项,承办单位,办理期限,状态\n25,沂蒙路占道经营整治,兰山区综合行政执法局,2026-12-31,办理中\n"),
     media_type="text/csv; charset=utf-8")
async def ledger_csv(request: Request[Any, Any, Any], actor: CurrentActor, kind: LedgerKind = None, status: LedgerStatus = None,
                     conference: IdQuery = None, unit: IdQuery = None, street: IdQuery = None,
                     start: StartQuery = None, end: EndQuery = None) -> Response[bytes]:
    """与 /supervision/ledger.csv 相同的文件和筛选（UTF-8）。"""
    return await routes.ledger_csv.fn(request=request, actor=actor)


ROUTES: list[Any] = [
    Router(path="/api/supervision", route_handlers=[supervision_rates, supervision_alerts, supervision_assessment, ledger_xlsx, ledger_csv],
           exception_handlers={ValidationException: relabelled(LABELS)}),
]
