"""Creating and editing a meeting: the form's fields (with the change-notice choice once the
meeting is notified), the new-meeting page and the edit page, each saved through the services."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor, CurrentActor
from conference.i18n import gettext as _
from conference.meetings import lifecycle, notice, services
from conference.meetings.list_routes import conference_options
from conference.registry.tables import Person
from conference.roles import OFFICE_ROLES
from conference.timefmt import local
from conference.web.fields import Field
from conference.web.forms import submit
from conference.web.listing import parse_id
from conference.web.templating import render


async def _meeting_fields(actor: Actor, with_conference: bool) -> list[Field]:
    """The meeting form (services.MEETING_FORM) with the choices known now: the conferences the
    actor may see (new meetings only) and the persons who may preside."""
    persons = await Person.select(Person.id, Person.name, Person.title).order_by(Person.sort_key, Person.name)
    options = {"presiding": [("", _("（默认：现任召集人）"))] + [(str(p["id"]), f"{p['name']} {p['title']}") for p in persons]}
    if with_conference:
        options["conference"] = [("", _("请选择"))] + await conference_options(actor)
    return services.MEETING_FORM.page_fields(options, skip=() if with_conference else ("conference",))


def _notice_fields() -> list[Field]:
    """The choice a save of a notified meeting offers (lifecycle.update_meeting applies it)."""
    return services.NOTICE_FORM.page_fields({"notice": list(services.NOTICE_LABELS.items())})


async def _edit_fields(actor: Actor, meeting: dict[str, Any]) -> list[Field]:
    fields = await _meeting_fields(actor, False)
    return fields + _notice_fields() if meeting["status"] == "notified" else fields


@get("/new", opt={"roles": OFFICE_ROLES})
async def meeting_new(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    query = dict(request.query_params)
    form = {k: query[k][:120] for k in ("conference", "kind", "title", "date") if query.get(k)}
    form.setdefault("start_time", "09:00")
    form.setdefault("end_time", "11:00")
    form.setdefault("requirements", notice.DEFAULT_REQUIREMENTS)
    return render(request, "form_page.html", fields=await _meeting_fields(actor, True), form=form, errors={},
                  title=_("新建会议"), back="/meetings")


async def _create(actor: Actor, data: dict[str, Any]) -> int:
    return await services.create_meeting(actor, parse_id(data.get("conference")), data)


@post("/new", opt={"roles": OFFICE_ROLES})
async def meeting_create(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    return await submit(request, template="form_page.html", fields=await _meeting_fields(actor, True),
                        title=_("新建会议"), back="/meetings", action=lambda data: _create(actor, data),
                        success=lambda new_id: f"/meetings/{new_id}", flash=_("会议已创建（草稿），受邀单位已按成员名单生成。"))


def _edit_form(meeting: dict[str, Any]) -> dict[str, str]:
    start, end = local(meeting["starts_at"]), local(meeting["ends_at"])
    return {"kind": meeting["kind"], "title": meeting["title"], "date": start.date().isoformat(),
            "start_time": f"{start:%H:%M}", "end_time": f"{end:%H:%M}", "location": meeting["location"],
            "presiding": str(meeting["presiding"] or ""), "notes": meeting["notes"], "version": str(meeting["version"]),
            "notice": "send", "requirements": meeting["requirements"] or notice.DEFAULT_REQUIREMENTS,
            **services.reply_deadline_fields(meeting["reply_deadline"])}


@get("/{meeting_id:int}/edit", opt={"roles": OFFICE_ROLES})
async def meeting_edit(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Template:
    meeting = await services.managed_meeting(actor, meeting_id)
    return render(request, "form_page.html", fields=await _edit_fields(actor, meeting), form=_edit_form(meeting), errors={},
                  title=_("编辑会议"), back=f"/meetings/{meeting_id}", notice=_edit_notice(meeting))


def _edit_notice(meeting: dict[str, Any]) -> str:
    if meeting["status"] != "notified":
        return ""
    return _("会议已通知：修改名称、时间或地点后，保存时将向全部受邀单位发送变更通知；如无需通知，请选择“不通知”并说明理由。")


def _saved(notified: int) -> str:
    return _("会议已保存，已向 {n} 个单位发送变更通知。").format(n=notified) if notified else _("会议已保存。")


@post("/{meeting_id:int}/edit", opt={"roles": OFFICE_ROLES})
async def meeting_update(request: Request[Any, Any, Any], actor: CurrentActor, meeting_id: FromPath[int]) -> Template | Redirect:
    meeting = await services.managed_meeting(actor, meeting_id)
    return await submit(request, template="form_page.html", fields=await _edit_fields(actor, meeting),
                        title=_("编辑会议"), back=f"/meetings/{meeting_id}", notice=_edit_notice(meeting),
                        action=lambda data: lifecycle.update_meeting(actor, meeting_id, data),
                        success=lambda _r: f"/meetings/{meeting_id}", flash=_saved)


# Pages, not API operations: kept out of the OpenAPI schema as a group.
ROUTES = [Router("/meetings", route_handlers=[meeting_new, meeting_create, meeting_edit, meeting_update], include_in_schema=False)]
