"""Registry JSON API under /api/: streets, conferences, member units, convenors, memberships and
convenor appointments, plus /api/me.

Handlers are thin: scope-check or load, call one service of conference.registry.services, return
plain data. Permissions mirror the HTML pages (conference.registry.routes): admin and office read
and write, a convenor reads the conferences it convenes and their memberships and appointments, and
conference reads go through visible_conference_ids (an out-of-scope id answers 404 like a missing one).

Request bodies are msgspec Structs derived from the forms' specs (conference.registry.forms), so that
/schema documents them with the pages' labels; the handlers check their JSON types through the spec
(`json_fields`, in Chinese) before anything else. Create bodies make every field
optional: the services validate the full record and answer each missing field in Chinese. PATCH
bodies require the `version` the client read (optimistic locking); a field left out keeps its stored
value, a field sent as null is cleared; the handler merges the stored record with the given fields,
because the services validate whole records.
"""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Router, get, patch, post
from litestar.params import FromQuery
from piccolo.columns import Column

from conference.accounts.actor import CurrentActor
from conference.i18n import gettext as _
from conference.records import get_or_404
from conference.registry import services
from conference.registry.api_types import (
    ConferenceIn,
    ConferenceOut,
    ConferencePatch,
    Me,
    StreetIn,
    StreetOut,
    StreetPatch,
    items_of,
    scope_where,
)
from conference.registry.forms import CONFERENCE_FORM, STREET_FORM
from conference.registry.memberships_api import MEMBERSHIP_ROUTES
from conference.registry.persons_api import PERSON_ROUTES
from conference.registry.tables import Conference, Street
from conference.registry.units_api import UNIT_ROUTES
from conference.roles import OFFICE_ROLES, PEOPLE, SUPERVISORS
from conference.web.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    Desc,
    Page,
    PageNo,
    PerPage,
    Q,
    RecordId,
    answers,
    body,
    convert,
    error_responses,
    list_query,
    merged,
    page_fields,
)
from conference.web.listing import PER_PAGE, paginate

# ---------------------------------------------------------------- me


@get("/me", opt={"roles": PEOPLE}, tags=["账号"], summary=_("当前账号"), responses=answers(Me, error_responses(401)))
async def me(actor: CurrentActor) -> Me:
    """令牌所属的账号：用户名、角色，以及角色所关联的联席会议、街道、成员单位或召集人编号。"""
    return Me(id=actor.id, username=actor.username, display_name=actor.display_name, role=actor.role,
              conference_id=actor.conference_id, street_id=actor.street_id, unit_id=actor.unit_id,
              person_id=actor.person_id)


# ---------------------------------------------------------------- streets

STREET_SORTS: dict[str, Column] = {"name": Street.sort_key, "district": Street.district}


@get("/", opt={"roles": OFFICE_ROLES}, tags=["街道"], summary=_("街道列表"), responses=answers(Page[StreetOut], READ_ERRORS))
async def list_streets(q: Q = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                       sort: FromQuery[Literal["name", "district"]] = "name", desc: Desc = False) -> Page[StreetOut]:
    """按街道名称、所属县区或党工委书记搜索。"""
    result = await paginate(Street, [], list_query(q, page, per_page, sort, desc),
                            search=[Street.name, Street.district, Street.secretary_name], sorts=STREET_SORTS,
                            default_sort="name")
    return Page(items=items_of(result, StreetOut), **page_fields(result))


@get("/{street_id:int}", opt={"roles": OFFICE_ROLES}, tags=["街道"], summary=_("街道详情"), responses=answers(StreetOut, READ_ERRORS))
async def get_street(street_id: RecordId) -> StreetOut:
    """一个街道的登记信息，含版本号（修改时带回）。"""
    return convert(await get_or_404(Street, street_id, services.NOT_FOUND), StreetOut)


@post("/", opt={"roles": OFFICE_ROLES}, tags=["街道"], summary=_("新建街道"), responses=answers(StreetOut, WRITE_ERRORS, status=201))
async def create_street(actor: CurrentActor,
                        data: Annotated[StreetIn, body(StreetIn)]) -> StreetOut:  # type: ignore[valid-type]
    """新建街道：名称、所属县区、党工委书记和联系电话；名称不能与现有街道重复。"""
    new_id = await services.create_street(actor, STREET_FORM.json_fields(data))
    return convert(await get_or_404(Street, new_id), StreetOut)


