"""Supervision pages: adopting a resolution on the meeting page, the task list, a task's page with
the actions its state and the viewer's role allow (each a POST form), and evidence downloads.

Handlers stay thin: the rules are in conference.tasks.services, the queries in views. Bad input
shows the page again with each message beside its field and the input kept; a wrong state answers
409 with the reason; a task out of the viewer's scope is a 404 that shows nothing of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor, CurrentActor
from conference.agenda.attachments import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from conference.errors import Conflict, DomainError, ValidationFailed
from conference.i18n import gettext as _
from conference.meetings import routes as meeting_routes
from conference.meetings.services import meeting_for
from conference.roles import OFFICE_ROLES, PEOPLE, Role
from conference.tasks import amend, links, services, urging, views
from conference.tasks import resolutions as task_resolutions
from conference.web import files
from conference.web.errors import domain_error, http_error
from conference.web.forms import submit
from conference.web.templating import redirect, render

UNIT = (Role.UNIT,)
STREET = (Role.STREET,)
DETAIL = "tasks/detail.html"
# A report may carry several files of up to 10 MB each; the whole request is limited to this, and a
# larger one is refused before it is read (see upload_error).
UPLOAD_BODY_LIMIT = 2 * MAX_ATTACHMENT_BYTES + 256 * 1024
# The form fields of the task page; their ids are f-<form>-<field>, so the error summary's links
# point at the field of the form that was sent.
FIELDS = ("text", "evidence", "files", "extension_deadline", "extension_reason", "comment", "reason", "rating",
          "rating_comment", "message", "deadline")

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


# ---------------------------------------------------------------- resolutions (the meeting page)


@post("/{meeting_id:int}/resolutions", opt={"roles": OFFICE_ROLES})
async def resolution_adopt(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Template | Redirect:
    raw = await request.form()
    cooperating = [v for v in raw.getall("cooperating", []) if isinstance(v, str)]
    await meeting_for(actor, meeting_id)  # 404 for meetings out of scope
    return await submit(request, template="meetings/detail.html", posted="resolution",
                        page=lambda: meeting_routes.detail_context(actor, meeting_id),
                        resolution_selected=set(cooperating),
                        action=lambda data: task_resolutions.adopt_resolution(actor, meeting_id, data, cooperating),
                        success=lambda _r: f"/meetings/{meeting_id}#resolutions",
                        flash=_("议定事项已记录，督办任务已交办给各承办单位。"))


# ---------------------------------------------------------------- list and detail


@get("/", opt={"roles": PEOPLE})
async def task_list(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    context = await views.task_list(actor, dict(request.query_params))
    return render(request, "tasks/list.html", **context)


@get("/{task_id:int}", opt={"roles": PEOPLE})
async def task_page(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template:
    context = await views.task_detail(actor, task_id)
    if actor.role in OFFICE_ROLES:  # the personal links' state, beside the revoke and re-send buttons
        context["link_state"] = await links.office_view(context["task"])
    return render(request, DETAIL, form={}, errors={}, **context)


async def _on_detail(request: Request[Any, Any, Any], actor: Actor, task_id: int, posted: str, action: Handler,
                     flash: str) -> Template | Redirect:
    """Run an action posted from the task page (`posted` names its form); bad input or a wrong
    state shows the page again with the message, beside the field for bad input."""
    await services.task_for(actor, task_id)  # 404 for tasks out of scope

    async def page() -> dict[str, Any]:  # built only when the form is shown again
        context = await views.task_detail(actor, task_id)
        if actor.role in OFFICE_ROLES:
            context["link_state"] = await links.office_view(context["task"])
        return context

    return await submit(request, template=DETAIL, action=action, success=lambda _r: f"/tasks/{task_id}", flash=flash,
                        page=page, posted=posted,
                        anchors={name: f"f-{posted}-{name}" for name in FIELDS} | {"file": f"f-{posted}-files"})


async def uploaded_files(request: Request[Any, Any, Any]) -> list[tuple[str, bytes]]:
    """The files of the multipart field "files"; an empty file input sends a nameless empty part."""
    found = []
    for value in (await request.form()).getall("files", []):
        if isinstance(value, UploadFile):
            name = value.filename or ""
            content = await value.read(MAX_ATTACHMENT_BYTES + 1)
            await value.close()
            if name or content:
                found.append((name, content))
    return found


def check_file_count(files: list[tuple[str, bytes]]) -> None:
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationFailed({"file": _("每次最多上传 {n} 个附件。").format(n=MAX_ATTACHMENTS)})


def upload_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """A body over the limit is refused before it is read: 400 with the size rule, never a 500."""
    if isinstance(exc, RequestEntityTooLarge) or (exc.status_code == 400 and exc.detail == "Request Entity Too Large"):
        message = _("附件合计不能超过 {n} MB，单个附件不能超过 10 MB。").format(n=UPLOAD_BODY_LIMIT // (1024 * 1024))
        return domain_error(request, ValidationFailed({"file": message}, message))
    return http_error(request, exc)


# ---------------------------------------------------------------- correcting a resolution (the meeting page)


# Fields of the resolution correction form; their ids on the meeting page are f-r<id>-<field>.
RESOLUTION_FIELDS = ("text", "lead_unit", "cooperating", "deadline_mode", "deadline", "deadline_workdays", "note", "reason",
                     "file")


async def _resolution_page(request: Request[Any, Any, Any], actor: Actor, resolution_id: int, posted: str,
                           action: Handler, flash: str, **extra: Any) -> Template | Redirect:
    """Run an action posted from a resolution on the meeting page; bad input shows the page again
    with the messages beside the fields of that resolution's form, a wrong state with the message."""
    resolution = await amend.resolution_for(actor, resolution_id)  # 404 out of scope
    meeting_id = int(resolution["meeting"])
    return await submit(request, template="meetings/detail.html", posted=posted, action=action,
                        page=lambda: meeting_routes.detail_context(actor, meeting_id), edit_resolution=resolution_id,
                        anchors={n: f"f-r{resolution_id}-{n}" for n in RESOLUTION_FIELDS}, **extra,
                        success=lambda _r: f"/meetings/{meeting_id}#resolution-{resolution_id}", flash=flash)


