"""Meeting lists: the list with filters, the week / month calendar (with holidays and, on request,
task deadlines) and the half-year plenary overview. The conference choices of the meeting form
come from here too (`conference_options`)."""

from __future__ import annotations

import calendar
import datetime as dt
import urllib.parse
from typing import Any

from litestar import Request, Router, get
from litestar.response import Template

from conference.accounts.actor import Actor, CurrentActor
from conference.accounts.scope import read_once, visible_conference_ids
from conference.db import fetch
from conference.holidays.services import days_between as holiday_days
from conference.i18n import gettext as _
from conference.meetings import services, views
from conference.meetings.states import MEETING_STATUS_LABELS
from conference.roles import OFFICE_ROLES, PEOPLE, SUPERVISORS
from conference.tasks.services import ALERT_LABELS
from conference.tasks.views import open_deadlines
from conference.timefmt import cn_month_day, cn_time, local, today
from conference.web.listing import Paging, parse_day, parse_id, requested
from conference.web.templating import render

PER_PAGE = 20
WEEKDAYS = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]


def _filter(query: dict[str, str]) -> views.MeetingFilter:
    conference = query.get("conference")
    return views.MeetingFilter(
        conference_id=parse_id(conference),
        kind=query.get("kind", "") if query.get("kind") in services.KIND_LABELS else "",
        status=query.get("status", "") if query.get("status") in MEETING_STATUS_LABELS else "",
        start=parse_day(query.get("start")), end=parse_day(query.get("end")), q=(query.get("q") or "").strip()[:50],
        todo=query.get("todo", "") if query.get("todo") in views.TODO_LABELS else "",
    )


async def conference_options(actor: Actor) -> list[tuple[str, str]]:
    visible = await visible_conference_ids(actor)
    rows = await fetch("SELECT id, name FROM conference ORDER BY sort_key, name")  # the list page's hot path: fast read
    return [(str(r["id"]), r["name"]) for r in rows if visible is None or r["id"] in visible]


