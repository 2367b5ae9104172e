"""Member units over the JSON API (part of conference.registry.api): list, read, create, edit and end."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Router, get, patch, post
from litestar.params import FromQuery
from piccolo.columns import Column

from conference.accounts.actor import CurrentActor
from conference.i18n import gettext as _
from conference.records import get_or_404
from conference.registry import services
from conference.registry.api_types import UnitEnd, UnitIn, UnitOut, UnitPatch, items_of
from conference.registry.forms import UNIT_END_FORM, UNIT_FORM
from conference.registry.tables import MemberUnit
from conference.roles import OFFICE_ROLES
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
    example_of,
    list_query,
    merged,
    page_fields,
)
from conference.web.listing import PER_PAGE, paginate

# ---------------------------------------------------------------- member units

UNIT_SORTS: dict[str, Column] = {"name": MemberUnit.sort_key, "kind": MemberUnit.kind, "ended_on": MemberUnit.ended_on}


UNIT_EXAMPLE = example_of(UnitIn, name="兰山区综合行政执法局", kind="department", parent_unit=None)
UNIT_PATCH_EXAMPLE = {"version": 3, "liaison_name": "赵强", "liaison_phone": "13800000000"}


@get("/", opt={"roles": OFFICE_ROLES}, tags=["成员单位"], summary=_("成员单位列表"), responses=answers(Page[UnitOut], READ_ERRORS))
async def list_units(q: Q = None, page: PageNo = 1, per_page: PerPage = PER_PAGE,
                     sort: FromQuery[Literal["name", "kind", "ended_on"]] = "name", desc: Desc = False) -> Page[UnitOut]:
    """按单位名称、联络员或职责任务搜索。"""
    result = await paginate(MemberUnit, [], list_query(q, page, per_page, sort, desc),
                            search=[MemberUnit.name, MemberUnit.liaison_name, MemberUnit.duties], sorts=UNIT_SORTS,
                            default_sort="name")
    return Page(items=items_of(result, UnitOut), **page_fields(result))


@get("/{unit_id:int}", opt={"roles": OFFICE_ROLES}, tags=["成员单位"], summary=_("成员单位详情"),
     responses=answers(UnitOut, READ_ERRORS))
async def get_unit(unit_id: RecordId) -> UnitOut:
    """一个成员单位的登记信息，含已撤销的单位。"""
    return convert(await get_or_404(MemberUnit, unit_id, services.NOT_FOUND), UnitOut)


@post("/", opt={"roles": OFFICE_ROLES}, tags=["成员单位"], summary=_("新建成员单位"), responses=answers(UnitOut, WRITE_ERRORS, status=201))
async def create_unit(actor: CurrentActor,
                      data: Annotated[UnitIn, body(UnitIn, UNIT_EXAMPLE)]) -> UnitOut:  # type: ignore[valid-type]
    """kind 取 department（区直部门）、dispatched_agency（派驻机构）、street（街道）或 other（其他）。"""
    new_id = await services.create_unit(actor, UNIT_FORM.json_fields(data))
    return convert(await get_or_404(MemberUnit, new_id), UnitOut)


@patch("/{unit_id:int}", opt={"roles": OFFICE_ROLES}, tags=["成员单位"], summary=_("修改成员单位"),
       responses=answers(UnitOut, WRITE_ERRORS))
async def update_unit(actor: CurrentActor, unit_id: RecordId,
                      data: Annotated[UnitPatch, body(UnitPatch, UNIT_PATCH_EXAMPLE)]) -> UnitOut:  # type: ignore[valid-type]
    """只修改给出的字段；version 须为读取时的版本，否则返回 409。"""
    UNIT_FORM.json_fields(data)  # wrong JSON types answer before anything is read
    stored = await get_or_404(MemberUnit, unit_id, services.NOT_FOUND)
    await services.update_unit(actor, unit_id, merged(stored, data))
    return convert(await get_or_404(MemberUnit, unit_id), UnitOut)


@post("/{unit_id:int}/end", opt={"roles": OFFICE_ROLES}, tags=["成员单位"], summary=_("撤销成员单位"),
      status_code=200, responses=answers(UnitOut, WRITE_ERRORS))
async def end_unit(actor: CurrentActor, unit_id: RecordId,
                   data: Annotated[UnitEnd, body(UnitEnd)]) -> UnitOut:  # type: ignore[valid-type]
    """单位保留在历史中；其尚未结束的成员资格在撤销日期同日结束。"""
    await services.end_unit(actor, unit_id, UNIT_END_FORM.json_fields(data))
    return convert(await get_or_404(MemberUnit, unit_id), UnitOut)


UNIT_ROUTES: list[Router] = [
    Router("/api/units", route_handlers=[list_units, get_unit, create_unit, update_unit, end_unit]),
]
