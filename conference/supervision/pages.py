"""Pages of manual supervision and assessment: the 督办通知单 of a task (PDF), the periodic 督办通报
(page, PDF, .xlsx) and the annual assessment (考核: page, .xlsx, the office's score form).
Offices, admins and convenors read them; only offices and admins enter scores. Filters are read as
on the dashboard (conference.supervision.routes.Query); a conference outside one's scope is a 404."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor, CurrentActor
from conference.errors import Conflict, ValidationFailed
from conference.i18n import gettext as _
from conference.registry.services import KIND_LABELS
from conference.roles import OFFICE_ROLES, SUPERVISORS
from conference.settings import get_settings
from conference.supervision import assessment as assess
from conference.supervision import bulletin
from conference.supervision.routes import Query, download, read_query
from conference.supervision.scope import figure_scope
from conference.tasks.services import task_for
from conference.tasks.tables import TaskReport
from conference.timefmt import cn_date, today
from conference.web.forms import form_data
from conference.web.listing import MAX_YEAR, MIN_YEAR
from conference.web.templating import redirect, render

PDF_TYPE = "application/pdf"


# ---------------------------------------------------------------- 督办通知单


@get("/{task_id:int}/notice.pdf", opt={"roles": SUPERVISORS})
async def task_notice(actor: CurrentActor, task_id: FromPath[int]) -> Response[bytes]:
    await task_for(actor, task_id)  # 404 out of scope
    urges = await TaskReport.select(TaskReport.text, TaskReport.created_at).where(
        (TaskReport.task == task_id) & (TaskReport.kind == "urge")).order_by(TaskReport.id)
    context = await bulletin.notice(task_id, urges, today())
    content = await bulletin.render_pdf("pdf/supervision_notice.html", context)
    name = f"{context['title']}_{context['number']}.pdf"
    return download(content, PDF_TYPE, f"notice-{task_id}.pdf", name)


# ---------------------------------------------------------------- 督办通报


async def _bulletin(request: Request[Any, Any, Any], actor: Actor) -> tuple[Query, dict[str, Any] | None, str]:
    q = read_query(request)
    day = today()
    chosen = q.ref("conference", _("联席会议"))
    scope = await figure_scope(actor, chosen)
    try:
        bp = bulletin.parse_period(q.raw.get("period"), day)
    except ValidationFailed as exc:
        q.errors.update(exc.errors)
        bp = bulletin.parse_period(None, day)
    q.form["period"] = bp.key
    context = await bulletin.bulletin(scope, chosen, bp, day)
    context["conferences"] = scope.options
    return q, context, bp.key


@get("/bulletin", opt={"roles": SUPERVISORS})
async def bulletin_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    q, ctx, key = await _bulletin(request, actor)
    assert ctx is not None
    return render(request, "supervision/bulletin.html", q=q, b=ctx, conferences=ctx["conferences"],
                  periods=bulletin.period_options(today()), period=key,
                  pdf_url=q.url("/supervision/bulletin.pdf"), xlsx_url=q.url("/supervision/bulletin.xlsx"))


@get("/bulletin.pdf", opt={"roles": SUPERVISORS})
async def bulletin_pdf(request: Request[Any, Any, Any], actor: CurrentActor) -> Response[bytes]:
    _q, ctx, key = await _bulletin(request, actor)
    assert ctx is not None
    content = await bulletin.render_pdf("pdf/supervision_bulletin.html", ctx)
    return download(content, PDF_TYPE, f"bulletin-{key}.pdf", f"督办通报_{ctx['period_label']}.pdf")


@get("/bulletin.xlsx", opt={"roles": SUPERVISORS})
async def bulletin_xlsx(request: Request[Any, Any, Any], actor: CurrentActor) -> Response[bytes]:
    _q, ctx, key = await _bulletin(request, actor)
    assert ctx is not None
    content = await asyncio.to_thread(bulletin.bulletin_xlsx, ctx)
    return download(content, bulletin.XLSX_TYPE, f"bulletin-{key}.xlsx", f"督办通报_{ctx['period_label']}.xlsx")


# ---------------------------------------------------------------- assessment


async def assessment_data(request: Request[Any, Any, Any], actor: Actor) -> dict[str, Any]:
    q = read_query(request)
    day = today()
    years = {str(y): str(y) for y in range(MIN_YEAR, MAX_YEAR + 1)}
    year = int(q.choice("year", _("年度"), years, str(day.year)))
    scope = await figure_scope(actor, q.ref("conference", _("联席会议")))
    conference_id = assess.pick_conference(scope, actor, q.ref("conference", _("联席会议")))
    if conference_id is not None and "conference" not in q.form:
        scope = await figure_scope(actor, conference_id)
        q.form["conference"] = str(conference_id)
    rows = await assess.sheet(scope.ids, conference_id, year, day)
    name = next((c["name"] for c in scope.options if c["id"] == conference_id), "")
    settings = get_settings()
    return {"q": q, "year": year, "scope": scope, "rows": rows, "conference_id": conference_id, "conference_name": name,
            "day": day, "rules": assess.rules(settings.assessment_weight_department, settings.assessment_weight_agency)}


async def _assessment_page(request: Request[Any, Any, Any], actor: Actor, status: int = 200, **extra: Any) -> Template:
    a = await assessment_data(request, actor)
    return render(
        request, "supervision/assessment.html", status, q=a["q"], year=a["year"],
        years=list(range(a["day"].year, a["day"].year - 6, -1)), conferences=a["scope"].options, rows=a["rows"],
        kind_labels=KIND_LABELS, conference_id=a["conference_id"], conference_name=a["conference_name"],
        rules=a["rules"], can_enter=actor.role in OFFICE_ROLES and a["conference_id"] is not None,
        export_url=a["q"].url("/supervision/assessment.xlsx", year=a["year"]), **extra)


@get("/assessment", opt={"roles": SUPERVISORS})
async def assessment_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    return await _assessment_page(request, actor)


@get("/assessment.xlsx", opt={"roles": SUPERVISORS})
async def assessment_xlsx(request: Request[Any, Any, Any], actor: CurrentActor) -> Response[bytes]:
    a = await assessment_data(request, actor)
    title = _("{name}{year}年度成员单位考核表").format(name=a["conference_name"], year=a["year"])
    subtitle = _("统计期间：{y}年1月1日至12月31日；截至：{d}").format(y=a["year"], d=cn_date(a["day"]))
    content = await asyncio.to_thread(assess.xlsx, a["rows"], title, subtitle, KIND_LABELS, a["rules"])
    return download(content, bulletin.XLSX_TYPE, f"assessment-{a['year']}.xlsx", f"{title}.xlsx")


@post("/assessment/score", opt={"roles": OFFICE_ROLES})
async def assessment_score(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    """Saves one unit's other-work score; the page comes back for the same conference and year, with
    the message beside that unit's row on bad input or a newer version."""
    data = await form_data(request)
    back = f"/supervision/assessment?conference={data.get('conference', '')}&year={data.get('year', '')}"
    try:
        await assess.save_score(actor, data)
    except ValidationFailed as exc:
        return await _assessment_page(request, actor, 400, score_unit=data.get("unit"), score_form=data,
                                      score_error=exc.errors.get("score") or exc.message)
    except Conflict as exc:
        return await _assessment_page(request, actor, 409, score_unit=data.get("unit"), score_form=data, score_error=exc.message)
    return redirect(back + f"#unit-{data.get('unit', '')}", _("其他工作得分已保存。"))


# Pages and downloads, not API operations: kept out of the OpenAPI schema, router by router.
ROUTES: list[Any] = [
    Router("/tasks", route_handlers=[task_notice], include_in_schema=False),
    Router("/supervision", route_handlers=[bulletin_page, bulletin_pdf, bulletin_xlsx, assessment_page, assessment_xlsx,
                                           assessment_score], include_in_schema=False),
]
