"""Registry pages for the office: list (search, sort, pages), create, view, edit, end.

Streets, member units, convenors and conferences share one page pattern, built by `resource_routes`
from a `Resource` description; what differs (fields, columns, services, detail context) is data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Router, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template
from piccolo.columns import Column as DbColumn
from piccolo.table import Table

from conference.accounts import onboarding
from conference.accounts.actor import Actor, CurrentActor
from conference.accounts.scope import visible_conference_ids
from conference.errors import NotFound, ValidationFailed
from conference.i18n import gettext as _
from conference.records import get_or_404
from conference.registry import services, views
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit, Person, Street
from conference.roles import OFFICE_ROLES, SUPERVISORS
from conference.web.fields import Field
from conference.web.forms import submit
from conference.web.listing import paginate
from conference.web.templating import render


@dataclass(frozen=True)
class Resource:
    slug: str  # URL segment
    table: type[Table]
    title: str  # plural, for the list
    noun: str  # singular, for buttons and headings
    fields: Callable[[], Awaitable[list[Field]]]
    columns: list[views.Column]
    search: Callable[[], list[DbColumn]]
    sorts: Callable[[], dict[str, DbColumn]]
    default_sort: str
    create: Callable[[Actor, dict[str, Any]], Awaitable[int]]
    update: Callable[[Actor, int, dict[str, Any]], Awaitable[None]]
    detail: Callable[[Actor, int], Awaitable[dict[str, Any]]]
    scoped: bool = False  # conferences: only those the actor can see
    read_roles: tuple[str, ...] = OFFICE_ROLES


def resource_routes(res: Resource) -> list[HTTPRouteHandler]:
    """The list, new, detail and edit pages of one resource, relative to its router at `base`."""
    base = f"/registry/{res.slug}"

    async def load(actor: Actor, record_id: FromPath[int]) -> dict[str, Any]:
        if res.scoped:
            return await services.require_visible_conference(actor, record_id)
        return await get_or_404(res.table, record_id)

    @get("/", name=f"{res.slug}_list", opt={"roles": res.read_roles})
    async def list_page(request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
        where = None
        if res.scoped:
            visible = await visible_conference_ids(actor)
            if visible is not None:
                where = res.table._meta.primary_key.is_in(list(visible) or [0])
        page = await paginate(res.table, [], dict(request.query_params), search=res.search(), sorts=res.sorts(),
                              default_sort=res.default_sort, where=where)
        return render(request, "registry/list.html", res=res, page=page, base=base)

    @get("/new", name=f"{res.slug}_new", opt={"roles": OFFICE_ROLES})
    async def new_page(request: Request[Any, Any, Any]) -> Template:
        return render(request, "form_page.html", fields=await res.fields(), form={}, errors={},
                      title=_("新建{noun}").format(noun=res.noun), back=base)

    @post("/new", name=f"{res.slug}_create", opt={"roles": OFFICE_ROLES})
    async def create(request: Request[Any, Any, Any], actor: CurrentActor) -> Template | Redirect:
        return await submit(request, template="form_page.html", fields=await res.fields(),
                            title=_("新建{noun}").format(noun=res.noun), back=base,
                            action=lambda data: res.create(actor, data),
                            success=lambda new_id: f"{base}/{new_id}", flash=_("已保存。"))

    @get("/{record_id:int}", name=f"{res.slug}_detail", opt={"roles": res.read_roles})
    async def detail(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template:
        record = await load(actor, record_id)
        return render(request, f"registry/{res.slug}_detail.html", res=res, record=record, base=base,
                      fields=await res.fields(), **await res.detail(actor, record_id))

    @get("/{record_id:int}/edit", name=f"{res.slug}_edit", opt={"roles": OFFICE_ROLES})
    async def edit_page(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template:
        record = await load(actor, record_id)
        form = {k: ("" if v is None else str(v)) for k, v in record.items()}
        return render(request, "form_page.html", fields=await res.fields(), form=form, errors={},
                      title=_("编辑{noun}").format(noun=res.noun), back=f"{base}/{record_id}")

    @post("/{record_id:int}/edit", name=f"{res.slug}_update", opt={"roles": OFFICE_ROLES})
    async def update(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template | Redirect:
        await load(actor, record_id)
        return await submit(request, template="form_page.html", fields=await res.fields(),
                            title=_("编辑{noun}").format(noun=res.noun), back=f"{base}/{record_id}",
                            action=lambda data: res.update(actor, record_id, data),
                            success=lambda _r: f"{base}/{record_id}", flash=_("已保存。"))

    return [list_page, new_page, create, detail, edit_page, update]


async def _in_scope(actor: Actor, rows: list[dict[str, Any]], key: str = "conference_id") -> list[dict[str, Any]]:
    """Units, streets and convenors are shared records, but the conferences listed on their pages
    are only those the actor may see (as everywhere else)."""
    visible = await visible_conference_ids(actor)
    return rows if visible is None else [r for r in rows if r[key] in visible]


async def _unit_detail(actor: Actor, unit_id: int) -> dict[str, Any]:
    return {"memberships": await _in_scope(actor, await views.unit_memberships(unit_id))}


async def _person_detail(actor: Actor, person_id: int) -> dict[str, Any]:
    rows = await ConvenorAppointment.select(
        ConvenorAppointment.id, ConvenorAppointment.title, ConvenorAppointment.start_date, ConvenorAppointment.end_date,
        ConvenorAppointment.conference.name.as_alias("conference_name"),
        ConvenorAppointment.conference.id.as_alias("conference_id"),
    ).where(ConvenorAppointment.person == person_id).order_by(ConvenorAppointment.start_date, ascending=False)
    return {"appointments": await _in_scope(actor, rows)}


async def _street_detail(actor: Actor, street_id: int) -> dict[str, Any]:
    rows = await Conference.select(Conference.id, Conference.name).where(Conference.street == street_id)
    return {"conferences": await _in_scope(actor, rows, "id")}


async def _conference_detail(actor: Actor, conference_id: int) -> dict[str, Any]:
    context = await views.conference_detail(conference_id)
    context["can_manage"] = actor.role in OFFICE_ROLES
    return context


STREETS = Resource(
    "streets", Street, _("街道"), _("街道"), views.street_fields, views.STREET_COLUMNS,
    search=lambda: [Street.name, Street.district, Street.secretary_name],
    sorts=lambda: {"name": Street.sort_key, "district": Street.district}, default_sort="name",
    create=services.create_street, update=services.update_street, detail=_street_detail,
)
UNITS = Resource(
    "units", MemberUnit, _("成员单位"), _("成员单位"), views.unit_fields, views.UNIT_COLUMNS,
    search=lambda: [MemberUnit.name, MemberUnit.liaison_name, MemberUnit.duties],
    sorts=lambda: {"name": MemberUnit.sort_key, "kind": MemberUnit.kind, "ended_on": MemberUnit.ended_on}, default_sort="name",
    create=services.create_unit, update=services.update_unit, detail=_unit_detail,
)
PERSONS = Resource(
    "convenors", Person, _("召集人"), _("召集人"), views.person_fields, views.PERSON_COLUMNS,
    search=lambda: [Person.name, Person.title], sorts=lambda: {"name": Person.sort_key, "title": Person.title},
    default_sort="name", create=services.create_person, update=services.update_person, detail=_person_detail,
)
CONFERENCES = Resource(
    "conferences", Conference, _("联席会议"), _("联席会议"), views.conference_fields, views.CONFERENCE_COLUMNS,
    search=lambda: [Conference.name], sorts=lambda: {"name": Conference.sort_key, "level": Conference.level},
    default_sort="name", create=services.create_conference, update=services.update_conference,
    detail=_conference_detail, scoped=True, read_roles=SUPERVISORS,
)


@post("/{record_id:int}/end", opt={"roles": OFFICE_ROLES})
async def end_unit(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template | Redirect:
    record = await get_or_404(MemberUnit, record_id)
    return await submit(request, template="registry/units_detail.html", res=UNITS, record=record, base="/registry/units",
                        fields=await UNITS.fields(), **await _unit_detail(actor, record_id),
                        action=lambda data: services.end_unit(actor, record_id, data),
                        success=lambda _r: f"/registry/units/{record_id}", flash=_("该单位已撤销，其成员资格同日结束。"))


async def _conference_page_submit(request: Request[Any, Any, Any], actor: Actor, conference_id: int,
                                  action: Callable[[dict[str, Any]], Awaitable[Any]], flash: str | Callable[[Any], str],
                                  posted: str, posted_id: int | None = None) -> Template | Redirect:
    """`posted` names the form of the page that was sent, so that its messages and input show there."""
    record = await services.require_visible_conference(actor, conference_id)
    return await submit(request, template="registry/conferences_detail.html", res=CONFERENCES, record=record,
                        base="/registry/conferences", fields=await CONFERENCES.fields(),
                        posted=posted, posted_id=posted_id, **await _conference_detail(actor, conference_id),
                        action=action, success=lambda _r: f"/registry/conferences/{conference_id}", flash=flash)


@post("/{record_id:int}/memberships", opt={"roles": OFFICE_ROLES})
async def add_membership(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template | Redirect:
    return await _conference_page_submit(request, actor, record_id, lambda d: services.add_membership(actor, record_id, d),
                                         _("已添加成员单位。"), "membership")


@post("/{record_id:int}/appointments", opt={"roles": OFFICE_ROLES})
async def add_appointment(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template | Redirect:

    async def appoint(data: dict[str, Any]) -> bool:
        """The appointment, and the convenor's account when the form asks for it (checked first,
        so that a convenor without an address is told before anything is saved)."""
        person = str(data.get("person") or "")
        wants_account = data.get("create_account") == "1" and person.isdecimal() and len(person) < 10
        if wants_account:
            try:
                await onboarding.check_can_create(actor, onboarding.KINDS["convenors"], int(person), "create_account")
            except NotFound:
                raise ValidationFailed({"create_account": _("该召集人不是本联席会议登记的，不能由本办公室为其开通账号。")}) from None
        await services.add_appointment(actor, record_id, data)
        if wants_account:
            await onboarding.create_with_defaults(actor, onboarding.KINDS["convenors"], int(person))
        return wants_account

    return await _conference_page_submit(
        request, actor, record_id, appoint,
        lambda created: _("已任命召集人，并已为其开通账号、发送设置密码链接。") if created else _("已任命召集人。"), "appointment")


@post("/memberships/{record_id:int}/end", opt={"roles": OFFICE_ROLES})
async def end_membership(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template | Redirect:
    row = await get_or_404(Membership, record_id)
    return await _conference_page_submit(
        request, actor, row["conference"], lambda d: services.end_period(actor, Membership, "membership", record_id, d),
        _("成员资格已结束。"), "membership_end", record_id)


@post("/appointments/{record_id:int}/end", opt={"roles": OFFICE_ROLES})
async def end_appointment(request: Request[Any, Any, Any], actor: CurrentActor, record_id: FromPath[int]) -> Template | Redirect:
    row = await get_or_404(ConvenorAppointment, record_id)
    return await _conference_page_submit(
        request, actor, row["conference"],
        lambda d: services.end_period(actor, ConvenorAppointment, "convenor_appointment", record_id, d),
        _("召集人任期已结束。"), "appointment_end", record_id)


# Pages, not API operations: each router is kept out of the OpenAPI schema as a group.
ROUTES: list[Router] = [
    Router("/registry/streets", route_handlers=resource_routes(STREETS), include_in_schema=False),
    Router("/registry/units", route_handlers=[*resource_routes(UNITS), end_unit], include_in_schema=False),
    Router("/registry/convenors", route_handlers=resource_routes(PERSONS), include_in_schema=False),
    Router("/registry/conferences", route_handlers=[*resource_routes(CONFERENCES), add_membership, add_appointment],
           include_in_schema=False),
    # A membership's and an appointment's end, posted from their conference's page.
    Router("/registry", route_handlers=[end_membership, end_appointment], include_in_schema=False),
]
