"""Convenors (persons) and their appointments to conferences over the JSON API (part of
conference.registry.api)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Router, get, patch, post
from litestar.params import FromQuery
from piccolo.columns import Column

from conference.accounts.actor import Actor, CurrentActor
from conference.i18n import gettext as _
from conference.records import get_or_404
from conference.registry import services
from conference.registry.api_types import (
    AppointmentIn,
    AppointmentOut,
    ConvenorIn,
    ConvenorOut,
    ConvenorPatch,
    PeriodEnd,
    all_of,
    items_of,
    period_out,
    scope_where,
)
from conference.registry.forms import APPOINTMENT_FORM, PERIOD_END_FORM, PERSON_FORM
from conference.registry.tables import ConvenorAppointment, Person
from conference.roles import OFFICE_ROLES, SUPERVISORS
from conference.web.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    Desc,
    OptionalId,
    Page,
    PageNo,
    PerPage,
    Q,
    RecordId,
    answers,
    body,
    convert,
    list_query,
    merged,
    page_fields,
)
from conference.web.listing import PER_PAGE, paginate

# ---------------------------------------------------------------- convenors (persons)

CONVENOR_SORTS: dict[str, Column] = {"name": Person.sort_key, "title": Person.title}


@get("/", opt={"roles": OFFICE_ROLES}, tags=["召集人"], summary=_("召集人列表"), responses=answers(Page[ConvenorOut], READ_ERRORS))
async def list_convenors(q: Q = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                         sort: FromQuery[Literal["name", "title"]] = "name", desc: Desc = False) -> Page[ConvenorOut]:
    """召集人名册；q 搜索姓名或职务。"""
    result = await paginate(Person, [], list_query(q, page, per_page, sort, desc), search=[Person.name, Person.title],
                            sorts=CONVENOR_SORTS, default_sort="name")
    return Page(items=items_of(result, ConvenorOut), **page_fields(result))


@get("/{person_id:int}", opt={"roles": OFFICE_ROLES}, tags=["召集人"], summary=_("召集人详情"),
     responses=answers(ConvenorOut, READ_ERRORS))
async def get_convenor(person_id: RecordId) -> ConvenorOut:
    """一位召集人的登记信息。"""
    return convert(await get_or_404(Person, person_id, services.NOT_FOUND), ConvenorOut)


@post("/", opt={"roles": OFFICE_ROLES}, tags=["召集人"], summary=_("新建召集人"), responses=answers(ConvenorOut, WRITE_ERRORS, status=201))
async def create_convenor(actor: CurrentActor,
                          data: Annotated[ConvenorIn, body(ConvenorIn)]) -> ConvenorOut:  # type: ignore[valid-type]
    """登记召集人（姓名、职务、电话、邮箱）；任命到联席会议见 appointments。"""
    new_id = await services.create_person(actor, PERSON_FORM.json_fields(data))
    return convert(await get_or_404(Person, new_id), ConvenorOut)


@patch("/{person_id:int}", opt={"roles": OFFICE_ROLES}, tags=["召集人"], summary=_("修改召集人"),
       responses=answers(ConvenorOut, WRITE_ERRORS))
async def update_convenor(actor: CurrentActor, person_id: RecordId,
                          data: Annotated[ConvenorPatch, body(ConvenorPatch)]) -> ConvenorOut:  # type: ignore[valid-type]
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。"""
    PERSON_FORM.json_fields(data)  # wrong JSON types answer before anything is read
    stored = await get_or_404(Person, person_id, services.NOT_FOUND)
    await services.update_person(actor, person_id, merged(stored, data))
    return convert(await get_or_404(Person, person_id), ConvenorOut)


# ---------------------------------------------------------------- convenor appointments

APPOINTMENT_COLUMNS = [*ConvenorAppointment.all_columns(), ConvenorAppointment.person.name.as_alias("person_name"),
                       ConvenorAppointment.conference.name.as_alias("conference_name")]
