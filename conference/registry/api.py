"""Registry JSON API under /api/: streets, conferences, member units, convenors, memberships and
convenor appointments, plus /api/me.

Handlers are thin: scope-check or load, call one service of conference.registry.services, return
plain data. Permissions mirror the HTML pages (conference.registry.routes): admin and office read
and write, a convenor reads the conferences it convenes and their memberships and appointments, and
conference reads go through visible_conference_ids (an out-of-scope id answers 404 like a missing one).

Request bodies are msgspec Structs so that /schema documents them. Create bodies make every field
optional: the services validate the full record and answer each missing field in Chinese. PATCH
bodies require the `version` the client read (optimistic locking); a field left out keeps its stored
value, a field sent as null is cleared; the handler merges the stored record with the given fields,
because the services validate whole records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypeVar

import msgspec
from litestar import Request, get, patch, post
from litestar.params import FromQuery, JSONBody
from piccolo.columns import Column

from conference.accounts.scope import visible_conference_ids
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.records import get_or_404
from conference.registry import services
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit, Person, Street
from conference.web.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    Desc,
    OptionalId,
    PageNo,
    PerPage,
    Q,
    RecordId,
    convert,
    error_responses,
    list_query,
    merged,
    sent_fields,
)
from conference.web.auth import actor_of
from conference.web.listing import PER_PAGE, Page, paginate

OFFICE = ("admin", "office")
CONFERENCE_READERS = ("admin", "office", "convenor")
ALL_ROLES = ("admin", "office", "convenor", "street", "unit")

S = TypeVar("S", bound=msgspec.Struct)


# ---------------------------------------------------------------- documents


class StreetOut(msgspec.Struct):
    id: int
    name: str
    district: str
    secretary_name: str
    phone: str
    ended_on: dt.date | None
    version: int
    created_at: dt.datetime


class StreetIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    district: str | None = None
    secretary_name: str | None = None
    phone: str | None = None


class StreetPatch(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    name: str | msgspec.UnsetType | None = msgspec.UNSET
    district: str | msgspec.UnsetType | None = msgspec.UNSET
    secretary_name: str | msgspec.UnsetType | None = msgspec.UNSET
    phone: str | msgspec.UnsetType | None = msgspec.UNSET


class ConferenceOut(msgspec.Struct):
    id: int
    name: str
    level: str  # city | district | street
    parent: int | None
    street: int | None
    office_email: str
    office_contact: str
    office_phone: str
    doc_prefix: str  # 发文机关代字, e.g. 兰联办: documents are numbered 兰联办〔2026〕6号
    version: int
    created_at: dt.datetime


class ConferenceIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    level: str | None = None
    parent: int | None = None
    street: int | None = None
    office_email: str | None = None
    office_contact: str | None = None
    office_phone: str | None = None
    doc_prefix: str | None = None


class ConferencePatch(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    name: str | msgspec.UnsetType | None = msgspec.UNSET
    level: str | msgspec.UnsetType | None = msgspec.UNSET
    parent: int | msgspec.UnsetType | None = msgspec.UNSET
    street: int | msgspec.UnsetType | None = msgspec.UNSET
    office_email: str | msgspec.UnsetType | None = msgspec.UNSET
    office_contact: str | msgspec.UnsetType | None = msgspec.UNSET
    office_phone: str | msgspec.UnsetType | None = msgspec.UNSET
    doc_prefix: str | msgspec.UnsetType | None = msgspec.UNSET


class UnitOut(msgspec.Struct):
    id: int
    name: str
    kind: str  # department | dispatched_agency | street | other
    parent_unit: int | None
    duties: str
    liaison_name: str
    liaison_phone: str
    liaison_email: str
    leader_name: str
    ended_on: dt.date | None
    version: int
    created_at: dt.datetime


class UnitIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    kind: str | None = None
    parent_unit: int | None = None
    duties: str | None = None
    liaison_name: str | None = None
    liaison_phone: str | None = None
    liaison_email: str | None = None
    leader_name: str | None = None


class UnitPatch(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    name: str | msgspec.UnsetType | None = msgspec.UNSET
    kind: str | msgspec.UnsetType | None = msgspec.UNSET
    parent_unit: int | msgspec.UnsetType | None = msgspec.UNSET
    duties: str | msgspec.UnsetType | None = msgspec.UNSET
    liaison_name: str | msgspec.UnsetType | None = msgspec.UNSET
    liaison_phone: str | msgspec.UnsetType | None = msgspec.UNSET
    liaison_email: str | msgspec.UnsetType | None = msgspec.UNSET
    leader_name: str | msgspec.UnsetType | None = msgspec.UNSET


class UnitEnd(msgspec.Struct, forbid_unknown_fields=True):
    ended_on: dt.date | None = None
    version: int | None = None


class ConvenorOut(msgspec.Struct):
    id: int
    name: str
    title: str
    phone: str
    email: str
    version: int


class ConvenorIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    title: str | None = None
    phone: str | None = None
    email: str | None = None


class ConvenorPatch(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    name: str | msgspec.UnsetType | None = msgspec.UNSET
    title: str | msgspec.UnsetType | None = msgspec.UNSET
    phone: str | msgspec.UnsetType | None = msgspec.UNSET
    email: str | msgspec.UnsetType | None = msgspec.UNSET


class MembershipOut(msgspec.Struct):
    id: int
    unit: int
    unit_name: str
    conference: int
    conference_name: str
    start_date: dt.date
    end_date: dt.date | None
    version: int


class MembershipIn(msgspec.Struct, forbid_unknown_fields=True):
    unit: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class AppointmentOut(msgspec.Struct):
    id: int
    person: int
    person_name: str
    conference: int
    conference_name: str
    title: str
    start_date: dt.date
    end_date: dt.date | None
    version: int


class AppointmentIn(msgspec.Struct, forbid_unknown_fields=True):
    person: int | None = None
    title: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class PeriodEnd(msgspec.Struct, forbid_unknown_fields=True):
    end_date: dt.date | None = None
    version: int | None = None


class StreetPage(msgspec.Struct):
    items: list[StreetOut]
    total: int
    page: int
    per_page: int


class ConferencePage(msgspec.Struct):
    items: list[ConferenceOut]
    total: int
    page: int
    per_page: int


class UnitPage(msgspec.Struct):
    items: list[UnitOut]
    total: int
    page: int
    per_page: int


class ConvenorPage(msgspec.Struct):
    items: list[ConvenorOut]
    total: int
    page: int
    per_page: int


class MembershipPage(msgspec.Struct):
    items: list[MembershipOut]
    total: int
    page: int
    per_page: int


class AppointmentPage(msgspec.Struct):
    items: list[AppointmentOut]
    total: int
    page: int
    per_page: int


class Me(msgspec.Struct):
    id: int
    username: str
    display_name: str
    role: str  # admin | office | convenor | street | unit
    conference_id: int | None
    street_id: int | None
    unit_id: int | None
    person_id: int | None


# ---------------------------------------------------------------- parameters and helpers

def _items(page: Page, out: type[S]) -> list[S]:
    return [convert(row, out) for row in page.rows]


async def _scope_where(column: Column, request: Request[Any, Any, Any]) -> Any:
    """A condition limiting `column` (a conference id) to the caller's conferences; None for admin."""
    visible = await visible_conference_ids(actor_of(request))
    return None if visible is None else column.is_in(list(visible) or [0])


