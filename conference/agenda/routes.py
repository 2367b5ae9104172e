"""Agenda item pages: the scoped list, raising and editing an item, its detail page with the
actions its status and the viewer's role allow (each a POST form), and attachments.

Handlers stay thin: the rules are in conference.agenda.services, the queries in views."""

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
from conference.agenda import attachments as agenda_attachments
from conference.agenda import scheduling, services, views
from conference.errors import DomainError, ValidationFailed
from conference.i18n import gettext as _
from conference.roles import ITEM_READERS, ITEM_WRITERS, OFFICE_ROLES
from conference.web import files
from conference.web.errors import domain_error, http_error
from conference.web.forms import submit
from conference.web.templating import render

DETAIL = "agenda/detail.html"
# The whole upload request may be a little larger than the file it carries (multipart framing and
# the other fields), so that a file just over the limit reaches the service and is refused with the
# size message beside the field; anything larger is refused before it is read (see _upload_error).
UPLOAD_BODY_LIMIT = agenda_attachments.MAX_ATTACHMENT_BYTES + 256 * 1024
# The item form carries its attachments: up to three files at the limit are read, so that a file
# over it is refused beside the field with everything else typed kept. A larger body cannot be
# read at all; the form page then opens again with the size message (_form_too_large).
FORM_BODY_LIMIT = 3 * agenda_attachments.MAX_ATTACHMENT_BYTES + 256 * 1024
TOO_LARGE_FLAG = "upload=too_large"

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


