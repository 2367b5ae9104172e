"""The holiday calendar page (/holidays): everyone logged in reads it; the administrator and the
offices of district- and city-level conferences add holiday ranges and make-up working days and
delete days (conference.holidays.services.can_edit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor, CurrentActor
from conference.errors import Forbidden, ValidationFailed
from conference.holidays import services
from conference.holidays.forms import HOLIDAY_FORM, WORKDAY_FORM
from conference.i18n import gettext as _
from conference.roles import PEOPLE
from conference.timefmt import cn_date, today
from conference.web.forms import form_data
from conference.web.listing import parse_int
from conference.web.templating import redirect, render

TEMPLATE = "holidays/list.html"


def _year(value: str | None) -> int:
    return parse_int(value, services.MIN_YEAR, services.MAX_YEAR) or today().year


async def _context(actor: Actor, year: int) -> dict[str, Any]:
    rows = await services.year_days(year)
    entered = await services.years()
    return {
        "year": year, "rows": rows, "groups": services.groups(rows), "years": entered, "entered": year in entered,
        "holiday_count": sum(r["kind"] == "holiday" for r in rows),
        "workday_count": sum(r["kind"] == "workday" for r in rows),
        "can_edit": await services.can_edit(actor), "kind_labels": services.KIND_LABELS,
        # The two forms' fields by name (labels and limits of their specs, conference.holidays.forms).
        "holiday_fields": {f.name: f for f in HOLIDAY_FORM.page_fields()},
        "workday_fields": {f.name: f for f in WORKDAY_FORM.page_fields()},
    }


@get("/", opt={"roles": PEOPLE})
async def holiday_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    year = _year(request.query_params.get("year"))
    return render(request, TEMPLATE, **await _context(actor, year))


async def _add(request: Request[Any, Any, Any], actor: Actor, kind: str) -> Template | Redirect:
    data = await form_data(request)
    field = data.get("start") if kind == "holiday" else data.get("day")
    year = _year(str(field or "")[:4] or request.query_params.get("year"))
    try:
        ids = await services.add_days(actor, kind, data)
    except ValidationFailed as exc:
        context = await _context(actor, year)
        return render(request, TEMPLATE, 400, form=data, errors=exc.errors, error_message=exc.message, posted=kind, **context)
    except Forbidden as exc:
        context = await _context(actor, year)
        return render(request, TEMPLATE, 403, form=data, errors={}, error_message=exc.message, posted=kind, **context)
    if kind == "holiday":
        flash = _("已登记{name}放假 {n} 天。").format(name=data.get("name", "").strip(), n=len(ids))
    else:
        flash = _("已登记调休上班日 {day}。").format(day=cn_date(dt.date.fromisoformat(str(field))))
    return redirect(f"/holidays?year={year}", flash)


@post("/holidays", opt={"roles": services.EDITORS})
async def add_holiday(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    return await _add(request, actor, "holiday")


@post("/workdays", opt={"roles": services.EDITORS})
async def add_workday(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    return await _add(request, actor, "workday")


@post("/{day_id:int}/delete", opt={"roles": services.EDITORS})
async def delete_holiday(actor: CurrentActor, day_id: FromPath[int]) -> Redirect:
    row = await services.delete_day(actor, day_id)
    return redirect(f"/holidays?year={row['year']}", _("已删除{day}（{name}）。").format(day=cn_date(row["day"]), name=row["name"]))


# Pages, not API operations: kept out of the OpenAPI schema as a group.
ROUTES = [Router("/holidays", route_handlers=[holiday_page, add_holiday, add_workday, delete_holiday], include_in_schema=False)]