def _and(*conditions: Any) -> Any:
    result = None
    for condition in conditions:
        if condition is not None:
            result = condition if result is None else (result & condition)
    return result


# ---------------------------------------------------------------- me


@get("/api/me", opt={"roles": ALL_ROLES}, tags=["账号"], summary=_("当前账号"), responses=error_responses(401))
async def me(request: Request[Any, Any, Any]) -> Me:
    """令牌所属的账号：用户名、角色，以及角色所关联的联席会议、街道、成员单位或召集人编号。"""
    actor = actor_of(request)
    return Me(id=actor.id, username=actor.username, display_name=actor.display_name, role=actor.role,
              conference_id=actor.conference_id, street_id=actor.street_id, unit_id=actor.unit_id,
              person_id=actor.person_id)


# ---------------------------------------------------------------- streets

STREET_SORTS: dict[str, Column] = {"name": Street.sort_key, "district": Street.district}


@get("/api/streets", opt={"roles": OFFICE}, tags=["街道"], summary=_("街道列表"), responses=READ_ERRORS)
async def list_streets(q: Q = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                       sort: FromQuery[Literal["name", "district"]] = "name", desc: Desc = False) -> StreetPage:
    """按街道名称、所属县区或党工委书记搜索。"""
    result = await paginate(Street, [], list_query(q, page, per_page, sort, desc),
                            search=[Street.name, Street.district, Street.secretary_name], sorts=STREET_SORTS,
                            default_sort="name")
    return StreetPage(items=_items(result, StreetOut), total=result.total, page=result.page, per_page=result.per_page)