@patch("/{street_id:int}", opt={"roles": OFFICE_ROLES}, tags=["街道"], summary=_("修改街道"),
       responses=answers(StreetOut, WRITE_ERRORS))
async def update_street(actor: CurrentActor, street_id: RecordId,
                        data: Annotated[StreetPatch, body(StreetPatch)]) -> StreetOut:  # type: ignore[valid-type]
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。"""
    STREET_FORM.json_fields(data)  # wrong JSON types answer before anything is read
    stored = await get_or_404(Street, street_id, services.NOT_FOUND)
    await services.update_street(actor, street_id, merged(stored, data))
    return convert(await get_or_404(Street, street_id), StreetOut)


# ---------------------------------------------------------------- conferences

CONFERENCE_SORTS: dict[str, Column] = {"name": Conference.sort_key, "level": Conference.level}


@get("/", opt={"roles": SUPERVISORS}, tags=["联席会议"], summary=_("联席会议列表"),
     responses=answers(Page[ConferenceOut], READ_ERRORS))
async def list_conferences(actor: CurrentActor, q: Q = None, page: PageNo = 1,
                           per_page: PerPage = PER_PAGE, sort: FromQuery[Literal["name", "level"]] = "name",
                           desc: Desc = False) -> Page[ConferenceOut]:
    """只列出本账号可见的联席会议（办公室含下级联席会议，召集人为其召集的联席会议）。"""
    result = await paginate(Conference, [], list_query(q, page, per_page, sort, desc), search=[Conference.name],
                            sorts=CONFERENCE_SORTS, default_sort="name",
                            where=await scope_where(Conference.id, actor))
    return Page(items=items_of(result, ConferenceOut), **page_fields(result))


@get("/{conference_id:int}", opt={"roles": SUPERVISORS}, tags=["联席会议"],
     summary=_("联席会议详情"), responses=answers(ConferenceOut, READ_ERRORS))
async def get_conference(actor: CurrentActor, conference_id: RecordId) -> ConferenceOut:
    """一个本账号可见的联席会议；不可见的返回 404。"""
    return convert(await services.require_visible_conference(actor, conference_id), ConferenceOut)


@post("/", opt={"roles": OFFICE_ROLES}, tags=["联席会议"], summary=_("新建联席会议"), responses=answers(ConferenceOut, WRITE_ERRORS, status=201))
async def create_conference(actor: CurrentActor,
                            data: Annotated[ConferenceIn, body(ConferenceIn)]) -> ConferenceOut:  # type: ignore[valid-type]
    """level 取 city（市级）、district（县区级）或 street（街道级）；街道级须给出 street。"""
    new_id = await services.create_conference(actor, CONFERENCE_FORM.json_fields(data))
    return convert(await get_or_404(Conference, new_id), ConferenceOut)


@patch("/{conference_id:int}", opt={"roles": OFFICE_ROLES}, tags=["联席会议"], summary=_("修改联席会议"),
       responses=answers(ConferenceOut, WRITE_ERRORS))
async def update_conference(actor: CurrentActor, conference_id: RecordId,
                            data: Annotated[ConferencePatch, body(ConferencePatch)]) -> ConferenceOut:  # type: ignore[valid-type]
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。"""
    CONFERENCE_FORM.json_fields(data)  # wrong JSON types answer before anything is read
    stored = await services.require_visible_conference(actor, conference_id)
    await services.update_conference(actor, conference_id, merged(stored, data))
    return convert(await get_or_404(Conference, conference_id), ConferenceOut)


# Operations of the API (conference.api adds the Bearer scheme and the Chinese validation answers).
ROUTES: list[Router] = [
    Router("/api", route_handlers=[me]),
    Router("/api/streets", route_handlers=[list_streets, get_street, create_street, update_street]),
    Router("/api/conferences", route_handlers=[list_conferences, get_conference, create_conference, update_conference]),
    *UNIT_ROUTES, *PERSON_ROUTES, *MEMBERSHIP_ROUTES,
]
