"""Calendar routes: a meeting's invitation as .ics, the unit's subscription feed (public, behind a
secret token) and the page where the unit copies, revokes or renews its feed address."""

from __future__ import annotations

from typing import Any, cast

from litestar import Request, Response, Router, get, head, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts import throttle
from conference.accounts.actor import CurrentActor
from conference.calendar import data, feeds, ics
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.meetings import services as meetings
from conference.roles import INVITE_DOWNLOADERS, Role
from conference.web.listing import parse_id
from conference.web.templating import redirect, render

ICS_TYPE = "text/calendar"  # Litestar adds "; charset=utf-8" to text/* types
PRIVATE = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}
FEED_NOT_FOUND = _("订阅地址无效或已停用。")
UNIT = (Role.UNIT,)


def _unit_param(request: Request[Any, Any, Any]) -> int | None:
    value = request.query_params.get("unit", "")
    if not value:
        return None
    unit_id = parse_id(value)
    if unit_id is None:  # no such unit can exist: the same answer as a unit that is not invited
        raise NotFound(meetings.MEETING_NOT_FOUND)
    return unit_id


@get("/{meeting_id:int}/invite.ics", opt={"roles": INVITE_DOWNLOADERS})
async def invitation_download(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Response[bytes]:
    """A unit gets its own invitation (its reply link, its answer as PARTSTAT) once it has been sent;
    the office any unit's copy (?unit=ID) or its own copy listing every invited unit."""
    if actor.role == Role.UNIT:
        meeting = await meetings.meeting_for(actor, meeting_id)
        if meeting["status"] == "draft":  # not sent yet: the office may still change it
            raise NotFound(meetings.MEETING_NOT_FOUND)
        unit_id: int | None = actor.unit_id
    else:
        await meetings.managed_meeting(actor, meeting_id)
        unit_id = _unit_param(request)
    context = await data.meeting_context(meeting_id)
    if context is None or (unit_id is not None and not any(i["unit"] == unit_id for i in context["invitations"])):
        raise NotFound(meetings.MEETING_NOT_FOUND)
    text = data.render_invitation(context, unit_id)
    method = ics.method_of(text)
    return Response(content=text.encode("utf-8"), media_type=f"text/calendar; method={method}",
                    headers={**PRIVATE, "Cache-Control": "private, no-store",
                             "Content-Disposition": f'attachment; filename="meeting-{meeting_id}.ics"'})


async def _feed(request: Request[Any, Any, Any], filename: str, *, body: bool) -> Response[bytes]:
    """The token is the only key: unknown or revoked answers 404. The ETag is the feed's version
    (feeds.feed_version, one query): an unchanged feed answers 304, and HEAD its headers, without
    being built."""
    key = throttle.link_key(throttle.client_address(request))
    if wait := await throttle.retry_after(key):  # too many wrong addresses from this client
        return Response(content=throttle.wait_message(wait).encode() if body else b"", status_code=429,
                        media_type="text/plain", headers={**PRIVATE, "Retry-After": str(wait)})
    token = filename.removesuffix(".ics") if filename.endswith(".ics") else ""
    unit_id = await feeds.unit_for_token(token)
    if unit_id is None:
        await throttle.failed(key, throttle.LINK)
        raise NotFound(FEED_NOT_FOUND)
    tag = await feeds.feed_version(unit_id)  # read before the rows: a change in between only costs a 200
    headers = {**PRIVATE, "ETag": tag, "Cache-Control": "private, no-cache"}
    if ics.etag_matches(request.headers.get("if-none-match"), tag):
        return Response(content=b"", status_code=304, headers=headers)
    headers["Content-Disposition"] = 'inline; filename="calendar.ics"'
    if not body:
        return Response(content=b"", media_type=ICS_TYPE, headers=headers)
    return Response(content=(await feeds.unit_feed(unit_id)).body, media_type=ICS_TYPE, headers=headers)


@get("/{filename:str}", opt={"public": True})
async def feed(request: Request[Any, Any, Any], filename: FromPath[str]) -> Response[bytes]:
    """The unit's calendar for calendar clients (webcal:// or https://)."""
    return await _feed(request, filename, body=True)


@head("/{filename:str}", opt={"public": True})
async def feed_head(request: Request[Any, Any, Any], filename: FromPath[str]) -> Response[None]:
    """What some clients ask before they poll: the headers of GET (ETag included), no body."""
    return cast(Response[None], await _feed(request, filename, body=False))


@get("/", opt={"roles": UNIT})
async def feed_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    current = await feeds.active_feed(actor.unit_id or 0)
    # The address itself is not shown again: only its hash is stored (see feed_issue).
    return _feed_page(request, current, None)


def _feed_page(request: Request[Any, Any, Any], current: dict[str, Any] | None, urls: dict[str, str] | None,
               message: str | None = None) -> Template:
    template = render(request, "calendar/feed.html", feed=current, urls=urls, message=message)
    template.headers.update({"Referrer-Policy": "no-referrer", "Cache-Control": "private, no-store"})
    return template


@post("/", opt={"roles": UNIT})
async def feed_issue(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    """The new address is shown on this answer only (like an API token): the table keeps its hash."""
    had = await feeds.active_feed(actor.unit_id or 0)
    token = await feeds.issue_feed(actor)
    message = _("已生成新的订阅地址，原地址已停用。请在日历软件中改用新地址。") if had else _("已生成订阅地址。")
    return _feed_page(request, await feeds.active_feed(actor.unit_id or 0), feeds.feed_urls(token), message)


@post("/revoke", opt={"roles": UNIT})
async def feed_revoke(actor: CurrentActor) -> Redirect:
    count = await feeds.revoke_feed(actor)
    return redirect("/calendar/feed", _("订阅地址已停用。") if count else _("当前没有可停用的订阅地址。"))


# Not API operations: kept out of the OpenAPI schema, router by router. The feed itself is public
# (each handler says so), behind its secret token.
ROUTES: list[Any] = [
    Router("/meetings", route_handlers=[invitation_download], include_in_schema=False),
    Router("/feeds", route_handlers=[feed, feed_head], include_in_schema=False),
    Router("/calendar/feed", route_handlers=[feed_page, feed_issue, feed_revoke], include_in_schema=False),
]
