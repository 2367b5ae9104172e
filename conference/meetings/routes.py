"""The meeting page (agenda, invitations, replies, resolutions, sign-in) and its lifecycle actions:
notify (preview, then send), the notice PDF, hold, sign-in, cancel, and the invitations' own
actions. ROUTES gathers every meeting page: the lists (conference.meetings.list_routes), the form
(conference.meetings.form_routes) and these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor, CurrentActor
from conference.errors import Conflict, DomainError, ValidationFailed
from conference.forms import download_disposition
from conference.i18n import gettext as _
from conference.meetings import form_routes, lifecycle, list_routes, notice, services, views
from conference.meetings import invitations as meeting_invitations
from conference.meetings.forms import ATTENDANCE_FORM, CANCEL_FORM, INVITATION_FORM
from conference.meetings.states import MEETING_STATUS_LABELS, REPLY_LABELS
from conference.meetings.tables import Invitation
from conference.roles import OFFICE_ROLES, PEOPLE
from conference.settings import get_settings
from conference.timefmt import local, now, today
from conference.web.forms import form_data, submit
from conference.web.listing import parse_id
from conference.web.templating import redirect, render


async def detail_context(actor: Actor, meeting_id: int) -> dict[str, Any]:
    await services.meeting_for(actor, meeting_id)
    context = await views.meeting_detail_for(actor, meeting_id)
    context["can_manage"] = actor.role in OFFICE_ROLES
    if context["can_manage"]:
        units = await services.invitable_units(context["meeting"])
        context["unit_options"] = [("", _("请选择"))] + [(str(u["id"]), u["name"]) for u in units]
    context.update(kind_labels=services.KIND_LABELS, status_labels=MEETING_STATUS_LABELS,
                   display_labels=views.DISPLAY_STATUS_LABELS, reply_labels=REPLY_LABELS, attendance_labels=services.ATTENDANCE_LABELS,
                   role_labels=services.ROLE_LABELS, base_url=get_settings().base_url,
                   default_requirements=notice.DEFAULT_REQUIREMENTS)
    # The page's smaller forms (cancel, invite, sign-in), by field name: labels and limits of their specs.
    context.update({f"{name}_fields": {f.name: f for f in spec.page_fields()} for name, spec in (
        ("cancel", CANCEL_FORM), ("invitation", INVITATION_FORM), ("attendance", ATTENDANCE_FORM))})
    from conference.agenda.states import ITEM_STATUS_LABELS, OUTCOME_LABELS, URGENCY_LABELS

    context.update(item_status_labels=ITEM_STATUS_LABELS, urgency_labels=URGENCY_LABELS, outcome_labels=OUTCOME_LABELS)
    from conference.tasks.views import meeting_resolutions

    context.update(await meeting_resolutions(actor, context["meeting"]))  # resolutions (议定事项) and their tasks
    starts_at = context["meeting"]["starts_at"]
    context["meeting_started"] = starts_at <= now()  # 标记为已召开 only from the start on
    context["meeting_day"] = local(starts_at).date()
    context["signin_open"] = today() >= context["meeting_day"]  # the sign-in sheet from the meeting's day on
    return context


@get("/{meeting_id:int}", opt={"roles": PEOPLE})
async def meeting_page(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Template:
    return render(request, "meetings/detail.html", **await detail_context(actor, meeting_id))


async def _action(request: Request[Any, Any, Any], actor: Actor, meeting_id: int, action: Callable[[dict[str, Any]], Awaitable[Any]],
                  flash: str) -> Template | Redirect:
    """An action form on the meeting page; bad input re-renders the page with the messages (the page
    is built only then)."""
    await services.meeting_for(actor, meeting_id)  # 404 for meetings out of scope
    return await submit(request, template="meetings/detail.html", action=action,
                        success=lambda _r: f"/meetings/{meeting_id}", flash=flash,
                        page=lambda: detail_context(actor, meeting_id))


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


@get("/{meeting_id:int}/notify", opt={"roles": OFFICE_ROLES})
async def meeting_notify_preview(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Template | Redirect:
    """The confirm step of 发送通知: the units it goes to and the message one of them (?unit=)
    receives; the notice goes out only from this page's form."""
    try:
        preview = await _or_back(f"/meetings/{meeting_id}", lifecycle.notice_preview(
            actor, meeting_id, parse_id(request.query_params.get("unit"))))
    except _Back as back:
        return redirect(back.url, back.message)
    return render(request, "meetings/notify_preview.html", **preview, role_labels=services.ROLE_LABELS)