@get("/", opt={"roles": PEOPLE})
async def meeting_list(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    query = dict(request.query_params)
    flt = _filter(query)
    sorts = {"starts_at": "m.starts_at", "title": "m.title", "status": "m.status"}
    sort = query.get("sort") or "starts_at"
    if sort not in sorts:
        sort = "starts_at"
    desc = query.get("desc", "1" if sort == "starts_at" else "") == "1"
    asked = requested(query.get("page"), default=PER_PAGE)  # page size fixed; past the last page: an empty page
    with read_once():  # the rows' scope and the conference filter's options ask for the same conferences
        rows, total = await views.meeting_rows(actor, flt, order=f"{sorts[sort]} {'DESC' if desc else 'ASC'}",
                                               limit=asked.limit, offset=asked.offset)
        options = await conference_options(actor)
    kinds, states = services.KIND_LABELS, views.DISPLAY_STATUS_LABELS
    for row in rows:  # the labels looked up here, not by a call from the template per row
        row["kind_label"] = kinds.get(row["kind"], row["kind"])
        row["status_label"] = states.get(row["display_status"], row["status"])
    page = asked.page
    params = {k: v for k, v in query.items() if k in ("conference", "kind", "status", "start", "end", "q", "todo") and v}

    def url(**changes: Any) -> str:
        merged = {**params, "sort": sort, "desc": "1" if desc else "", "page": page, **changes}
        return "?" + urllib.parse.urlencode({k: v for k, v in merged.items() if v not in ("", None)})

    return render(request, "meetings/list.html", rows=rows, total=total, paging=Paging(page, PER_PAGE, total), url=url,
                  sort=sort, desc=desc, filters=params, conference_options=options,
                  kind_labels=services.KIND_LABELS, status_labels=MEETING_STATUS_LABELS, todo_labels=views.TODO_LABELS)


@get("/calendar", opt={"roles": PEOPLE})
async def meeting_calendar(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    """Month view (Monday-first weeks) or week view, one query for the range shown."""
    query = dict(request.query_params)
    view = "week" if query.get("view") == "week" else "month"
    anchor = parse_day(query.get("date")) or today()
    if view == "month":
        first = anchor.replace(day=1)
        start = first - dt.timedelta(days=first.weekday())
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        end = last + dt.timedelta(days=6 - last.weekday())
        prev_anchor = (first - dt.timedelta(days=1)).replace(day=1)
        next_anchor = last + dt.timedelta(days=1)
        heading = _("{y}年{m}月").format(y=first.year, m=first.month)
    else:
        start = anchor - dt.timedelta(days=anchor.weekday())
        end = start + dt.timedelta(days=6)
        prev_anchor, next_anchor = start - dt.timedelta(days=7), start + dt.timedelta(days=7)
        heading = _("{a} 至 {b}").format(a=cn_month_day(start), b=cn_month_day(end))
    flt = _filter({**query, "start": start.isoformat(), "end": end.isoformat()})
    # Holidays and make-up working days always (one query); task deadlines when asked (one more).
    show_tasks = query.get("tasks") == "1"
    deadlines: dict[dt.date, list[dict[str, Any]]] = {}
    with read_once():  # the meetings' scope and the tasks' ask for the same conferences
        rows, _total = await views.meeting_rows(actor, flt, order="m.starts_at ASC")
        if show_tasks:
            for task in await open_deadlines(actor, start, end):
                deadlines.setdefault(task["deadline"], []).append(task)
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for row in rows:  # the time and label made here, not by calls from the template per meeting
        at = local(row["starts_at"])
        row["time"], row["status_label"] = cn_time(at), MEETING_STATUS_LABELS.get(row["status"])
        by_day.setdefault(at.date(), []).append(row)
    days = _days(start, end, anchor.month if view == "month" else None, today(), await holiday_days(start, end), by_day, deadlines)
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
    return render(request, "meetings/calendar.html", view=view, weeks=weeks, heading=heading,
                  anchor=anchor, prev_anchor=prev_anchor, next_anchor=next_anchor, weekdays=WEEKDAYS,
                  show_tasks=show_tasks, alert_labels=ALERT_LABELS)


def _days(start: dt.date, end: dt.date, month: int | None, now: dt.date, holidays: dict[dt.date, dict[str, Any]],
          meetings: dict[dt.date, list[dict[str, Any]]], deadlines: dict[dt.date, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The calendar's cells from start to end: the day's CSS classes (today; outside the month
    `month` of the month view; a holiday or make-up working day), its data-day and heading, its
    holiday, meetings and task deadlines."""
    cells, caption = [], _("%(m)s月%(d)s日")
    for i in range((end - start).days + 1):
        day = start + dt.timedelta(days=i)
        off = holidays.get(day)
        css = ("today" if day == now else "") + (" other-month" if month and day.month != month else "")
        if off:
            css += " holiday" if off["kind"] == "holiday" else " makeup-workday"
        cells.append({"css": css, "iso": day.isoformat(), "label": caption % {"m": day.month, "d": day.day},
                      "off": off, "meetings": meetings.get(day, []), "deadlines": deadlines.get(day, [])})
    return cells


@get("/plenaries", opt={"roles": SUPERVISORS})
async def plenaries(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    rows = await views.plenary_overview(actor, today())
    due_only = request.query_params.get("state") == "due"  # the workbench's link: still to be arranged
    if due_only:
        rows = [r for r in rows if r["state"] in views.PLENARY_DUE]
    return render(request, "meetings/plenaries.html", rows=rows, can_create=actor.role in OFFICE_ROLES, due_only=due_only)


# Pages, not API operations: kept out of the OpenAPI schema as a group.
ROUTES = [Router("/meetings", route_handlers=[meeting_list, meeting_calendar, plenaries], include_in_schema=False)]
