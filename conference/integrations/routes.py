"""Pages for the office: its webhook endpoints and group robots, their deliveries and dead letters."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from conference.accounts.actor import Actor, CurrentActor
from conference.errors import ValidationFailed
from conference.i18n import gettext as _
from conference.integrations import services
from conference.integrations.events import EVENT_LABELS, ROBOT_DEFAULT_EVENTS
from conference.integrations.forms import TARGET_FORM
from conference.integrations.messages import REPLAY_WINDOW_SECONDS
from conference.integrations.states import DELIVERY_STATUS_LABELS
from conference.integrations.tables import IntegrationDelivery as D
from conference.roles import OFFICE_ROLES
from conference.settings import get_settings
from conference.web.listing import paginate, parse_id
from conference.web.templating import redirect, render

FORM = "integrations/form.html"


async def _form_data(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {k: v for k, v in form.items() if k not in ("_csrf_token", "events") and isinstance(v, str)}
    data["events"] = [v for v in form.getall("events") if isinstance(v, str)] if "events" in form else []
    return data


async def _form_context(actor: Actor) -> dict[str, Any]:
    return {"conferences": await services.conference_choices(actor), "units": await services.unit_choices(actor),
            "kinds": services.KIND_LABELS, "event_labels": EVENT_LABELS,
            "fields": {f.name: f for f in TARGET_FORM.page_fields()}}  # labels, limits and help of forms.TARGET_FORM


@get("/", opt={"roles": OFFICE_ROLES})
async def target_list(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    rows = await services.targets_for(actor)
    return render(request, "integrations/list.html", rows=rows, kinds=services.KIND_LABELS, event_labels=EVENT_LABELS)


@get("/new", opt={"roles": OFFICE_ROLES})
async def target_new(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    kind = request.query_params.get("kind", "webhook")
    kind = kind if kind in services.KIND_LABELS else "webhook"
    events = list(EVENT_LABELS) if kind == "webhook" else list(ROBOT_DEFAULT_EVENTS)
    return render(request, FORM, form={"kind": kind, "events": events}, errors={}, target=None, **await _form_context(actor))


@post("/new", opt={"roles": OFFICE_ROLES})
async def target_create(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
    data = await _form_data(request)
    try:
        target_id, secret = await services.create_target(actor, data)
    except ValidationFailed as exc:
        return render(request, FORM, 400, form=data, errors=exc.errors, error_message=exc.message, target=None,
                      **await _form_context(actor))
    if secret:  # shown once (pages for a logged-in user are no-store, conference.web.headers); never shown again
        target = await services.target_for(actor, target_id)
        return render(request, "integrations/secret.html", target=target, secret=secret,
                      replay_minutes=REPLAY_WINDOW_SECONDS // 60)
    return redirect("/integrations", _("已添加群机器人。"))


@get("/{target_id:int}/edit", opt={"roles": OFFICE_ROLES})
async def target_edit(request: Request[Any, Any, Any], actor: CurrentActor, target_id: FromPath[int]) -> Template:
    target = await services.target_for(actor, target_id)
    form = {k: ("" if target[k] is None else str(target[k])) for k in ("name", "kind", "conference", "unit", "url", "version")}
    form["events"] = target["events"]
    return render(request, FORM, form=form, errors={}, target=target, **await _form_context(actor))


@post("/{target_id:int}/edit", opt={"roles": OFFICE_ROLES})
async def target_update(request: Request[Any, Any, Any], actor: CurrentActor, target_id: FromPath[int]) -> Template | Redirect:
    target = await services.target_for(actor, target_id)
    data = await _form_data(request)
    try:
        await services.update_target(actor, target_id, data)
    except ValidationFailed as exc:
        return render(request, FORM, 400, form={**data, "kind": target["kind"]}, errors=exc.errors,
                      error_message=exc.message, target=target, **await _form_context(actor))
    return redirect("/integrations", _("已保存。"))


@post("/{target_id:int}/disable", opt={"roles": OFFICE_ROLES})
async def target_disable(actor: CurrentActor, target_id: FromPath[int]) -> Redirect:
    await services.set_active(actor, target_id, False)
    return redirect("/integrations", _("已停用，不再向该地址推送。"))


@post("/{target_id:int}/enable", opt={"roles": OFFICE_ROLES})
async def target_enable(actor: CurrentActor, target_id: FromPath[int]) -> Redirect:
    await services.set_active(actor, target_id, True)
    return redirect("/integrations", _("已启用。"))


@post("/{target_id:int}/secret", opt={"roles": OFFICE_ROLES})
async def target_secret(request: Request[Any, Any, Any], actor: CurrentActor, target_id: FromPath[int]) -> Template:
    secret = await services.new_secret(actor, target_id)
    target = await services.target_for(actor, target_id)
    return render(request, "integrations/secret.html", target=target, secret=secret,
                  replay_minutes=REPLAY_WINDOW_SECONDS // 60)


@get("/deliveries", opt={"roles": OFFICE_ROLES})
async def delivery_list(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
    query = dict(request.query_params)
    status = query.get("status", "")
    target_id = parse_id(query.get("target"))
    where = await services.deliveries_condition(actor, status, target_id)
    if "sort" not in query:
        query["desc"] = "1"
    columns = [D.id, D.created_at, D.status, D.attempts, D.last_error, D.response_status, D.delivered_at, D.next_attempt_at,
               D.event.type.as_alias("event_type"), D.event.id.as_alias("event_id"), D.target.id.as_alias("target_id"),
               D.target.name.as_alias("target_name"), D.target.kind.as_alias("target_kind")]
    page = await paginate(D, columns, query, search=[D.last_error, D.target.name], sorts={"created": D.id},
                          default_sort="created", where=where)
    return render(request, "integrations/deliveries.html", page=page, status=status, target_id=target_id,
                  status_labels=DELIVERY_STATUS_LABELS, event_labels=EVENT_LABELS, kinds=services.KIND_LABELS,
                  retry_hours=f"{get_settings().webhook_retry_hours:g}")


@post("/deliveries/{delivery_id:int}/redeliver", opt={"roles": OFFICE_ROLES})
async def delivery_redeliver(actor: CurrentActor, delivery_id: FromPath[int]) -> Redirect:
    await services.redeliver(actor, delivery_id)
    return redirect("/integrations/deliveries?status=dead", _("已重新排队，将在几分钟内再次投递。"))


# Pages, not API operations: kept out of the OpenAPI schema as a group.
ROUTES: list[Any] = [
    Router("/integrations", route_handlers=[target_list, target_new, target_create, target_edit, target_update, target_disable,
                                            target_enable, target_secret, delivery_list, delivery_redeliver], include_in_schema=False),
]
