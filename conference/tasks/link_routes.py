"""Personal task links (督办办理链接), modelled on the invitation reply links
(conference.meetings.reply_routes).

`/t/{task_id}/{token}` is the link a task's unit receives with the task e-mail, or its street with
the request to rate: public (no password), it shows only that task, with the actions the link's
holder may take now (the task page's own forms, posting under the link). Every action is the
ordinary task service called with the link's actor (conference.tasks.links), so the rules, the
audit trail and the messages are the same as for a logged-in account.

A wrong, revoked or expired token, another task's id, or a task its holder can no longer act on is
a 404; an address that guesses too many is throttled (429). The pages tell search engines not to
index them and browsers not to send them on as a Referer.

The office revokes and re-sends the links with the buttons on the task page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts import personal_links
from conference.accounts.actor import Actor, CurrentActor
from conference.accounts.personal_links import private
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.roles import OFFICE_ROLES
from conference.tasks import links, services, views
from conference.tasks.routes import DETAIL, FIELDS, UPLOAD_BODY_LIMIT, check_file_count, upload_error, uploaded_files
from conference.web import files
from conference.web.forms import submit
from conference.web.templating import redirect, render

Handler = Callable[[Actor, dict[str, Any]], Awaitable[Any]]


async def _by_link(request: Request[Any, Any, Any], task_id: int, token: str) -> tuple[Actor, dict[str, Any]] | Response[Any]:
    """See personal_links.resolve: 404 for a wrong link, 429 after too many guesses."""
    return await personal_links.resolve(request, lambda: links.task_by_link(task_id, token))


async def _context(actor: Actor, task_id: int, token: str) -> dict[str, Any]:
    """The task page as the link's holder sees it, its forms posting under the link."""
    context = await views.task_detail(actor, task_id)
    for sibling in context["siblings"]:
        sibling["link"] = False  # the link opens this task only
    context.update(link_base=f"/t/{task_id}/{token}", link_holder=actor.display_name)
    return context


@get("/{task_id:int}/{token:str}", opt={"public": True})
async def link_page(request: Request[Any, Any, Any], task_id: FromPath[int], token: FromPath[str]) -> Response[Any]:
    found = await _by_link(request, task_id, token)
    if isinstance(found, Response):
        return found
    actor, _task = found
    return private(render(request, DETAIL, form={}, errors={}, **await _context(actor, task_id, token)))


async def _act(request: Request[Any, Any, Any], task_id: int, token: str, posted: str, action: Handler,
               flash: str) -> Response[Any]:
    """Run one of the holder's actions (the task service) and come back to the link's page; bad
    input or a wrong state shows the page again with the message beside the field."""
    found = await _by_link(request, task_id, token)
    if isinstance(found, Response):
        return found
    actor, _task = found
    context = await _context(actor, task_id, token)
    context.update(posted=posted, anchors={name: f"f-{posted}-{name}" for name in FIELDS} | {"file": f"f-{posted}-files"})
    response = await submit(request, template=DETAIL, action=lambda data: action(actor, data),
                            success=lambda _r: f"/t/{task_id}/{token}", flash=flash, **context)
    return private(response)


@post("/{task_id:int}/{token:str}/acknowledge", opt={"public": True})
async def link_acknowledge(request: Request[Any, Any, Any], task_id: FromPath[int], token: FromPath[str]) -> Response[Any]:
    return await _act(request, task_id, token, "acknowledge", lambda actor, _d: services.acknowledge(actor, task_id),
                      _("已签收。请按期办理并报送进展。"))


@post("/{task_id:int}/{token:str}/progress", opt={"public": True},
      request_max_body_size=UPLOAD_BODY_LIMIT, exception_handlers={HTTPException: upload_error})