@get("/api/streets/{street_id:int}", opt={"roles": OFFICE}, tags=["街道"], summary=_("街道详情"), responses=READ_ERRORS)
async def get_street(street_id: RecordId) -> StreetOut:
    return convert(await get_or_404(Street, street_id, services.NOT_FOUND), StreetOut)


@post("/api/streets", opt={"roles": OFFICE}, tags=["街道"], summary=_("新建街道"), responses=WRITE_ERRORS)
async def create_street(request: Request[Any, Any, Any], data: JSONBody[StreetIn]) -> StreetOut:
    new_id = await services.create_street(actor_of(request), sent_fields(data))
    return convert(await get_or_404(Street, new_id), StreetOut)


@patch("/api/streets/{street_id:int}", opt={"roles": OFFICE}, tags=["街道"], summary=_("修改街道"),
       responses=WRITE_ERRORS)
async def update_street(request: Request[Any, Any, Any], street_id: RecordId, data: JSONBody[StreetPatch]) -> StreetOut:
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。"""
    stored = await get_or_404(Street, street_id, services.NOT_FOUND)
    await services.update_street(actor_of(request), street_id, merged(stored, data))
    return convert(await get_or_404(Street, street_id), StreetOut)


# ---------------------------------------------------------------- conferences

CONFERENCE_SORTS: dict[str, Column] = {"name": Conference.sort_key, "level": Conference.level}


@get("/api/conferences", opt={"roles": CONFERENCE_READERS}, tags=["联席会议"], summary=_("联席会议列表"),
     responses=READ_ERRORS)
async def list_conferences(request: Request[Any, Any, Any], q: Q = None, page: PageNo = 1,
                           per_page: PerPage = PER_PAGE, sort: FromQuery[Literal["name", "level"]] = "name",
                           desc: Desc = False) -> ConferencePage:
    """只列出本账号可见的联席会议（办公室含下级联席会议，召集人为其召集的联席会议）。"""
    result = await paginate(Conference, [], list_query(q, page, per_page, sort, desc), search=[Conference.name],
                            sorts=CONFERENCE_SORTS, default_sort="name",
                            where=await _scope_where(Conference.id, request))
    return ConferencePage(items=_items(result, ConferenceOut), total=result.total, page=result.page,
                          per_page=result.per_page)


@get("/api/conferences/{conference_id:int}", opt={"roles": CONFERENCE_READERS}, tags=["联席会议"],
     summary=_("联席会议详情"), responses=READ_ERRORS)
async def get_conference(request: Request[Any, Any, Any], conference_id: RecordId) -> ConferenceOut:
    return convert(await services.require_visible_conference(actor_of(request), conference_id), ConferenceOut)


@post("/api/conferences", opt={"roles": OFFICE}, tags=["联席会议"], summary=_("新建联席会议"), responses=WRITE_ERRORS)
async def create_conference(request: Request[Any, Any, Any], data: JSONBody[ConferenceIn]) -> ConferenceOut:
    """level 取 city（市级）、district（县区级）或 street（街道级）；街道级须给出 street。"""
    new_id = await services.create_conference(actor_of(request), sent_fields(data))
    return convert(await get_or_404(Conference, new_id), ConferenceOut)


@patch("/api/conferences/{conference_id:int}", opt={"roles": OFFICE}, tags=["联席会议"], summary=_("修改联席会议"),
       responses=WRITE_ERRORS)
async def update_conference(request: Request[Any, Any, Any], conference_id: RecordId,
                            data: JSONBody[ConferencePatch]) -> ConferenceOut:
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。"""
    actor = actor_of(request)
    stored = await services.require_visible_conference(actor, conference_id)
    await services.update_conference(actor, conference_id, merged(stored, data))
    return convert(await get_or_404(Conference, conference_id), ConferenceOut)


