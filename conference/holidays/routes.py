"""The holiday calendar page (/holidays): everyone logged in reads it; the administrator and the
offices of district- and city-level conferences add holiday ranges and make-up working days and
delete days (conference.holidays.services.can_edit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.errors import Forbidden, ValidationFailed
from conference.holidays import services
from conference.i18n import gettext as _
from conference.roles import PEOPLE
from conference.timefmt import cn_date, today
from conference.web.auth import actor_of
from conference.web.forms import form_data
from conference.web.listing import parse_int
from conference.web.templating import redirect, render

TEMPLATE = "holidays/list.html"


def _year(value: str | None) -> int:
    return parse_int(value, services.MIN_YEAR, services.MAX_YEAR) or today().year


async def _context(request: Request[Any, Any, Any], year: int) -> dict[str, Any]:
    rows = await services.year_days(year)
    entered = await services.years()
    return {
        "year": year, "rows": rows, "groups": services.groups(rows), "years": entered, "entered": year in entered,
        "holiday_count": sum(r["kind"] == "holiday" for r in rows),
        "workday_count": sum(r["kind"] == "workday" for r in rows),
        "can_edit": await services.can_edit(actor_of(request)), "kind_labels": services.KIND_LABELS,
    }


@get("/holidays", opt={"roles": PEOPLE}, include_in_schema=False)
async def holiday_page(request: Request[Any, Any, Any]) -> Template:
    year = _year(request.query_params.get("year"))
    return render(request, TEMPLATE, **await _context(request, year))


async def _add(request: Request[Any, Any, Any], kind: str) -> Template | Redirect:
    actor = actor_of(request)
    data = await form_data(request)
    field = data.get("start") if kind == "holiday" else data.get("day")
    year = _year(str(field or "")[:4] or request.query_params.get("year"))
    try:
        ids = await services.add_days(actor, kind, data)
    except ValidationFailed as exc:
        context = await _context(request, year)
        return render(request, TEMPLATE, 400, form=data, errors=exc.errors, error_message=exc.message, posted=kind, **context)
    except Forbidden as exc:
        context = await _context(request, year)
        return render(request, TEMPLATE, 403, form=data, errors={}, error_message=exc.message, posted=kind, **context)
    if kind == "holiday":
        flash = _("已登记{name}放假 {n} 天。").format(name=data.get("name", "").strip(), n=len(ids))
    else:
        flash = _("已登记调休上班日 {day}。").format(day=cn_date(dt.date.fromisoformat(str(field))))
    return redirect(f"/holidays?year={year}", flash)


@post("/holidays/holidays", opt={"roles": services.EDITORS}, include_in_schema=False)
async def add_holiday(request: Request[Any, Any, Any]) -> Template | Redirect:
    return await _add(request, "holiday")


@post("/holidays/workdays", opt={"roles": services.EDITORS}, include_in_schema=False)
async def add_workday(request: Request[Any, Any, Any]) -> Template | Redirect:
    return await _add(request, "workday")


@post("/holidays/{day_id:int}/delete", opt={"roles": services.EDITORS}, include_in_schema=False)
async def delete_holiday(request: Request[Any, Any, Any], day_id: FromPath[int]) -> Redirect:
    row = await services.delete_day(actor_of(request), day_id)
    return redirect(f"/holidays?year={row['year']}", _("已删除{day}（{name}）。").format(day=cn_date(row["day"]), name=row["name"]))


ROUTES = [holiday_page, add_holiday, add_workday, delete_holiday]