async def link_progress(request: Request[Any, Any, Any], task_id: FromPath[int], token: FromPath[str]) -> Response[Any]:
    sent = await uploaded_files(request)

    async def action(actor: Actor, data: dict[str, Any]) -> None:
        check_file_count(sent)
        await services.report_progress(actor, task_id, data, sent)

    return await _act(request, task_id, token, "progress", action, _("进展情况已报送。"))


@post("/{task_id:int}/{token:str}/done", opt={"public": True},
      request_max_body_size=UPLOAD_BODY_LIMIT, exception_handlers={HTTPException: upload_error})
async def link_done(request: Request[Any, Any, Any], task_id: FromPath[int], token: FromPath[str]) -> Response[Any]:
    sent = await uploaded_files(request)

    async def action(actor: Actor, data: dict[str, Any]) -> None:
        check_file_count(sent)
        await services.report_done(actor, task_id, data, sent)

    return await _act(request, task_id, token, "done", action, _("已报办结，等待联席会议办公室核实销号。"))


@post("/{task_id:int}/{token:str}/extension", opt={"public": True})
async def link_extension(request: Request[Any, Any, Any], task_id: FromPath[int], token: FromPath[str]) -> Response[Any]:
    return await _act(request, task_id, token, "extension",
                      lambda actor, data: services.request_extension(actor, task_id, data),
                      _("延期申请已提交，等待联席会议办公室审批。"))


@post("/{task_id:int}/{token:str}/rate", opt={"public": True})
async def link_rate(request: Request[Any, Any, Any], task_id: FromPath[int], token: FromPath[str]) -> Response[Any]:
    return await _act(request, task_id, token, "rate", lambda actor, data: services.rate_task(actor, task_id, data),
                      _("评价已提交，谢谢。"))


@get("/{task_id:int}/{token:str}/attachments/{attachment_id:int}", opt={"public": True})
async def link_attachment(request: Request[Any, Any, Any], task_id: FromPath[int], token: FromPath[str],
                          attachment_id: FromPath[int]) -> Response[Any]:
    """An evidence file of this task (the record shows them); another task's file is a 404."""
    found = await _by_link(request, task_id, token)
    if isinstance(found, Response):
        return found
    actor, _task = found
    row = await views.attachment_for(actor, attachment_id)
    if row["task"] != task_id:
        raise NotFound(views.ATTACHMENT_NOT_FOUND)
    return private(files.download(row))


# ---------------------------------------------------------------- the office: revoke and re-send


@post("/{task_id:int}/links/{holder:str}/revoke", opt={"roles": OFFICE_ROLES})
async def link_revoke(actor: CurrentActor, task_id: FromPath[int], holder: FromPath[str]) -> Redirect:
    ended = await links.revoke_link(actor, task_id, holder)
    message = _("{what}已停用。").format(what=links.HOLDER_LABELS[holder]) if ended else _("没有有效的链接需要停用。")
    return redirect(f"/tasks/{task_id}#links", message)


@post("/{task_id:int}/links/{holder:str}/resend", opt={"roles": OFFICE_ROLES})
async def link_resend(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int], holder: FromPath[str]) -> Template | Redirect:
    context = await views.task_detail(actor, task_id)  # 404 for tasks out of scope
    context.update(link_state=await links.office_view(context["task"]), posted="links")
    return await submit(request, template=DETAIL, **context,
                        action=lambda _d: links.resend_link(actor, task_id, holder), success=lambda _r: f"/tasks/{task_id}#links",
                        flash=_("已重新发送{what}，此前的链接已失效。").format(what=links.HOLDER_LABELS.get(holder, "")))


# Pages, not API operations: kept out of the OpenAPI schema as groups. The links' pages are public
# (each handler says so); the office's buttons sit under the task's page.
ROUTES: list[Any] = [
    Router("/t", route_handlers=[link_page, link_acknowledge, link_progress, link_done, link_extension, link_rate, link_attachment],
           include_in_schema=False),
    Router("/tasks", route_handlers=[link_revoke, link_resend], include_in_schema=False),
]