# ---------------------------------------------------------------- member units

UNIT_SORTS: dict[str, Column] = {"name": MemberUnit.sort_key, "kind": MemberUnit.kind, "ended_on": MemberUnit.ended_on}


@get("/api/units", opt={"roles": OFFICE}, tags=["成员单位"], summary=_("成员单位列表"), responses=READ_ERRORS)
async def list_units(q: Q = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                     sort: FromQuery[Literal["name", "kind", "ended_on"]] = "name", desc: Desc = False) -> UnitPage:
    """按单位名称、联络员或职责任务搜索。"""
    result = await paginate(MemberUnit, [], list_query(q, page, per_page, sort, desc),
                            search=[MemberUnit.name, MemberUnit.liaison_name, MemberUnit.duties], sorts=UNIT_SORTS,
                            default_sort="name")
    return UnitPage(items=_items(result, UnitOut), total=result.total, page=result.page, per_page=result.per_page)


@get("/api/units/{unit_id:int}", opt={"roles": OFFICE}, tags=["成员单位"], summary=_("成员单位详情"),
     responses=READ_ERRORS)
async def get_unit(unit_id: RecordId) -> UnitOut:
    return convert(await get_or_404(MemberUnit, unit_id, services.NOT_FOUND), UnitOut)


@post("/api/units", opt={"roles": OFFICE}, tags=["成员单位"], summary=_("新建成员单位"), responses=WRITE_ERRORS)
async def create_unit(request: Request[Any, Any, Any], data: JSONBody[UnitIn]) -> UnitOut:
    """kind 取 department（区直部门）、dispatched_agency（派驻机构）、street（街道）或 other（其他）。"""
    new_id = await services.create_unit(actor_of(request), sent_fields(data))
    return convert(await get_or_404(MemberUnit, new_id), UnitOut)


@patch("/api/units/{unit_id:int}", opt={"roles": OFFICE}, tags=["成员单位"], summary=_("修改成员单位"),
       responses=WRITE_ERRORS)
async def update_unit(request: Request[Any, Any, Any], unit_id: RecordId, data: JSONBody[UnitPatch]) -> UnitOut:
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。"""
    stored = await get_or_404(MemberUnit, unit_id, services.NOT_FOUND)
    await services.update_unit(actor_of(request), unit_id, merged(stored, data))
    return convert(await get_or_404(MemberUnit, unit_id), UnitOut)


@post("/api/units/{unit_id:int}/end", opt={"roles": OFFICE}, tags=["成员单位"], summary=_("撤销成员单位"),
      status_code=200, responses=WRITE_ERRORS)
async def end_unit(request: Request[Any, Any, Any], unit_id: RecordId, data: JSONBody[UnitEnd]) -> UnitOut:
    """单位保留在历史中；其尚未结束的成员资格在撤销日期同日结束。"""
    await services.end_unit(actor_of(request), unit_id, sent_fields(data))
    return convert(await get_or_404(MemberUnit, unit_id), UnitOut)


# ---------------------------------------------------------------- convenors (persons)

CONVENOR_SORTS: dict[str, Column] = {"name": Person.sort_key, "title": Person.title}


@get("/api/convenors", opt={"roles": OFFICE}, tags=["召集人"], summary=_("召集人列表"), responses=READ_ERRORS)
async def list_convenors(q: Q = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                         sort: FromQuery[Literal["name", "title"]] = "name", desc: Desc = False) -> ConvenorPage:
    result = await paginate(Person, [], list_query(q, page, per_page, sort, desc), search=[Person.name, Person.title],
                            sorts=CONVENOR_SORTS, default_sort="name")
    return ConvenorPage(items=_items(result, ConvenorOut), total=result.total, page=result.page,
                        per_page=result.per_page)


@get("/api/convenors/{person_id:int}", opt={"roles": OFFICE}, tags=["召集人"], summary=_("召集人详情"),
     responses=READ_ERRORS)
async def get_convenor(person_id: RecordId) -> ConvenorOut:
    return convert(await get_or_404(Person, person_id, services.NOT_FOUND), ConvenorOut)


@post("/api/convenors", opt={"roles": OFFICE}, tags=["召集人"], summary=_("新建召集人"), responses=WRITE_ERRORS)
async def create_convenor(request: Request[Any, Any, Any], data: JSONBody[ConvenorIn]) -> ConvenorOut:
    new_id = await services.create_person(actor_of(request), sent_fields(data))
    return convert(await get_or_404(Person, new_id), ConvenorOut)


@patch("/api/convenors/{person_id:int}", opt={"roles": OFFICE}, tags=["召集人"], summary=_("修改召集人"),
       responses=WRITE_ERRORS)
async def update_convenor(request: Request[Any, Any, Any], person_id: RecordId, data: JSONBody[ConvenorPatch]) -> ConvenorOut:
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。"""
    stored = await get_or_404(Person, person_id, services.NOT_FOUND)
    await services.update_person(actor_of(request), person_id, merged(stored, data))
    return convert(await get_or_404(Person, person_id), ConvenorOut)


