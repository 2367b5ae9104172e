"""Meeting pages: list with filters, week/month calendar, the half-year plenary overview, create
and edit, the meeting page (agenda, invitations, replies, sign-in) and its lifecycle actions."""

from __future__ import annotations

import calendar
import datetime as dt
import math
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.db import fetch
from conference.errors import Conflict, DomainError, ValidationFailed
from conference.forms import download_disposition
from conference.holidays.services import days_between as holiday_days
from conference.i18n import gettext as _
from conference.meetings import invitations as meeting_invitations
from conference.meetings import lifecycle, notice, services, views
from conference.meetings.tables import Invitation
from conference.registry.tables import Person
from conference.settings import get_settings
from conference.tasks.services import ALERT_LABELS
from conference.tasks.states import STATUS_LABELS as TASK_STATUS_LABELS
from conference.tasks.views import open_deadlines
from conference.timefmt import cn_month_day, local, now, today
from conference.web.auth import actor_of
from conference.web.fields import Field
from conference.web.forms import form_data, submit
from conference.web.listing import page_number, parse_day, parse_id
from conference.web.templating import redirect, render

OFFICE = ("admin", "office")
READERS = ("admin", "office", "convenor", "street", "unit")
PER_PAGE = 20
WEEKDAYS = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]


def _filter(query: dict[str, str]) -> views.MeetingFilter:
    conference = query.get("conference")
    return views.MeetingFilter(
        conference_id=parse_id(conference),
        kind=query.get("kind", "") if query.get("kind") in services.KIND_LABELS else "",
        status=query.get("status", "") if query.get("status") in services.STATUS_LABELS else "",
        start=parse_day(query.get("start")), end=parse_day(query.get("end")), q=(query.get("q") or "").strip()[:50],
        todo=query.get("todo", "") if query.get("todo") in views.TODO_LABELS else "",
    )


async def _conference_options(actor: Actor) -> list[tuple[str, str]]:
    visible = await visible_conference_ids(actor)
    rows = await fetch("SELECT id, name FROM conference ORDER BY sort_key, name")  # the list page's hot path: fast read
    return [(str(r["id"]), r["name"]) for r in rows if visible is None or r["id"] in visible]


