"""Holiday calendar JSON API: GET /api/holidays?year= for every role; POST (a holiday range or a
make-up working day) and DELETE for the administrator and district- and city-level offices
(conference.holidays.services.can_edit). Errors have the shape of conference.registry.api.Error."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Router, delete, get, post
from litestar.exceptions import ValidationException
from litestar.params import Parameter

from conference.accounts.actor import CurrentActor
from conference.holidays import services
from conference.holidays.forms import HOLIDAY_BODY
from conference.holidays.tables import HolidayDay
from conference.i18n import gettext as _
from conference.roles import PEOPLE
from conference.web.apikit import READ_ERRORS, WRITE_ERRORS, RecordId, answers, body, relabelled


class HolidayOut(msgspec.Struct):
    id: int
    day: dt.date
    kind: str  # holiday (放假) | workday (调休上班)
    name: str
    year: int


class HolidayYear(msgspec.Struct):
    year: int
    entered: bool  # false: deadlines reaching this year are counted on weekdays only and marked provisional
    days: list[HolidayOut]


# The request body, derived from the page's two forms (conference.holidays.forms.HOLIDAY_BODY): kind
# holiday takes name, start and end (default: start); kind workday takes day (the weekend day worked)
# and name. json_fields checks the JSON types, in Chinese.
HolidayIn = HOLIDAY_BODY.struct("HolidayIn")


Year = Annotated[int, Parameter(ge=services.MIN_YEAR, le=services.MAX_YEAR, description=_("年份，如 2027"))]


@get("/", opt={"roles": PEOPLE}, tags=["节假日"], summary=_("某年的节假日与调休"), responses=answers(HolidayYear, READ_ERRORS))
async def list_holidays(year: Year) -> HolidayYear:
    """该年登记的每一天：holiday 为放假，workday 为调休上班。entered 为 false 表示该年尚未录入，落在该年的工作日期限按周一至周五计算并标为暂定。"""
    rows = await services.year_days(year)
    return HolidayYear(year=year, entered=bool(rows),
                       days=[HolidayOut(id=r["id"], day=r["day"], kind=r["kind"], name=r["name"], year=r["year"]) for r in rows])


@post("/", opt={"roles": services.EDITORS}, tags=["节假日"], summary=_("登记放假或调休上班日"),
      responses=answers(list[HolidayOut], WRITE_ERRORS, status=201))
async def create_holidays(actor: CurrentActor,
                          data: Annotated[HolidayIn, body(HolidayIn)]) -> list[HolidayOut]:  # type: ignore[valid-type]
    """kind=holiday：登记 start 至 end 的放假（最多 31 天）；kind=workday：登记 day（周六或周日）为调休上班日。
    已登记的日期返回 400。登记后受影响的工作日期限自动重算，期限变化的承办单位收到通知。
    仅系统管理员和区（市）级联席会议办公室可用。"""
    sent = HOLIDAY_BODY.json_fields(data)
    kind = HOLIDAY_BODY.read(sent, ("kind",))["kind"]
    ids = await services.add_days(actor, kind, {k: v for k, v in sent.items() if v is not None and k != "kind"})
    rows = await HolidayDay.select().where(HolidayDay.id.is_in(ids)).order_by(HolidayDay.day)
    return [HolidayOut(id=r["id"], day=r["day"], kind=r["kind"], name=r["name"], year=r["year"]) for r in rows]


@delete("/{day_id:int}", opt={"roles": services.EDITORS}, tags=["节假日"], summary=_("删除一天"),
        responses=WRITE_ERRORS)
async def delete_holiday(actor: CurrentActor, day_id: RecordId) -> None:
    """删除后该日按是否为周末计算；受影响的工作日期限自动重算。"""
    await services.delete_day(actor, day_id)


# A body that leaves out its kind is answered by msgspec: named with the spec's label.
ROUTES: list[Any] = [Router(path="/api/holidays", route_handlers=[list_holidays, create_holidays, delete_holiday],
                            exception_handlers={ValidationException: relabelled({"kind": HOLIDAY_BODY["kind"].label})})]
