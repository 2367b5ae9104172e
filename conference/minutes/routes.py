"""Minutes pages: /meetings/{id}/minutes (the text as HTML, versions, editing, submission,
comments, return and sign-off), each version as PDF or HTML, the difference between two versions,
and the published PDF, served byte for byte as stored at sign-off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor, CurrentActor
from conference.calendar.ics import etag_matches
from conference.errors import Conflict, NotFound, ValidationFailed
from conference.forms import download_disposition
from conference.i18n import gettext as _
from conference.meetings.services import meeting_for
from conference.meetings.states import MEETING_STATUS_LABELS
from conference.minutes import services, views
from conference.minutes import workflow as minutes_workflow
from conference.minutes.states import MINUTES_STATUS_LABELS
from conference.roles import OFFICE_ROLES, PEOPLE, SUPERVISORS, Role
from conference.web.forms import form_data
from conference.web.listing import parse_int
from conference.web.templating import redirect, render

MAX_NUMBER = 100_000


def ascii_stem(minutes: Mapping[str, Any]) -> str:
    """The file name for clients that cannot read the Chinese one: conference, year and number of
    the 文号 (minutes-3-2026-6), or the minutes' own id before it has one."""
    if minutes["issue_year"] and minutes["issue_number"]:
        return f"minutes-{minutes['conference']}-{minutes['issue_year']}-{minutes['issue_number']}"
    return f"minutes-{minutes['conference']}-draft{minutes['id']}"


def pdf_response(content: bytes, filename: str, ascii_name: str, sha256: str | None = None,
                 if_none_match: str | None = None) -> Response[bytes]:
    """A stored PDF; with its SHA-256 as a strong ETag, a client that already holds these bytes
    (If-None-Match) gets 304 without them: a signed publication never changes."""
    headers = {"Content-Disposition": download_disposition(filename, ascii_name=ascii_name, inline=True),
               "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-cache"}
    if sha256:
        headers["ETag"] = f'"{sha256}"'
        headers["X-Content-SHA256"] = sha256
        if etag_matches(if_none_match, headers["ETag"]):
            return Response(content=b"", status_code=304, headers=headers)
    return Response(content=content, media_type="application/pdf", headers=headers)


def _number(value: str | None) -> int | None:
    return parse_int(value, 1, MAX_NUMBER - 1)


def _form_for(context: dict[str, Any]) -> dict[str, Any]:
    """The edit form pre-filled with the shown version and the number it starts from."""
    current = context.get("current")
    minutes = context.get("minutes")
    if not current or not minutes:
        return {}
    return {**current["sections"], "base": str(minutes["current_version"])}


async def _page(request: Request[Any, Any, Any], actor: Actor, meeting_id: int, status_code: int = 200, **extra: Any) -> Template:
    context = await views.page(actor, meeting_id)
    context.setdefault("form", None)
    if extra.get("form") is None:
        extra["form"] = _form_for(context)
    context.update(extra)
    context.setdefault("errors", {})
    context.setdefault("posted", "")
    return render(request, "minutes/page.html", status_code, status_labels=MINUTES_STATUS_LABELS,
                  meeting_status_labels=MEETING_STATUS_LABELS, sections=services.SECTIONS,
                  section_labels=services.SECTION_LABELS, comment_labels=services.COMMENT_LABELS,
                  can_manage=actor.role in OFFICE_ROLES, is_convenor=actor.role == Role.CONVENOR, **context)


async def _act(request: Request[Any, Any, Any], actor: Actor, minutes_id: int, posted: str,
               action: Callable[[dict[str, Any]], Awaitable[Any]], flash: Callable[[Any], str]) -> Template | Redirect:
    """A form of the minutes page: on bad input or a conflict the page comes back with the
    messages beside that form and everything typed kept."""
    minutes = await services.minutes_for(actor, minutes_id)
    data = await form_data(request)
    try:
        result = await action(data)
    except ValidationFailed as exc:
        return await _page(request, actor, minutes["meeting"], 400, posted=posted, posted_form=data, errors=exc.errors,
                           error_message=exc.message)
    except Conflict as exc:
        return await _page(request, actor, minutes["meeting"], 409, posted=posted, posted_form=data, errors={},
                           error_message=exc.message)
    return redirect(f"/meetings/{minutes['meeting']}/minutes", flash(result))