# ---------------------------------------------------------------- memberships

MEMBERSHIP_COLUMNS = [*Membership.all_columns(), Membership.unit.name.as_alias("unit_name"),
                      Membership.conference.name.as_alias("conference_name")]
MEMBERSHIP_SORTS: dict[str, Column] = {"unit_name": Membership.unit.sort_key, "conference_name": Membership.conference.sort_key,
                    "start_date": Membership.start_date, "end_date": Membership.end_date}


async def _membership(request: Request[Any, Any, Any], membership_id: int) -> MembershipOut:
    row = await Membership.select(*MEMBERSHIP_COLUMNS).where(Membership.id == membership_id).first()
    if row is None:
        raise NotFound(services.NOT_FOUND)
    await services.require_visible_conference(actor_of(request), row["conference"])
    return convert(row, MembershipOut)


@get("/api/memberships", opt={"roles": CONFERENCE_READERS}, tags=["成员资格"], summary=_("成员资格列表"),
     responses=READ_ERRORS)
async def list_memberships(request: Request[Any, Any, Any], q: Q = None, conference: OptionalId = None,
                           unit: OptionalId = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                           sort: FromQuery[Literal["unit_name", "conference_name", "start_date", "end_date"]] = "unit_name",
                           desc: Desc = False) -> MembershipPage:
    """成员单位与联席会议的对应关系（含已结束的），只含本账号可见的联席会议；q 搜索单位名称或联席会议名称。"""
    where = _and(await _scope_where(Membership.conference, request),
                 None if conference is None else Membership.conference == conference,
                 None if unit is None else Membership.unit == unit)
    result = await paginate(Membership, MEMBERSHIP_COLUMNS, list_query(q, page, per_page, sort, desc),
                            search=[Membership.unit.name, Membership.conference.name], sorts=MEMBERSHIP_SORTS,
                            default_sort="unit_name", where=where)
    return MembershipPage(items=_items(result, MembershipOut), total=result.total, page=result.page,
                          per_page=result.per_page)


@get("/api/memberships/{membership_id:int}", opt={"roles": CONFERENCE_READERS}, tags=["成员资格"],
     summary=_("成员资格详情"), responses=READ_ERRORS)
async def get_membership(request: Request[Any, Any, Any], membership_id: RecordId) -> MembershipOut:
    return await _membership(request, membership_id)


@post("/api/conferences/{conference_id:int}/memberships", opt={"roles": OFFICE}, tags=["成员资格"],
      summary=_("为联席会议添加成员单位"), responses=WRITE_ERRORS)
async def add_membership(request: Request[Any, Any, Any], conference_id: RecordId, data: JSONBody[MembershipIn]) -> MembershipOut:
    """同一单位在同一联席会议中的成员期间不能重叠；不填 end_date 表示至今。"""
    new_id = await services.add_membership(actor_of(request), conference_id, sent_fields(data))
    return await _membership(request, new_id)


@post("/api/memberships/{membership_id:int}/end", opt={"roles": OFFICE}, tags=["成员资格"], summary=_("结束成员资格"),
      status_code=200, responses=WRITE_ERRORS)
