"""Invitation replies (参会回执).

`/r/{token}` is the personal link a member unit receives by e-mail: public (no password), it shows
only the one invitation behind the token and dies when the token is revoked or the meeting is
cancelled. Because the token is in the URL, these pages tell search engines not to index them and
browsers not to send them on as a Referer.

`/my/invitations` is the same for a logged-in unit account: its own invitations only, and the
same reply form and service."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts import personal_links
from conference.accounts.actor import Actor, CurrentActor
from conference.accounts.personal_links import private
from conference.calendar.data import meeting_context
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.meetings import invitations as meeting_invitations
from conference.meetings import notice, services, views
from conference.meetings.forms import REPLY_FORM
from conference.meetings.states import MEETING_STATUS_LABELS, REPLY_LABELS
from conference.meetings.tables import Invitation, Meeting
from conference.records import get_or_404
from conference.registry.tables import Conference, MemberUnit
from conference.roles import Role
from conference.timefmt import local, now
from conference.web.fields import Field
from conference.web.forms import submit
from conference.web.listing import paginate
from conference.web.templating import render

REPLY_TEMPLATE = "invitations/reply.html"
INVITATION_NOT_FOUND = _("没有找到该会议邀请，或您无权查看。")
UNIT = (Role.UNIT,)


def reply_fields() -> list[Field]:
    """The reply form's text fields (forms.REPLY_FORM); the answer itself is the radio buttons above them."""
    return REPLY_FORM.page_fields(skip=("reply",))


def _initial(invitation: dict[str, Any]) -> dict[str, str]:
    """The form as last answered, so a unit changing its reply starts from what it sent."""
    if invitation["reply"] == "pending":
        if invitation["replied_at"] is not None:  # reset by a change of date, time or place: names kept
            return {k: invitation[k] for k in ("attendee_name", "attendee_title", "leave_reason")}
        return {}
    return {"reply": invitation["reply"], "attendee_name": invitation["attendee_name"],
            "attendee_title": invitation["attendee_title"], "leave_reason": invitation["leave_reason"]}


async def _notice(invitation: dict[str, Any], meeting: dict[str, Any]) -> dict[str, Any]:
    """What the 会议通知 says beyond time and place (conference.meetings.notice): the same as the
    e-mail and the .ics carry."""
    calendar = await meeting_context(int(meeting["id"])) or {}
    return {
        "presiding": notice.presiding(calendar), "agenda": calendar.get("agenda") or [],
        "requirements": notice.requirements(calendar), "deadline": notice.deadline(calendar),
        "contact": notice.contact(calendar),
        "overdue": notice.is_late(now(), meeting["reply_deadline"]),
        "late": invitation["reply"] != "pending" and notice.is_late(invitation["replied_at"], meeting["reply_deadline"]),
    }


async def _context(invitation: dict[str, Any], meeting: dict[str, Any]) -> dict[str, Any]:
    unit = await MemberUnit.select(MemberUnit.name).where(MemberUnit.id == invitation["unit"]).first()
    conference = await Conference.select(Conference.name).where(Conference.id == meeting["conference"]).first()
    return {
        "notice": await _notice(invitation, meeting),
        "invitation": invitation,
        "meeting": meeting,
        "unit_name": unit["name"] if unit else "",
        "conference_name": conference["name"] if conference else "",
        "ends_clock": local(meeting["ends_at"]).strftime("%H:%M"),
        "can_reply": meeting["status"] in services.EDITABLE,
        "fields": reply_fields(),
        "reply_field": REPLY_FORM["reply"],
        "reply_options": list((REPLY_FORM["reply"].choices or {}).items()),
        "reply_labels": REPLY_LABELS,
        "kind_labels": services.KIND_LABELS,
        "status_labels": MEETING_STATUS_LABELS,
        "role_labels": services.ROLE_LABELS,
    }


# ---------------------------------------------------------------- the personal link


async def _by_token(request: Request[Any, Any, Any], token: str) -> tuple[dict[str, Any], dict[str, Any]] | Response[Any]:
    """The invitation behind the link, or the page to answer instead (see personal_links.resolve)."""
    return await personal_links.resolve(request, lambda: meeting_invitations.invitation_by_token(token))