@get("/{meeting_id:int}/minutes", opt={"roles": SUPERVISORS})
async def minutes_page(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Template:
    return await _page(request, actor, meeting_id)


@post("/{meeting_id:int}/minutes", opt={"roles": OFFICE_ROLES})
async def start(actor: CurrentActor, meeting_id: FromPath[int]) -> Redirect:
    await minutes_workflow.start_minutes(actor, meeting_id)
    return redirect(f"/meetings/{meeting_id}/minutes", _("已根据会议记录生成纪要初稿（第1版），请修改完善。"))


@post("/{minutes_id:int}/save", opt={"roles": OFFICE_ROLES})
async def save(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int]) -> Template | Redirect:
    """A conflict re-renders the editor with the user's own text, the message, a link to what the
    other person saved, and `base` moved to the latest version: saving again is a deliberate choice."""
    minutes = await services.minutes_for(actor, minutes_id)
    data = await form_data(request)
    try:
        number = await minutes_workflow.save_version(actor, minutes_id, data)
    except ValidationFailed as exc:
        return await _page(request, actor, minutes["meeting"], 400, posted="edit", form=data, errors=exc.errors,
                           error_message=exc.message)
    except Conflict as exc:
        latest = await services.minutes_row(minutes_id)
        base = _number(str(data.get("base", "")))
        return await _page(request, actor, minutes["meeting"], 409, posted="edit", errors={}, error_message=exc.message,
                           form={**data, "base": str(latest["current_version"])},
                           conflict={"base": base, "latest": latest["current_version"]})
    return redirect(f"/meetings/{minutes['meeting']}/minutes", _("已保存为第{n}版。").format(n=number))


@post("/{minutes_id:int}/submit", opt={"roles": OFFICE_ROLES})
async def submit(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int]) -> Template | Redirect:
    return await _act(request, actor, minutes_id, "submit", lambda d: minutes_workflow.submit_minutes(actor, minutes_id, d),
                      lambda n: _("第{n}版已送召集人审核签发。").format(n=n))


@post("/{minutes_id:int}/comments", opt={"roles": SUPERVISORS})
async def comment(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int]) -> Template | Redirect:
    return await _act(request, actor, minutes_id, "comment", lambda d: minutes_workflow.add_comment(actor, minutes_id, d),
                      lambda _r: _("意见已记录。"))


@post("/{minutes_id:int}/return", opt={"roles": (Role.CONVENOR,)})
async def return_(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int]) -> Template | Redirect:
    return await _act(request, actor, minutes_id, "return", lambda d: minutes_workflow.return_minutes(actor, minutes_id, d),
                      lambda _r: _("纪要已退回办公室修改。"))


@post("/{minutes_id:int}/approve", opt={"roles": (Role.CONVENOR,)})
async def approve(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int]) -> Template | Redirect:
    return await _act(request, actor, minutes_id, "approve", lambda d: minutes_workflow.approve_minutes(actor, minutes_id, d),
                      lambda seq: _("纪要已签发印发，已通知各成员单位和有关街道。") if seq == 1
                      else _("更正版已签发印发，已通知各成员单位和有关街道。"))


@post("/{minutes_id:int}/corrections", opt={"roles": OFFICE_ROLES})
async def correction(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int]) -> Template | Redirect:
    return await _act(request, actor, minutes_id, "correction", lambda d: minutes_workflow.start_correction(actor, minutes_id, d),
                      lambda n: _("已生成更正稿（第{n}版）。已印发的纪要在更正版签发前继续有效。").format(n=n))


def _version_filename(title: str, number: int) -> str:
    return _("{title}（第{n}版）.pdf").format(title=title or _("会议纪要"), n=number)