@get("/meetings", opt={"roles": READERS}, include_in_schema=False)
async def meeting_list(request: Request[Any, Any, Any]) -> Template:
    actor = actor_of(request)
    query = dict(request.query_params)
    flt = _filter(query)
    sorts = {"starts_at": "m.starts_at", "title": "m.title", "status": "m.status"}
    sort = query.get("sort") or "starts_at"
    if sort not in sorts:
        sort = "starts_at"
    desc = query.get("desc", "1" if sort == "starts_at" else "") == "1"
    page = page_number(query.get("page"))
    rows, total = await views.meeting_rows(actor, flt, order=f"{sorts[sort]} {'DESC' if desc else 'ASC'}",
                                           limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    pages = max(1, math.ceil(total / PER_PAGE))
    params = {k: v for k, v in query.items() if k in ("conference", "kind", "status", "start", "end", "q", "todo") and v}

    def url(**changes: Any) -> str:
        merged = {**params, "sort": sort, "desc": "1" if desc else "", "page": page, **changes}
        return "?" + urllib.parse.urlencode({k: v for k, v in merged.items() if v not in ("", None)})

    return render(request, "meetings/list.html", rows=rows, total=total, page=page, pages=pages, url=url, sort=sort,
                  desc=desc, filters=params, conference_options=await _conference_options(actor),
                  kind_labels=services.KIND_LABELS, status_labels=services.STATUS_LABELS,
                  display_labels=views.DISPLAY_STATUS_LABELS, todo_labels=views.TODO_LABELS)


@get("/meetings/calendar", opt={"roles": READERS}, include_in_schema=False)
async def meeting_calendar(request: Request[Any, Any, Any]) -> Template:
    """Month view (Monday-first weeks) or week view, one query for the range shown."""
    actor = actor_of(request)
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
    rows, _total = await views.meeting_rows(actor, flt, order="m.starts_at ASC")
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(local(row["starts_at"]).date(), []).append(row)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
    # Holidays and make-up working days always (one query); task deadlines when asked (one more).
    show_tasks = query.get("tasks") == "1"
    deadlines: dict[dt.date, list[dict[str, Any]]] = {}
    if show_tasks:
        for task in await open_deadlines(actor, start, end):
            deadlines.setdefault(task["deadline"], []).append(task)
    return render(request, "meetings/calendar.html", view=view, weeks=weeks, by_day=by_day, heading=heading,
                  anchor=anchor, prev_anchor=prev_anchor, next_anchor=next_anchor, today=today(), weekdays=WEEKDAYS,
                  status_labels=services.STATUS_LABELS, kind_labels=services.KIND_LABELS,
                  holidays=await holiday_days(start, end), show_tasks=show_tasks, deadlines=deadlines,
                  alert_labels=ALERT_LABELS, task_status_labels=TASK_STATUS_LABELS)


@get("/meetings/plenaries", opt={"roles": ("admin", "office", "convenor")}, include_in_schema=False)
async def plenaries(request: Request[Any, Any, Any]) -> Template:
    actor = actor_of(request)
    rows = await views.plenary_overview(actor, today())
    due_only = request.query_params.get("state") == "due"  # the workbench's link: still to be arranged
    if due_only:
        rows = [r for r in rows if r["state"] in views.PLENARY_DUE]
    return render(request, "meetings/plenaries.html", rows=rows, can_create=actor.role in OFFICE, due_only=due_only)


async def _meeting_fields(actor: Actor, with_conference: bool) -> list[Field]:
    persons = await Person.select(Person.id, Person.name, Person.title).order_by(Person.sort_key, Person.name)
    fields = []
    if with_conference:
        fields.append(Field("conference", _("联席会议"), "select", required=True,
                            options=[("", _("请选择"))] + await _conference_options(actor)))
    fields += [
        Field("kind", _("会议类型"), "select", required=True, options=[("", _("请选择")), *services.KIND_LABELS.items()]),
        Field("title", _("会议名称"), required=True, max_length=120, help=_("例如：2026年第2次全体会议")),
        Field("date", _("会议日期"), "date", required=True),
        Field("start_time", _("开始时间"), "time", required=True),
        Field("end_time", _("结束时间"), "time", required=True),
        Field("location", _("会议地点"), required=True, max_length=200),
        Field("presiding", _("主持召集人"), "select",
              options=[("", _("（默认：现任召集人）"))] + [(str(p["id"]), f"{p['name']} {p['title']}") for p in persons]),
        Field("notes", _("备注"), "textarea", max_length=2000),
        Field("requirements", _("参会要求"), "textarea", max_length=2000,
              help=_("印在会议通知、邮件和回执页上；留空则使用默认要求。")),
        Field("reply_date", _("回执截止日期"), "date", help=_("须早于会议开始时间；逾期仍可回复，将标注为逾期回复。")),
        Field("reply_time", _("回执截止时间"), "time", help=_("不填则为当日 17:00。")),
    ]
    return fields


def _notice_fields() -> list[Field]:
    """The choice a save of a notified meeting offers (services.update_meeting applies it)."""
    return [
        Field("notice", _("变更通知"), "select", options=list(services.NOTICE_LABELS.items()),
              help=_("修改会议名称、时间或地点后，保存时即向全部受邀单位发送变更通知。")),
        Field("notice_reason", _("不通知的理由"), "textarea", max_length=500,
              help=_("选择“不通知”时必填，将记入操作日志。")),
    ]


async def _edit_fields(actor: Actor, meeting: dict[str, Any]) -> list[Field]:
    fields = await _meeting_fields(actor, False)
    return fields + _notice_fields() if meeting["status"] == "notified" else fields


@get("/meetings/new", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_new(request: Request[Any, Any, Any]) -> Template:
    actor = actor_of(request)
    query = dict(request.query_params)
    form = {k: query[k][:120] for k in ("conference", "kind", "title", "date") if query.get(k)}
    form.setdefault("start_time", "09:00")
    form.setdefault("end_time", "11:00")
    form.setdefault("requirements", notice.DEFAULT_REQUIREMENTS)
    return render(request, "form_page.html", fields=await _meeting_fields(actor, True), form=form, errors={},
                  title=_("新建会议"), back="/meetings")


async def _create(actor: Actor, data: dict[str, Any]) -> int:
    return await services.create_meeting(actor, parse_id(data.get("conference")), data)


@post("/meetings/new", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_create(request: Request[Any, Any, Any]) -> Template | Redirect:
    actor = actor_of(request)
    return await submit(request, template="form_page.html", fields=await _meeting_fields(actor, True),
                        title=_("新建会议"), back="/meetings", action=lambda data: _create(actor, data),
                        success=lambda new_id: f"/meetings/{new_id}", flash=_("会议已创建（草稿），受邀单位已按成员名单生成。"))


async def _detail_context(actor: Actor, meeting_id: int) -> dict[str, Any]:
    await services.meeting_for(actor, meeting_id)
    context = await views.meeting_detail_for(actor, meeting_id)
    context["can_manage"] = actor.role in OFFICE
    if context["can_manage"]:
        units = await services.invitable_units(context["meeting"])
        context["unit_options"] = [("", _("请选择"))] + [(str(u["id"]), u["name"]) for u in units]
    context.update(kind_labels=services.KIND_LABELS, status_labels=services.STATUS_LABELS,
                   display_labels=views.DISPLAY_STATUS_LABELS, reply_labels=services.REPLY_LABELS, attendance_labels=services.ATTENDANCE_LABELS,
                   role_labels=services.ROLE_LABELS, base_url=get_settings().base_url,
                   default_requirements=notice.DEFAULT_REQUIREMENTS)
    from conference.agenda.states import OUTCOME_LABELS, URGENCY_LABELS
    from conference.agenda.states import STATUS_LABELS as ITEM_STATUS

    context.update(item_status_labels=ITEM_STATUS, urgency_labels=URGENCY_LABELS, outcome_labels=OUTCOME_LABELS)
    from conference.tasks.views import meeting_resolutions

    context.update(await meeting_resolutions(actor, context["meeting"]))  # resolutions (议定事项) and their tasks
    starts_at = context["meeting"]["starts_at"]
    context["meeting_started"] = starts_at <= now()  # 标记为已召开 only from the start on
    context["meeting_day"] = local(starts_at).date()
    context["signin_open"] = today() >= context["meeting_day"]  # the sign-in sheet from the meeting's day on
    return context


@get("/meetings/{meeting_id:int}", opt={"roles": READERS}, include_in_schema=False)
async def meeting_page(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Template:
    actor = actor_of(request)
    return render(request, "meetings/detail.html", **await _detail_context(actor, meeting_id))


def _edit_form(meeting: dict[str, Any]) -> dict[str, str]:
    start, end = local(meeting["starts_at"]), local(meeting["ends_at"])
    return {"kind": meeting["kind"], "title": meeting["title"], "date": start.date().isoformat(),
            "start_time": f"{start:%H:%M}", "end_time": f"{end:%H:%M}", "location": meeting["location"],
            "presiding": str(meeting["presiding"] or ""), "notes": meeting["notes"], "version": str(meeting["version"]),
            "notice": "send", "requirements": meeting["requirements"] or notice.DEFAULT_REQUIREMENTS,
            **services.reply_deadline_fields(meeting["reply_deadline"])}


@get("/meetings/{meeting_id:int}/edit", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_edit(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Template:
    actor = actor_of(request)
    meeting = await services.managed_meeting(actor, meeting_id)
    return render(request, "form_page.html", fields=await _edit_fields(actor, meeting), form=_edit_form(meeting), errors={},
                  title=_("编辑会议"), back=f"/meetings/{meeting_id}", notice=_edit_notice(meeting))


def _edit_notice(meeting: dict[str, Any]) -> str:
    if meeting["status"] != "notified":
        return ""
    return _("会议已通知：修改名称、时间或地点后，保存时将向全部受邀单位发送变更通知；如无需通知，请选择“不通知”并说明理由。")


def _saved(notified: int) -> str:
    return _("会议已保存，已向 {n} 个单位发送变更通知。").format(n=notified) if notified else _("会议已保存。")


@post("/meetings/{meeting_id:int}/edit", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_update(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Template | Redirect:
    actor = actor_of(request)
    meeting = await services.managed_meeting(actor, meeting_id)
    return await submit(request, template="form_page.html", fields=await _edit_fields(actor, meeting),
                        title=_("编辑会议"), back=f"/meetings/{meeting_id}", notice=_edit_notice(meeting),
                        action=lambda data: lifecycle.update_meeting(actor, meeting_id, data),
                        success=lambda _r: f"/meetings/{meeting_id}", flash=_saved)


async def _action(request: Request[Any, Any, Any], meeting_id: int, action: Callable[[dict[str, Any]], Awaitable[Any]],
                  flash: str) -> Template | Redirect:
    """An action form on the meeting page; bad input re-renders the page with the messages."""
    actor = actor_of(request)
    context = await _detail_context(actor, meeting_id)
    return await submit(request, template="meetings/detail.html", action=action,
                        success=lambda _r: f"/meetings/{meeting_id}", flash=flash, **context)


async def _or_back(url: str, call: Awaitable[Any]) -> Any:
    """Runs a one-button action of the meeting page; a wrong state (Conflict) comes back to the
    page as its message (redirect with the flash), never as a bare 409 page."""
    try:
        return await call
    except Conflict as exc:
        raise _Back(url, exc.message) from None


class _Back(Exception):
    def __init__(self, url: str, message: str) -> None:
        super().__init__(message)
        self.url, self.message = url, message


async def _invitation_meeting(actor: Actor, invitation_id: int) -> int:
    _inv, meeting = await meeting_invitations.invitation_for_manager(actor, invitation_id)  # 404 out of scope
    return int(meeting["id"])


@get("/meetings/{meeting_id:int}/notify", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_notify_preview(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Template | Redirect:
    """The confirm step of 发送通知: the units it goes to and the message one of them (?unit=)
    receives; the notice goes out only from this page's form."""
    actor = actor_of(request)
    try:
        preview = await _or_back(f"/meetings/{meeting_id}", lifecycle.notice_preview(
            actor, meeting_id, parse_id(request.query_params.get("unit"))))
    except _Back as back:
        return redirect(back.url, back.message)
    return render(request, "meetings/notify_preview.html", **preview, role_labels=services.ROLE_LABELS)


@post("/meetings/{meeting_id:int}/notify", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_notify(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Redirect:
    """Sends only what the office confirmed on the preview (its recipients key); a post without
    it (an old page, a crafted form) goes to the preview instead of sending."""
    actor = actor_of(request)
    confirmed = (await form_data(request)).get("confirm")
    try:
        if not isinstance(confirmed, str) or not confirmed:
            # 404 out of scope; nothing to send: the meeting page says why; else: preview first.
            await _or_back(f"/meetings/{meeting_id}", lifecycle.notice_recipients(actor, meeting_id))
            return redirect(f"/meetings/{meeting_id}/notify", _("请先预览通知内容，确认后再发送。"))
        count = await _or_back(f"/meetings/{meeting_id}/notify", lifecycle.notify_meeting(actor, meeting_id, confirmed=confirmed))
    except _Back as exc:
        return redirect(exc.url, exc.message)
    return redirect(f"/meetings/{meeting_id}", _("已向 {n} 个单位发送会议通知。").format(n=count))


@get("/meetings/{meeting_id:int}/notice.pdf", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_notice_pdf(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Response[bytes]:
    """The 会议通知 as an A4 PDF (made from the records as they stand: never cached)."""
    content, filename, ascii_name = await lifecycle.notice_pdf(actor_of(request), meeting_id)
    return Response(content=content, media_type="application/pdf", headers={
        "Content-Disposition": download_disposition(filename, ascii_name=ascii_name, inline=True),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@post("/meetings/{meeting_id:int}/hold", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_hold(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Redirect:
    try:
        await _or_back(f"/meetings/{meeting_id}", lifecycle.hold_meeting(actor_of(request), meeting_id))
    except _Back as back:
        return redirect(back.url, back.message)
    return redirect(f"/meetings/{meeting_id}", _("会议已标记为已召开。"))


@post("/meetings/{meeting_id:int}/sign-in", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_sign_in(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Redirect:
    """The sign-in sheet (签到表): each invited unit's row is recorded through
    services.record_attendance in its own transaction; with "全部出席" (fill=present) the rows left
    blank count as present. The flash says how many were recorded and which were not, and why."""
    actor = actor_of(request)
    await services.managed_meeting(actor, meeting_id)  # 404 out of scope
    raw = await request.form()
    fill = raw.get("fill") if raw.get("fill") == "present" else ""
    invitations = await Invitation.select(Invitation.id, Invitation.unit.name.as_alias("unit_name")).where(
        Invitation.meeting == meeting_id).order_by(Invitation.id)
    done, failed = 0, []
    for inv in invitations:
        value = raw.get(f"att-{inv['id']}")
        attendance = value if isinstance(value, str) and value else fill
        if not attendance:
            continue
        data = {"attendance": attendance}
        name = raw.get(f"name-{inv['id']}")
        if isinstance(name, str):
            data["attendee_name"] = name
        try:
            await meeting_invitations.record_attendance(actor, int(inv["id"]), data)
            done += 1
        except DomainError as exc:
            reason = "；".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else exc.message
            failed.append(f"{inv['unit_name']}：{reason}")
    if not done and not failed:
        message = _("没有填写签到情况。可点“其余全部出席并保存”，或逐个选择后保存。")
    else:
        message = _("已记录 {n} 个单位的签到。").format(n=done)
        if failed:
            message += _("未记录 {n} 个：").format(n=len(failed)) + "；".join(failed)
    return redirect(f"/meetings/{meeting_id}#sign-in", message)


@post("/meetings/{meeting_id:int}/cancel", opt={"roles": OFFICE}, include_in_schema=False)
async def meeting_cancel(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Template | Redirect:
    actor = actor_of(request)
    return await _action(request, meeting_id, lambda d: lifecycle.cancel_meeting(actor, meeting_id, d), _("会议已取消。"))


@post("/meetings/{meeting_id:int}/invitations", opt={"roles": OFFICE}, include_in_schema=False)
async def invitation_add(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Template | Redirect:
    actor = actor_of(request)
    return await _action(request, meeting_id, lambda d: meeting_invitations.add_invitation(actor, meeting_id, d), _("已添加受邀单位。"))


@post("/invitations/{invitation_id:int}/remove", opt={"roles": OFFICE}, include_in_schema=False)
async def invitation_remove(request: Request[Any, Any, Any], invitation_id: FromPath[int]) -> Redirect:
    actor = actor_of(request)
    back = f"/meetings/{await _invitation_meeting(actor, invitation_id)}"
    try:
        meeting_id = await _or_back(back, meeting_invitations.remove_invitation(actor, invitation_id))
    except _Back as exc:
        return redirect(exc.url, exc.message)
    return redirect(f"/meetings/{meeting_id}", _("已移除受邀单位。"))


@post("/invitations/{invitation_id:int}/attendance", opt={"roles": OFFICE}, include_in_schema=False)
async def invitation_attendance(request: Request[Any, Any, Any], invitation_id: FromPath[int]) -> Redirect:
    actor = actor_of(request)
    back = f"/meetings/{await _invitation_meeting(actor, invitation_id)}#sign-in"
    try:
        meeting_id = await _or_back(back, meeting_invitations.record_attendance(actor, invitation_id, await form_data(request)))
    except _Back as exc:
        return redirect(exc.url, exc.message)
    return redirect(f"/meetings/{meeting_id}#sign-in", _("已记录签到。"))


@post("/invitations/{invitation_id:int}/revoke", opt={"roles": OFFICE}, include_in_schema=False)
async def invitation_revoke(request: Request[Any, Any, Any], invitation_id: FromPath[int]) -> Redirect:
    actor = actor_of(request)
    back = f"/meetings/{await _invitation_meeting(actor, invitation_id)}"
    try:
        meeting_id = await _or_back(back, meeting_invitations.revoke_token(actor, invitation_id))
    except _Back as exc:
        return redirect(exc.url, exc.message)
    return redirect(f"/meetings/{meeting_id}", _("原回执链接已作废，下次通知将发送新链接。"))


ROUTES = [
    meeting_list, meeting_calendar, plenaries, meeting_new, meeting_create, meeting_page, meeting_edit, meeting_update,
    meeting_notify_preview, meeting_notify, meeting_notice_pdf,
    meeting_hold, meeting_sign_in, meeting_cancel, invitation_add, invitation_remove, invitation_attendance, invitation_revoke,
]