@get("/{token:str}", opt={"public": True})
async def token_page(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    found = await _by_token(request, token)
    if isinstance(found, Response):
        return found
    invitation, meeting = found
    return private(render(request, REPLY_TEMPLATE, form=_initial(invitation), errors={},
                           **await _context(invitation, meeting)))


@post("/{token:str}", opt={"public": True})
async def token_reply(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    found = await _by_token(request, token)
    if isinstance(found, Response):
        return found
    invitation, meeting = found
    response = await submit(request, template=REPLY_TEMPLATE, **await _context(invitation, meeting),
                            action=lambda data: meeting_invitations.reply(None, invitation, meeting, data),
                            success=lambda _r: f"/r/{token}", flash=_("已收到贵单位的回复，谢谢。"))
    return private(response)


# ---------------------------------------------------------------- the unit's own account


async def own_invitation(actor: Actor, invitation_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The unit's own invitation to a meeting it has been told of; anything else answers 404."""
    if actor.unit_id is None:
        raise NotFound(INVITATION_NOT_FOUND)
    invitation = await Invitation.select().where(
        (Invitation.id == invitation_id) & (Invitation.unit == actor.unit_id)).first()
    if invitation is None:
        raise NotFound(INVITATION_NOT_FOUND)
    meeting = await get_or_404(Meeting, invitation["meeting"], INVITATION_NOT_FOUND)
    if meeting["status"] == "draft":  # not sent yet: the office may still change it
        raise NotFound(INVITATION_NOT_FOUND)
    if meeting["status"] == "cancelled":
        raise NotFound(_("会议已取消，无需回复。"))
    return invitation, meeting


@get("/", opt={"roles": UNIT})
async def my_invitations(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    query = dict(request.query_params)
    if "sort" not in query:  # latest meetings first
        query["desc"] = "1"
    show = query.get("show", "") if query.get("show") in views.INVITATION_FILTERS else ""
    where = views.own_invitations_condition(actor, show)
    columns = [
        Invitation.id, Invitation.reply, Invitation.role, Invitation.attendee_name, Invitation.replied_at,
        Invitation.meeting.title.as_alias("title"), Invitation.meeting.starts_at.as_alias("starts_at"),
        Invitation.meeting.status.as_alias("status"), Invitation.meeting.location.as_alias("location"),
        Invitation.meeting.conference.name.as_alias("conference_name"),  # type: ignore[union-attr]
    ]
    page = await paginate(Invitation, columns, query, search=[Invitation.meeting.title],
                          sorts={"starts_at": Invitation.meeting.starts_at}, default_sort="starts_at", where=where)
    page.extra = {"show": show} if show else {}
    return render(request, "invitations/mine.html", page=page, reply_labels=REPLY_LABELS,
                  show=show, show_labels=views.INVITATION_FILTERS,
                  status_labels=MEETING_STATUS_LABELS, role_labels=services.ROLE_LABELS,
                  open_states=services.EDITABLE)


@get("/{invitation_id:int}", opt={"roles": UNIT})
async def my_invitation(request: Request[Any, Any, Any], actor: CurrentActor, invitation_id: FromPath[int]) -> Template:
    invitation, meeting = await own_invitation(actor, invitation_id)
    return render(request, REPLY_TEMPLATE, form=_initial(invitation), errors={}, back="/my/invitations",
                  **await _context(invitation, meeting))


@post("/{invitation_id:int}", opt={"roles": UNIT})
async def my_invitation_reply(request: Request[Any, Any, Any], actor: CurrentActor, invitation_id: FromPath[int]) -> Template | Redirect:
    invitation, meeting = await own_invitation(actor, invitation_id)
    return await submit(request, template=REPLY_TEMPLATE, back="/my/invitations", **await _context(invitation, meeting),
                        action=lambda data: meeting_invitations.reply(actor, invitation, meeting, data),
                        success=lambda _r: f"/my/invitations/{invitation_id}", flash=_("回复已保存。"))


# Pages, not API operations: kept out of the OpenAPI schema as a group.
ROUTES: list[Any] = [
    Router("/r", route_handlers=[token_page, token_reply], include_in_schema=False),
    Router("/my/invitations", route_handlers=[my_invitations, my_invitation, my_invitation_reply], include_in_schema=False),
]
