"""Creating and editing a meeting: the form's fields (with the change-notice choice once the
meeting is notified), the new-meeting page and the edit page, each saved through the services."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor
from conference.i18n import gettext as _
from conference.meetings import lifecycle, notice, services
from conference.meetings.list_routes import conference_options
from conference.registry.tables import Person
from conference.roles import OFFICE_ROLES
from conference.timefmt import local
from conference.web.auth import actor_of
from conference.web.fields import Field
from conference.web.forms import submit
from conference.web.listing import parse_id
from conference.web.templating import render


async def _meeting_fields(actor: Actor, with_conference: bool) -> list[Field]:
    persons = await Person.select(Person.id, Person.name, Person.title).order_by(Person.sort_key, Person.name)
    fields = []
    if with_conference:
        fields.append(Field("conference", _("联席会议"), "select", required=True,
                            options=[("", _("请选择"))] + await conference_options(actor)))
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


@get("/meetings/new", opt={"roles": OFFICE_ROLES}, include_in_schema=False)
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


@post("/meetings/new", opt={"roles": OFFICE_ROLES}, include_in_schema=False)
async def meeting_create(request: Request[Any, Any, Any]) -> Template | Redirect:
    actor = actor_of(request)
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


@get("/meetings/{meeting_id:int}/edit", opt={"roles": OFFICE_ROLES}, include_in_schema=False)
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


@post("/meetings/{meeting_id:int}/edit", opt={"roles": OFFICE_ROLES}, include_in_schema=False)
async def meeting_update(request: Request[Any, Any, Any], meeting_id: FromPath[int]) -> Template | Redirect:
    actor = actor_of(request)
    meeting = await services.managed_meeting(actor, meeting_id)
    return await submit(request, template="form_page.html", fields=await _edit_fields(actor, meeting),
                        title=_("编辑会议"), back=f"/meetings/{meeting_id}", notice=_edit_notice(meeting),
                        action=lambda data: lifecycle.update_meeting(actor, meeting_id, data),
                        success=lambda _r: f"/meetings/{meeting_id}", flash=_saved)


ROUTES = [meeting_new, meeting_create, meeting_edit, meeting_update]