@post("/{resolution_id:int}/edit", opt={"roles": OFFICE_ROLES})
async def resolution_edit(request: Request[Any, Any, Any], actor: CurrentActor, resolution_id: FromPath[int]) -> Template | Redirect:
    raw = await request.form()
    cooperating = [v for v in raw.getall("cooperating", []) if isinstance(v, str)]
    return await _resolution_page(
        request, actor, resolution_id, "resolution-edit",
        lambda data: amend.update_resolution(actor, resolution_id, data, cooperating),
        _("议定事项已修改，相关督办任务已随之调整并通知承办单位。"), eform_cooperating=set(cooperating))


@post("/{resolution_id:int}/attachments", opt={"roles": OFFICE_ROLES},
      request_max_body_size=UPLOAD_BODY_LIMIT, exception_handlers={HTTPException: upload_error})
async def resolution_upload(request: Request[Any, Any, Any], actor: CurrentActor, resolution_id: FromPath[int]) -> Template | Redirect:
    files = await uploaded_files(request)

    async def action(_data: dict[str, Any]) -> None:
        check_file_count(files)
        await amend.add_attachments(actor, resolution_id, files)

    return await _resolution_page(request, actor, resolution_id, "resolution-files", action, _("附件已上传。"))


@post("/{attachment_id:int}/remove", opt={"roles": OFFICE_ROLES})
async def resolution_attachment_remove(actor: CurrentActor, attachment_id: FromPath[int]) -> Redirect:
    try:
        meeting_id = await amend.remove_attachment(actor, attachment_id)
    except Conflict as exc:
        row = await amend.attachment_for(actor, attachment_id)
        resolution = await amend.resolution_for(actor, row["resolution"])
        return redirect(f"/meetings/{resolution['meeting']}#resolutions", exc.message)
    return redirect(f"/meetings/{meeting_id}#resolutions", _("附件已删除。"))