async def end_membership(request: Request[Any, Any, Any], membership_id: RecordId, data: JSONBody[PeriodEnd]) -> MembershipOut:
    await services.end_period(actor_of(request), Membership, "membership", membership_id, sent_fields(data))
    return await _membership(request, membership_id)


# ---------------------------------------------------------------- convenor appointments

APPOINTMENT_COLUMNS = [*ConvenorAppointment.all_columns(), ConvenorAppointment.person.name.as_alias("person_name"),
                       ConvenorAppointment.conference.name.as_alias("conference_name")]
APPOINTMENT_SORTS: dict[str, Column] = {"start_date": ConvenorAppointment.start_date, "end_date": ConvenorAppointment.end_date,
                     "person_name": ConvenorAppointment.person.name,
                     "conference_name": ConvenorAppointment.conference.name}


async def _appointment(request: Request[Any, Any, Any], appointment_id: int) -> AppointmentOut:
    row = await ConvenorAppointment.select(*APPOINTMENT_COLUMNS).where(ConvenorAppointment.id == appointment_id).first()
    if row is None:
        raise NotFound(services.NOT_FOUND)
    await services.require_visible_conference(actor_of(request), row["conference"])
    return convert(row, AppointmentOut)


@get("/api/appointments", opt={"roles": CONFERENCE_READERS}, tags=["召集人任期"], summary=_("召集人任期列表"),
     responses=READ_ERRORS)
async def list_appointments(request: Request[Any, Any, Any], q: Q = None, conference: OptionalId = None,
                            person: OptionalId = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                            sort: FromQuery[Literal["start_date", "end_date", "person_name", "conference_name"]] = "start_date",
                            desc: Desc = False) -> AppointmentPage:
    """只含本账号可见的联席会议；q 搜索召集人姓名或联席会议名称。"""
    where = _and(await _scope_where(ConvenorAppointment.conference, request),
                 None if conference is None else ConvenorAppointment.conference == conference,
                 None if person is None else ConvenorAppointment.person == person)
    result = await paginate(ConvenorAppointment, APPOINTMENT_COLUMNS, list_query(q, page, per_page, sort, desc),
                            search=[ConvenorAppointment.person.name, ConvenorAppointment.conference.name],
                            sorts=APPOINTMENT_SORTS, default_sort="start_date", where=where)
    return AppointmentPage(items=_items(result, AppointmentOut), total=result.total, page=result.page,
                           per_page=result.per_page)


@get("/api/appointments/{appointment_id:int}", opt={"roles": CONFERENCE_READERS}, tags=["召集人任期"],
     summary=_("召集人任期详情"), responses=READ_ERRORS)
async def get_appointment(request: Request[Any, Any, Any], appointment_id: RecordId) -> AppointmentOut:
    return await _appointment(request, appointment_id)


@post("/api/conferences/{conference_id:int}/appointments", opt={"roles": OFFICE}, tags=["召集人任期"],
      summary=_("任命召集人"), responses=WRITE_ERRORS)
async def add_appointment(request: Request[Any, Any, Any], conference_id: RecordId,
                          data: JSONBody[AppointmentIn]) -> AppointmentOut:
    """同一联席会议同一时间只有一位召集人：须先结束现任召集人的任期。"""
    new_id = await services.add_appointment(actor_of(request), conference_id, sent_fields(data))
    return await _appointment(request, new_id)


@post("/api/appointments/{appointment_id:int}/end", opt={"roles": OFFICE}, tags=["召集人任期"],
      summary=_("结束召集人任期"), status_code=200, responses=WRITE_ERRORS)
async def end_appointment(request: Request[Any, Any, Any], appointment_id: RecordId, data: JSONBody[PeriodEnd]) -> AppointmentOut:
    await services.end_period(actor_of(request), ConvenorAppointment, "convenor_appointment", appointment_id,
                              sent_fields(data))
    return await _appointment(request, appointment_id)


ROUTES: list[Any] = [
    me,
    list_streets, get_street, create_street, update_street,
    list_conferences, get_conference, create_conference, update_conference,
    list_units, get_unit, create_unit, update_unit, end_unit,
    list_convenors, get_convenor, create_convenor, update_convenor,
    list_memberships, get_membership, add_membership, end_membership,
    list_appointments, get_appointment, add_appointment, end_appointment,
]