APPOINTMENT_SORTS: dict[str, Column] = {"start_date": ConvenorAppointment.start_date, "end_date": ConvenorAppointment.end_date,
                     "person_name": ConvenorAppointment.person.name,
                     "conference_name": ConvenorAppointment.conference.name}


async def _appointment(actor: Actor, appointment_id: int) -> AppointmentOut:
    return await period_out(ConvenorAppointment, APPOINTMENT_COLUMNS, appointment_id, AppointmentOut, actor)


@get("/appointments", opt={"roles": SUPERVISORS}, tags=["召集人任期"], summary=_("召集人任期列表"),
     responses=answers(Page[AppointmentOut], READ_ERRORS))
async def list_appointments(actor: CurrentActor, q: Q = None, conference: OptionalId = None,
                            person: OptionalId = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                            sort: FromQuery[Literal["start_date", "end_date", "person_name", "conference_name"]] = "start_date",
                            desc: Desc = False) -> Page[AppointmentOut]:
    """只含本账号可见的联席会议；q 搜索召集人姓名或联席会议名称。"""
    where = all_of(await scope_where(ConvenorAppointment.conference, actor),
                 None if conference is None else ConvenorAppointment.conference == conference,
                 None if person is None else ConvenorAppointment.person == person)
    result = await paginate(ConvenorAppointment, APPOINTMENT_COLUMNS, list_query(q, page, per_page, sort, desc),
                            search=[ConvenorAppointment.person.name, ConvenorAppointment.conference.name],
                            sorts=APPOINTMENT_SORTS, default_sort="start_date", where=where)
    return Page(items=items_of(result, AppointmentOut), **page_fields(result))


@get("/appointments/{appointment_id:int}", opt={"roles": SUPERVISORS}, tags=["召集人任期"],
     summary=_("召集人任期详情"), responses=answers(AppointmentOut, READ_ERRORS))
async def get_appointment(actor: CurrentActor, appointment_id: RecordId) -> AppointmentOut:
    """一项召集人任期；只含本账号可见的联席会议。"""
    return await _appointment(actor, appointment_id)


@post("/conferences/{conference_id:int}/appointments", opt={"roles": OFFICE_ROLES}, tags=["召集人任期"],
      summary=_("任命召集人"), responses=answers(AppointmentOut, WRITE_ERRORS, status=201))
async def add_appointment(actor: CurrentActor, conference_id: RecordId,
                          data: Annotated[AppointmentIn, body(AppointmentIn)]) -> AppointmentOut:  # type: ignore[valid-type]
    """同一联席会议同一时间只有一位召集人：须先结束现任召集人的任期。"""
    new_id = await services.add_appointment(actor, conference_id, APPOINTMENT_FORM.json_fields(data))
    return await _appointment(actor, new_id)


@post("/appointments/{appointment_id:int}/end", opt={"roles": OFFICE_ROLES}, tags=["召集人任期"],
      summary=_("结束召集人任期"), status_code=200, responses=answers(AppointmentOut, WRITE_ERRORS))
async def end_appointment(actor: CurrentActor, appointment_id: RecordId,
                          data: Annotated[PeriodEnd, body(PeriodEnd)]) -> AppointmentOut:  # type: ignore[valid-type]
    """结束任期：end_date 不填为今天，不能早于开始日期；version 须为读取时的版本。"""
    await services.end_period(actor, ConvenorAppointment, "convenor_appointment", appointment_id,
                              PERIOD_END_FORM.json_fields(data))
    return await _appointment(actor, appointment_id)


PERSON_ROUTES: list[Router] = [
    Router("/api/convenors", route_handlers=[list_convenors, get_convenor, create_convenor, update_convenor]),
    # /api/appointments, and a conference's: /api/conferences/{conference_id}/appointments
    Router("/api", route_handlers=[list_appointments, get_appointment, add_appointment, end_appointment]),
]