@get("/{minutes_id:int}/versions/{name:str}", opt={"roles": SUPERVISORS})
async def version(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int], name: FromPath[str]) -> Template | Response[bytes]:
    """`{n}.pdf`: the version as PDF (a signed one is its stored publication); `{n}`: as HTML."""
    number = _number(name.removesuffix(".pdf"))
    if number is None:
        raise NotFound(_("没有找到该版本。"))
    minutes, row = await services.version_for(actor, minutes_id, number)
    sections, records = services.loads(row)
    if name.endswith(".pdf"):
        content = await services.version_pdf(actor, minutes_id, number)
        return pdf_response(content, _version_filename(sections.get("title", ""), number),
                            f"{ascii_stem(minutes)}-v{number}.pdf")
    return render(request, "minutes/version.html", minutes=minutes, version=row, sections=sections,
                  blocks=views.text_blocks(sections, records), status_labels=MINUTES_STATUS_LABELS)


@get("/{minutes_id:int}/diff", opt={"roles": SUPERVISORS})
async def diff(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int]) -> Template:
    minutes = await services.minutes_for(actor, minutes_id)
    b = _number(request.query_params.get("b")) or minutes["current_version"]
    a = _number(request.query_params.get("a")) or max(1, b - 1)
    context = await views.diff(actor, minutes_id, a, b)
    listed = await views.versions(actor, minutes_id)
    return render(request, "minutes/diff.html", numbers=[v["number"] for v in listed], **context)


async def _published(request: Request[Any, Any, Any], actor: Actor, minutes_id: int, seq: int | None) -> Response[bytes]:
    publication = await services.publication_for(actor, minutes_id, seq)
    minutes = await services.minutes_row(minutes_id)
    sections, _records = services.loads(await services.version_row(minutes_id, publication["version_number"]))
    title = sections.get("title") or _("会议纪要")
    stem = ascii_stem(minutes)
    if publication["seq"] > 1:  # a correction: the name says which printing it is
        name, stem = _("{title}（第{seq}次印发）.pdf").format(title=title, seq=publication["seq"]), f"{stem}-{publication['seq']}"
    else:
        name = f"{title}.pdf"
    return pdf_response(publication["pdf"], name, f"{stem}.pdf", publication["sha256"], request.headers.get("if-none-match"))


@get("/{minutes_id:int}/published.pdf", opt={"roles": PEOPLE})
async def published(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int]) -> Response[bytes]:
    """The copy in force (the latest signed), byte for byte as stored at sign-off."""
    return await _published(request, actor, minutes_id, None)


@get("/{minutes_id:int}/publications/{name:str}", opt={"roles": PEOPLE})
async def publication(request: Request[Any, Any, Any], actor: CurrentActor, minutes_id: FromPath[int], name: FromPath[str]) -> Response[bytes]:
    """Each signed copy, also those a correction superseded: /minutes/{id}/publications/{seq}.pdf."""
    seq = _number(name.removesuffix(".pdf")) if name.endswith(".pdf") else None
    if seq is None:
        raise NotFound(_("没有找到该印发件。"))
    return await _published(request, actor, minutes_id, seq)


@get("/{meeting_id:int}/minutes/published.pdf", opt={"roles": PEOPLE})
async def meeting_published(actor: CurrentActor, meeting_id: FromPath[int]) -> Redirect:
    await meeting_for(actor, meeting_id)
    minutes = await services.minutes_of_meeting(meeting_id)
    if minutes is None or minutes["published_version"] is None:
        raise NotFound(_("该会议纪要尚未签发印发。"))
    return Redirect(path=f"/minutes/{minutes['id']}/published.pdf", status_code=303)


# Pages, not API operations: each router is kept out of the OpenAPI schema as a group.
ROUTES: list[Any] = [
    Router("/meetings", route_handlers=[minutes_page, start, meeting_published], include_in_schema=False),
    Router("/minutes", route_handlers=[save, submit, comment, return_, approve, correction, version, diff, published, publication],
           include_in_schema=False),
]
