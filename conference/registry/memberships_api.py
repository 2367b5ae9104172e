"""Memberships of units in conferences over the JSON API (part of conference.registry.api)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Router, get, post
from litestar.params import FromQuery
from piccolo.columns import Column

from conference.accounts.actor import Actor, CurrentActor
from conference.i18n import gettext as _
from conference.registry import services
from conference.registry.api_types import MembershipIn, MembershipOut, PeriodEnd, all_of, items_of, period_out, scope_where
from conference.registry.forms import MEMBERSHIP_FORM, PERIOD_END_FORM
from conference.registry.tables import Membership
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
    list_query,
    page_fields,
)
from conference.web.listing import PER_PAGE, paginate

# ---------------------------------------------------------------- memberships

MEMBERSHIP_COLUMNS = [*Membership.all_columns(), Membership.unit.name.as_alias("unit_name"),
                      Membership.conference.name.as_alias("conference_name")]
MEMBERSHIP_SORTS: dict[str, Column] = {"unit_name": Membership.unit.sort_key, "conference_name": Membership.conference.sort_key,
                    "start_date": Membership.start_date, "end_date": Membership.end_date}


async def _membership(actor: Actor, membership_id: int) -> MembershipOut:
    return await period_out(Membership, MEMBERSHIP_COLUMNS, membership_id, MembershipOut, actor)


@get("/memberships", opt={"roles": SUPERVISORS}, tags=["成员资格"], summary=_("成员资格列表"),
     responses=answers(Page[MembershipOut], READ_ERRORS))
async def list_memberships(actor: CurrentActor, q: Q = None, conference: OptionalId = None,
                           unit: OptionalId = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                           sort: FromQuery[Literal["unit_name", "conference_name", "start_date", "end_date"]] = "unit_name",
                           desc: Desc = False) -> Page[MembershipOut]:
    """成员单位与联席会议的对应关系（含已结束的），只含本账号可见的联席会议；q 搜索单位名称或联席会议名称。"""
    where = all_of(await scope_where(Membership.conference, actor),
                 None if conference is None else Membership.conference == conference,
                 None if unit is None else Membership.unit == unit)
    result = await paginate(Membership, MEMBERSHIP_COLUMNS, list_query(q, page, per_page, sort, desc),
                            search=[Membership.unit.name, Membership.conference.name], sorts=MEMBERSHIP_SORTS,
                            default_sort="unit_name", where=where)
    return Page(items=items_of(result, MembershipOut), **page_fields(result))


@get("/memberships/{membership_id:int}", opt={"roles": SUPERVISORS}, tags=["成员资格"],
     summary=_("成员资格详情"), responses=answers(MembershipOut, READ_ERRORS))
async def get_membership(actor: CurrentActor, membership_id: RecordId) -> MembershipOut:
    """一项成员资格；只含本账号可见的联席会议。"""
    return await _membership(actor, membership_id)


@post("/conferences/{conference_id:int}/memberships", opt={"roles": OFFICE_ROLES}, tags=["成员资格"],
      summary=_("为联席会议添加成员单位"), responses=answers(MembershipOut, WRITE_ERRORS, status=201))
async def add_membership(actor: CurrentActor, conference_id: RecordId,
                         data: Annotated[MembershipIn, body(MembershipIn)]) -> MembershipOut:  # type: ignore[valid-type]
    """同一单位在同一联席会议中的成员期间不能重叠；不填 end_date 表示至今。"""
    new_id = await services.add_membership(actor, conference_id, MEMBERSHIP_FORM.json_fields(data))
    return await _membership(actor, new_id)


@post("/memberships/{membership_id:int}/end", opt={"roles": OFFICE_ROLES}, tags=["成员资格"], summary=_("结束成员资格"),
      status_code=200, responses=answers(MembershipOut, WRITE_ERRORS))
async def end_membership(actor: CurrentActor, membership_id: RecordId,
                         data: Annotated[PeriodEnd, body(PeriodEnd)]) -> MembershipOut:  # type: ignore[valid-type]
    """结束成员资格：end_date 不填为今天，不能早于开始日期；version 须为读取时的版本。"""
    await services.end_period(actor, Membership, "membership", membership_id, PERIOD_END_FORM.json_fields(data))
    return await _membership(actor, membership_id)


# /api/memberships, and a conference's: /api/conferences/{conference_id}/memberships
MEMBERSHIP_ROUTES: list[Router] = [
    Router("/api", route_handlers=[list_memberships, get_membership, add_membership, end_membership]),
]