@get("/", opt={"roles": ITEM_READERS})
async def item_list(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    context = await views.item_list(actor, dict(request.query_params))
    if actor.role in OFFICE_ROLES:  # the conferences of the filter options are the visible ones: one query more
        visible = [int(v) for v, _label in context["options"]["conferences"]]
        # the meetings are the bulk form's; the form is shown only with rows to tick
        context["bulk_meetings"] = await views.bulk_meetings(visible) if context["page"].rows else []
    return render(request, "agenda/list.html", **context)


BULK_ACTIONS = {"accept": _("受理"), "schedule": _("列入会议")}


@post("/bulk", opt={"roles": OFFICE_ROLES})
async def item_bulk(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    """Accept or schedule the items ticked on the list: each through the per-item service in its
    own transaction (audited and announced as one by one); the page lists what succeeded and what
    did not, with the reason."""
    raw = await request.form()
    ids = sorted({int(v) for v in raw.getall("item", []) if isinstance(v, str) and v.isdecimal() and len(v) < 10})
    picked = raw.get("action")
    action = picked if isinstance(picked, str) and picked in BULK_ACTIONS else ""
    meeting = raw.get("meeting") if isinstance(raw.get("meeting"), str) else ""
    results = []
    for item_id in ids[:200] if action else []:
        label = f"#{item_id}"
        try:
            item = await services.item_for(actor, item_id)
            label = item["title"]
            if action == "accept":
                await services.accept_item(actor, item_id)
            else:
                await scheduling.schedule_item(actor, item_id, {"meeting": meeting})
            results.append({"id": item_id, "label": label, "ok": True, "message": _("已{action}").format(action=BULK_ACTIONS[action])})
        except DomainError as exc:
            message = "；".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else exc.message
            results.append({"id": item_id, "label": label, "ok": False, "message": message})
    title = _("批量{action}结果").format(action=BULK_ACTIONS[action]) if action else _("批量操作")
    empty = _("没有选择议题或操作。请在列表中勾选议题，选择“受理”或“列入会议”后再提交。")
    return render(request, "bulk_result.html", title=title, results=results, back="/items", back_label=_("返回议题列表"),
                  link="/items/{id}", empty=empty)


# ---------------------------------------------------------------- create and edit


def _form_title(item: dict[str, Any] | None) -> str:
    return _("提请议题") if item is None else _("修改议题")


def _form_too_large(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """A form body over FORM_BODY_LIMIT is refused before it is read (the CSRF check reads it
    first, outside the handler): back to the form page, which shows the size message beside the
    file field. Every other HTTP error is answered as everywhere else."""
    if isinstance(exc, RequestEntityTooLarge) or (exc.status_code == 400 and exc.detail == "Request Entity Too Large"):
        return Redirect(path=f"{request.url.path}?{TOO_LARGE_FLAG}", status_code=303)
    return http_error(request, exc)


def _upload_errors(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {"file": agenda_attachments.TOO_LARGE} if request.url.query == TOO_LARGE_FLAG else {}


async def _form_files(request: Request[Any, Any, Any]) -> list[tuple[str, bytes]]:
    """The files chosen in the item form's file field (an empty field sends a part without a name)."""
    files = []
    for part in (await request.form()).getall("file", []):
        if isinstance(part, UploadFile) and part.filename:
            files.append((part.filename, await part.read(agenda_attachments.MAX_ATTACHMENT_BYTES + 1)))
            await part.close()
    return files


@get("/new", opt={"roles": ITEM_WRITERS})
async def new_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    context = await views.form_context(actor, None, [])
    return render(request, "agenda/form.html", form={"urgency": "normal"}, errors=_upload_errors(request),
                  title=_form_title(None), back="/items", **context)


@post("/new", opt={"roles": ITEM_WRITERS}, request_max_body_size=FORM_BODY_LIMIT,
      exception_handlers={HTTPException: _form_too_large})
async def create(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    raw = await request.form()
    units = [u for u in raw.getall("units", []) if isinstance(u, str)]
    now_submit = raw.get("submit") == "1"
    files = await _form_files(request)
    return await submit(request, template="agenda/form.html", title=_form_title(None), back="/items",
                        page=lambda: views.form_context(actor, None, units),
                        action=lambda data: services.create_item(actor, data, units, submit=now_submit, files=files),
                        success=lambda item_id: f"/items/{item_id}",
                        flash=_("议题已提交，请等待办公室受理。") if now_submit else _("草稿已保存。"))


@get("/{item_id:int}/edit", opt={"roles": ITEM_WRITERS})
async def edit_page(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template:
    item = await services.item_for(actor, item_id)
    services.check_editable(actor, item)
    units = [str(u) for u in await views.requested_unit_ids(item_id)]
    form = {k: "" if v is None else str(v) for k, v in item.items()}
    context = await views.form_context(actor, item, units)
    return render(request, "agenda/form.html", form=form, errors=_upload_errors(request), title=_form_title(item),
                  back=f"/items/{item_id}", **context)


@post("/{item_id:int}/edit", opt={"roles": ITEM_WRITERS}, request_max_body_size=FORM_BODY_LIMIT,
      exception_handlers={HTTPException: _form_too_large})
async def update(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template | Redirect:
    item = await services.item_for(actor, item_id)
    raw = await request.form()
    units = [u for u in raw.getall("units", []) if isinstance(u, str)]
    then_submit = raw.get("submit") == "1" and item["status"] in ("draft", "returned")
    files = await _form_files(request)

    async def action(data: dict[str, Any]) -> None:
        await services.update_item(actor, item_id, data, units, files=files)
        if then_submit:
            await services.submit_item(actor, item_id)

    return await submit(request, template="agenda/form.html", title=_form_title(item), back=f"/items/{item_id}",
                        page=lambda: views.form_context(actor, item, units), action=action, success=lambda _r: f"/items/{item_id}",
                        flash=_("议题已提交，请等待办公室受理。") if then_submit else _("已保存。"))


# ---------------------------------------------------------------- detail and actions


@get("/{item_id:int}", opt={"roles": ITEM_READERS})
async def detail(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template:
    context = await views.item_detail(actor, item_id)
    return render(request, DETAIL, form={}, errors={}, **context)


async def _on_detail(request: Request[Any, Any, Any], actor: Actor, item_id: int, action: Handler, flash: str,
                     success: Callable[[Any], str] | None = None) -> Template | Redirect:
    """Run an action posted from the detail page; bad input or a wrong state shows the page again
    with the message (beside the field for bad input); the page is built only then."""
    await services.item_for(actor, item_id)  # 404 for items out of scope
    return await submit(request, template=DETAIL, action=action, success=success or (lambda _r: f"/items/{item_id}"),
                        flash=flash, page=lambda: views.item_detail(actor, item_id))


@post("/{item_id:int}/submit", opt={"roles": ITEM_WRITERS})
async def submit_item(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, item_id, lambda _d: services.submit_item(actor, item_id),
                            _("议题已提交，请等待办公室受理。"))


@post("/{item_id:int}/accept", opt={"roles": OFFICE_ROLES})
async def accept_item(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, item_id, lambda _d: services.accept_item(actor, item_id), _("议题已受理。"))


@post("/{item_id:int}/return", opt={"roles": OFFICE_ROLES})
async def return_item(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, item_id, lambda d: services.return_item(actor, item_id, d),
                            _("议题已退回，街道会收到退回理由。"))


@post("/{item_id:int}/merge", opt={"roles": OFFICE_ROLES})
async def merge_item(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, item_id, lambda d: services.merge_item(actor, item_id, d), _("议题已合并。"))


@post("/{item_id:int}/schedule", opt={"roles": OFFICE_ROLES})
async def schedule_item(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, item_id, lambda d: scheduling.schedule_item(actor, item_id, d), _("议题已列入会议议程。"))


@post("/{item_id:int}/outcome", opt={"roles": OFFICE_ROLES})
async def record_outcome(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template | Redirect:
    return await _on_detail(request, actor, item_id, lambda d: scheduling.record_outcome(actor, item_id, d), _("已记录研究结果。"))


@post("/{item_id:int}/move", opt={"roles": OFFICE_ROLES})
async def move_item(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template | Redirect:
    """Up or down on its meeting's agenda; back to the meeting page, where the buttons are."""
    return await _on_detail(request, actor, item_id, lambda d: scheduling.move_item(actor, item_id, str(d.get("direction", ""))),
                            _("议程顺序已调整。"), success=lambda meeting_id: f"/meetings/{meeting_id}")


# ---------------------------------------------------------------- attachments


def _upload_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """A body over the limit is refused before it is read: 400 with the size rule, never a 500.
    Every other HTTP error (CSRF, log-in, role) is answered as everywhere else."""
    if isinstance(exc, RequestEntityTooLarge) or (exc.status_code == 400 and exc.detail == "Request Entity Too Large"):
        message = agenda_attachments.TOO_LARGE
        return domain_error(request, ValidationFailed({"file": message}, message))
    return http_error(request, exc)


@post("/{item_id:int}/attachments", opt={"roles": ITEM_WRITERS},
      request_max_body_size=UPLOAD_BODY_LIMIT, exception_handlers={HTTPException: _upload_error})
async def upload(request: Request[Any, Any, Any], actor: CurrentActor, item_id: FromPath[int]) -> Template | Redirect:
    file = (await request.form()).get("file")
    filename, content = "", b""
    if isinstance(file, UploadFile):
        filename = file.filename or ""
        content = await file.read(agenda_attachments.MAX_ATTACHMENT_BYTES + 1)
        await file.close()
    return await _on_detail(request, actor, item_id, lambda _d: services.add_attachment(actor, item_id, filename, content),
                            _("附件已上传。"))


@get("/{attachment_id:int}", opt={"roles": ITEM_READERS})
async def download(actor: CurrentActor, attachment_id: FromPath[int]) -> Response[bytes]:
    return files.download(await services.attachment_for(actor, attachment_id))


@get("/{attachment_id:int}/view", opt={"roles": ITEM_READERS})
async def view(actor: CurrentActor, attachment_id: FromPath[int]) -> Response[bytes]:
    """An image or PDF opened in the browser; whoever may download it may view it."""
    return files.inline(await services.attachment_for(actor, attachment_id))


@get("/{attachment_id:int}/thumbnail", opt={"roles": ITEM_READERS})
async def thumbnail(actor: CurrentActor, attachment_id: FromPath[int]) -> Response[bytes]:
    return await files.thumbnail(await services.attachment_for(actor, attachment_id))


# Pages, not API operations: each router is kept out of the OpenAPI schema as a group.
ROUTES: list[Any] = [
    Router("/items", route_handlers=[
        item_list, item_bulk, new_page, create, edit_page, update, detail, submit_item, accept_item, return_item, merge_item,
        schedule_item, record_outcome, move_item, upload,
    ], include_in_schema=False),
    Router("/attachments", route_handlers=[download, view, thumbnail], include_in_schema=False),
]