@get("/{attachment_id:int}", opt={"roles": PEOPLE})
async def resolution_attachment_download(actor: CurrentActor, attachment_id: FromPath[int]) -> Response[bytes]:
    return files.download(await amend.attachment_for(actor, attachment_id))


# ---------------------------------------------------------------- the unit's actions


@post("/{task_id:int}/acknowledge", opt={"roles": UNIT})
async def task_acknowledge(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "acknowledge", lambda _d: services.acknowledge(actor, task_id),
                            _("已签收。请按期办理并报送进展。"))


@post("/{task_id:int}/progress", opt={"roles": UNIT},
      request_max_body_size=UPLOAD_BODY_LIMIT, exception_handlers={HTTPException: upload_error})
async def task_progress(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    files = await uploaded_files(request)

    async def action(data: dict[str, Any]) -> None:
        check_file_count(files)
        await services.report_progress(actor, task_id, data, files)

    return await _on_detail(request, actor, task_id, "progress", action, _("进展情况已报送。"))


@post("/{task_id:int}/done", opt={"roles": UNIT},
      request_max_body_size=UPLOAD_BODY_LIMIT, exception_handlers={HTTPException: upload_error})
async def task_done(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    files = await uploaded_files(request)

    async def action(data: dict[str, Any]) -> None:
        check_file_count(files)
        await services.report_done(actor, task_id, data, files)

    return await _on_detail(request, actor, task_id, "done", action, _("已报办结，等待联席会议办公室核实销号。"))


@post("/{task_id:int}/extension", opt={"roles": UNIT})
async def task_extension(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "extension", lambda d: services.request_extension(actor, task_id, d),
                            _("延期申请已提交，等待联席会议办公室审批。"))


# ---------------------------------------------------------------- the office's actions


@post("/{task_id:int}/extension/approve", opt={"roles": OFFICE_ROLES})
async def task_extension_approve(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "decision", lambda d: services.decide_extension(actor, task_id, True, d),
                            _("已同意延期，办结期限已更新。"))


@post("/{task_id:int}/extension/decline", opt={"roles": OFFICE_ROLES})
async def task_extension_decline(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "decision", lambda d: services.decide_extension(actor, task_id, False, d),
                            _("已不同意延期，办结期限不变。"))


@post("/{task_id:int}/close", opt={"roles": OFFICE_ROLES})
async def task_close(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "close", lambda d: services.close_task(actor, task_id, d),
                            _("任务已销号，已请街道评价。"))


@post("/{task_id:int}/return", opt={"roles": OFFICE_ROLES})
async def task_return(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "return", lambda d: services.return_task(actor, task_id, d),
                            _("任务已退回重办，承办单位会收到退回理由。"))


@post("/{task_id:int}/cancel", opt={"roles": OFFICE_ROLES})
async def task_cancel(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "cancel", lambda d: services.cancel_task(actor, task_id, d), _("任务已撤销。"))


@post("/{task_id:int}/reopen", opt={"roles": OFFICE_ROLES})
async def task_reopen(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "reopen", lambda d: services.reopen_task(actor, task_id, d),
                            _("任务已重新交办承办单位办理。"))


@post("/{task_id:int}/urge", opt={"roles": OFFICE_ROLES})
async def task_urge(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "urge", lambda d: urging.urge_task(actor, task_id, d),
                            _("已催办，承办单位会收到催办通知。"))


@post("/urge", opt={"roles": OFFICE_ROLES})
async def tasks_urge(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    """催办 the tasks ticked on the list (the list's query string is kept in the form's action, so the
    same page comes back); bad input shows the list again with the message beside the form."""
    raw = await request.form()
    selected = [v for v in raw.getall("task", []) if isinstance(v, str)]
    data = {"message": raw.get("message") if isinstance(raw.get("message"), str) else ""}
    query = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    back = "/tasks" + (("?" + request.url.query) if request.url.query else "")
    try:
        urged, skipped = await urging.urge_tasks(actor, selected, data)
    except ValidationFailed as exc:
        context = await views.task_list(actor, query)
        return render(request, "tasks/list.html", 400, urge_errors=exc.errors, urge_form=data,
                      urge_selected=set(selected), **context)
    flash = _("已催办 {n} 项任务，承办单位会收到催办通知。").format(n=urged)
    if skipped:
        flash += _("另有 {n} 项任务当前不需催办（已报办结、已销号或已撤销），已跳过。").format(n=skipped)
    return redirect(back, flash)


# ---------------------------------------------------------------- the street's action


@post("/{task_id:int}/rate", opt={"roles": STREET})
async def task_rate(request: Request[Any, Any, Any], actor: CurrentActor, task_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, task_id, "rate", lambda d: services.rate_task(actor, task_id, d), _("评价已提交，谢谢。"))


# ---------------------------------------------------------------- bulk closure (the task list)


@post("/bulk-close", opt={"roles": OFFICE_ROLES})
async def task_bulk_close(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    """销号 of the tasks ticked on the list, each through services.close_task in its own
    transaction (audited and announced as one by one); the page lists what succeeded and what
    did not, with the reason."""
    raw = await request.form()
    ids = sorted({int(v) for v in raw.getall("task", []) if isinstance(v, str) and v.isdecimal() and len(v) < 10})
    comment = raw.get("comment") if isinstance(raw.get("comment"), str) else ""
    results = []
    for task_id in ids[:200]:
        label = f"#{task_id}"
        try:
            row = await views.task_label(actor, task_id)
            label = row
            await services.close_task(actor, task_id, {"comment": comment})
            results.append({"id": task_id, "label": label, "ok": True, "message": _("已销号")})
        except DomainError as exc:
            message = exc.message if not isinstance(exc, ValidationFailed) else "；".join(exc.errors.values()) or exc.message
            results.append({"id": task_id, "label": label, "ok": False, "message": message})
    return render(request, "bulk_result.html", title=_("批量销号结果"), results=results, back="/tasks?status=reported_done",
                  back_label=_("返回督办任务"), link="/tasks/{id}",
                  empty=_("没有选择任务。请在列表中勾选“已报办结”的任务后再销号。"))


# ---------------------------------------------------------------- evidence


@get("/{attachment_id:int}", opt={"roles": PEOPLE})
async def attachment_download(actor: CurrentActor, attachment_id: FromPath[int]) -> Response[bytes]:
    return files.download(await views.attachment_for(actor, attachment_id))


@get("/{attachment_id:int}/view", opt={"roles": PEOPLE})
async def attachment_view(actor: CurrentActor, attachment_id: FromPath[int]) -> Response[bytes]:
    """Evidence (an image or PDF) opened in the browser; whoever may download it may view it."""
    return files.inline(await views.attachment_for(actor, attachment_id))


@get("/{attachment_id:int}/thumbnail", opt={"roles": PEOPLE})
async def attachment_thumbnail(actor: CurrentActor, attachment_id: FromPath[int]) -> Response[bytes]:
    return await files.thumbnail(await views.attachment_for(actor, attachment_id))


# Pages, not API operations: kept out of the OpenAPI schema, router by router.
ROUTES: list[Any] = [
    Router("/meetings", route_handlers=[resolution_adopt], include_in_schema=False),
    Router("/resolutions", route_handlers=[resolution_edit, resolution_upload], include_in_schema=False),
    Router("/resolution-attachments", route_handlers=[resolution_attachment_remove, resolution_attachment_download],
           include_in_schema=False),
    Router("/tasks", route_handlers=[
        task_bulk_close, task_list, task_page, task_acknowledge, task_progress, task_done, task_extension,
        task_extension_approve, task_extension_decline, task_close, task_return, task_cancel, task_reopen, task_rate,
        tasks_urge, task_urge,
    ], include_in_schema=False),
    Router("/task-attachments", route_handlers=[attachment_download, attachment_view, attachment_thumbnail], include_in_schema=False),
]