@post("/{meeting_id:int}/notify", opt={"roles": OFFICE_ROLES})
async def meeting_notify(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Redirect:
    """Sends only what the office confirmed on the preview (its recipients key); a post without
    it (an old page, a crafted form) goes to the preview instead of sending."""
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


@get("/{meeting_id:int}/notice.pdf", opt={"roles": OFFICE_ROLES})
async def meeting_notice_pdf(actor: CurrentActor, meeting_id: FromPath[int]) -> Response[bytes]:
    """The 会议通知 as an A4 PDF (made from the records as they stand: never cached)."""
    content, filename, ascii_name = await lifecycle.notice_pdf(actor, meeting_id)
    return Response(content=content, media_type="application/pdf", headers={
        "Content-Disposition": download_disposition(filename, ascii_name=ascii_name, inline=True),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@post("/{meeting_id:int}/hold", opt={"roles": OFFICE_ROLES})
async def meeting_hold(actor: CurrentActor, meeting_id: FromPath[int]) -> Redirect:
    try:
        await _or_back(f"/meetings/{meeting_id}", lifecycle.hold_meeting(actor, meeting_id))
    except _Back as back:
        return redirect(back.url, back.message)
    return redirect(f"/meetings/{meeting_id}", _("会议已标记为已召开。"))


@post("/{meeting_id:int}/sign-in", opt={"roles": OFFICE_ROLES})
async def meeting_sign_in(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Redirect:
    """The sign-in sheet (签到表): each invited unit's row is recorded through
    services.record_attendance in its own transaction; with "全部出席" (fill=present) the rows left
    blank count as present. The flash says how many were recorded and which were not, and why."""
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


@post("/{meeting_id:int}/cancel", opt={"roles": OFFICE_ROLES})
async def meeting_cancel(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Template | Redirect:
    return await _action(request, actor, meeting_id, lambda d: lifecycle.cancel_meeting(actor, meeting_id, d), _("会议已取消。"))


@post("/{meeting_id:int}/invitations", opt={"roles": OFFICE_ROLES})
async def invitation_add(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Template | Redirect:
    return await _action(request, actor, meeting_id, lambda d: meeting_invitations.add_invitation(actor, meeting_id, d), _("已添加受邀单位。"))


@post("/{invitation_id:int}/remove", opt={"roles": OFFICE_ROLES})
async def invitation_remove(actor: CurrentActor, invitation_id: FromPath[int]) -> Redirect:
    back = f"/meetings/{await _invitation_meeting(actor, invitation_id)}"
    try:
        meeting_id = await _or_back(back, meeting_invitations.remove_invitation(actor, invitation_id))
    except _Back as exc:
        return redirect(exc.url, exc.message)
    return redirect(f"/meetings/{meeting_id}", _("已移除受邀单位。"))


@post("/{invitation_id:int}/attendance", opt={"roles": OFFICE_ROLES})
async def invitation_attendance(request: Request[Any, Any, Any], actor: CurrentActor, invitation_id: FromPath[int]) -> Redirect:
    back = f"/meetings/{await _invitation_meeting(actor, invitation_id)}#sign-in"
    try:
        meeting_id = await _or_back(back, meeting_invitations.record_attendance(actor, invitation_id, await form_data(request)))
    except _Back as exc:
        return redirect(exc.url, exc.message)
    return redirect(f"/meetings/{meeting_id}#sign-in", _("已记录签到。"))


@post("/{invitation_id:int}/revoke", opt={"roles": OFFICE_ROLES})
async def invitation_revoke(actor: CurrentActor, invitation_id: FromPath[int]) -> Redirect:
    back = f"/meetings/{await _invitation_meeting(actor, invitation_id)}"
    try:
        meeting_id = await _or_back(back, meeting_invitations.revoke_token(actor, invitation_id))
    except _Back as exc:
        return redirect(exc.url, exc.message)
    return redirect(f"/meetings/{meeting_id}", _("原回执链接已作废，下次通知将发送新链接。"))


# Pages, not API operations: each router is kept out of the OpenAPI schema as a group.
ROUTES = [
    *list_routes.ROUTES, *form_routes.ROUTES,
    Router("/meetings", route_handlers=[
        meeting_page, meeting_notify_preview, meeting_notify, meeting_notice_pdf, meeting_hold, meeting_sign_in, meeting_cancel,
        invitation_add,
    ], include_in_schema=False),
    Router("/invitations", route_handlers=[invitation_remove, invitation_attendance, invitation_revoke], include_in_schema=False),
]
