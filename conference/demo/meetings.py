"""Demo meetings, special-meeting requests, agenda items and invitation replies in every state,
made through the services (so the audit trail and the outbox are as real use leaves them).
Dates are relative to today, so the half-year view and the calendar always have something current.
Each step runs on the story's clock (StoryClock): items are submitted weeks apart and before the
meeting they go to, meetings are planned and notified before they are held, and every record, audit
event and outbox message carries the day it happened in the story, not the day the demo was loaded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conference.accounts.actor import Actor
from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.agenda import scheduling
from conference.agenda import services as agenda
from conference.meetings import invitations as meeting_invitations
from conference.meetings import lifecycle, special_requests
from conference.meetings import services as meetings
from conference.meetings.tables import Invitation, Meeting
from conference.registry.tables import Conference, MemberUnit
from conference.settings import get_settings
from conference.timefmt import reset_story_clock, set_story_clock, today
from conference.workdays import CalendarUnknown, is_workday
from conference.workdays import refresh as refresh_calendar


def working_day(day: dt.date) -> dt.date:
    """`day`, or the working day before it: the story's meetings are not held on weekends or holidays."""
    try:
        while not is_workday(day):
            day -= dt.timedelta(days=1)
    except CalendarUnknown:  # a year the holiday table does not hold: weekdays
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
    return day


class StoryClock:
    """The demo's clock (conference.timefmt.set_story_clock): `at(day, hour, minute)` moves it to a
    local time of the story; `close()` gives real time back. Read `today()` before the first `at`."""

    def __init__(self) -> None:
        self.token: Any = None

    def at(self, day: dt.date, hour: int = 9, minute: int = 0) -> None:
        token = set_story_clock(dt.datetime.combine(day, dt.time(hour, minute), get_settings().tz))
        if self.token is None:
            self.token = token

    def close(self) -> None:
        if self.token is not None:
            reset_story_clock(self.token)
            self.token = None


async def _actor(username: str) -> Actor:
    row = await User.select(*ACTOR_COLUMNS).where(User.username == username).first()
    assert row is not None, username
    return actor_from_row(row)


async def _ids(table: Any, names: list[str]) -> dict[str, int]:
    rows = await table.select(table.id, table.name).where(table.name.is_in(names))
    return {r["name"]: r["id"] for r in rows}


def _form(title: str, day: dt.date, location: str, kind: str = "plenary", start: str = "09:00", end: str = "11:30") -> dict[str, str]:
    return {"kind": kind, "title": title, "date": day.isoformat(), "start_time": start, "end_time": end, "location": location}


async def _reply(meeting_id: int, unit_name: str, data: dict[str, str]) -> None:
    inv = await Invitation.select().where((Invitation.meeting == meeting_id) & (Invitation.unit.name == unit_name)).first()
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    if inv and meeting:
        await meeting_invitations.reply(None, inv, meeting, data)


async def _sign_in(office: Actor, meeting_id: int, absent: set[str], leave: set[str]) -> None:
    rows = await Invitation.select(Invitation.id, Invitation.unit.name.as_alias("unit_name")).where(Invitation.meeting == meeting_id)
    for row in rows:
        state = "absent" if row["unit_name"] in absent else "leave" if row["unit_name"] in leave else "present"
        await meeting_invitations.record_attendance(office, row["id"], {"attendance": state})


async def load_meeting_demo() -> bool:
    if await Meeting.exists():
        return False
    await refresh_calendar()  # the holiday table, for working_day
    clock = StoryClock()
    try:
        return await _meeting_story(clock)
    finally:
        clock.close()


async def _meeting_story(clock: StoryClock) -> bool:
    office, office_lz = await _actor("office"), await _actor("office_luozhuang")
    street, street_lz = await _actor("street"), await _actor("street_luozhuang")
    convenor = await _actor("convenor")
    conf = await _ids(Conference, ["兰山街道城市基层党建联席会议", "罗庄街道城市基层党建联席会议"])
    lanshan, luozhuang = conf["兰山街道城市基层党建联席会议"], conf["罗庄街道城市基层党建联席会议"]
    units = await _ids(MemberUnit, ["兰山区综合行政执法局", "兰山区市场监管局", "兰山区自然资源和规划局", "兰山区应急管理局",
                                    "兰山派出所", "兰山区生态环境分局", "罗庄区综合行政执法局", "罗庄区应急管理局"])
    day = today()
    year = day.year

    # 兰山街道: the first plenary of the year, held, with its items decided.
    h1_day = dt.date(year, 5, 14) if day > dt.date(year, 6, 1) else day - dt.timedelta(days=30)

    def before(days: int, base: dt.date = h1_day) -> dt.date:
        return base - dt.timedelta(days=days)

    clock.at(before(45), 10, 5)
    lift = await agenda.create_item(street, {"title": "老旧小区加装电梯审批流程长", "category": "planning", "urgency": "normal",
                                             "description": "金锣小区等 6 个小区居民申请加装电梯，规划、审批环节涉及多个部门，平均办理超过 4 个月。"},
                                    [str(units["兰山区自然资源和规划局"])], submit=True)
    clock.at(before(38), 15, 20)
    stalls = await agenda.create_item(street, {"title": "沿街商铺占道经营反复回潮", "category": "urban_management", "urgency": "urgent",
                                               "description": "通达路、解放路沿线商铺占道经营，街道劝导后反复出现，需要执法力量常态化介入。"},
                                      [str(units["兰山区综合行政执法局"]), str(units["兰山区市场监管局"])], submit=True)
    clock.at(before(30), 9, 40)
    parking = await agenda.create_item(street, {"title": "老旧小区停车位不足", "category": "services", "urgency": "normal",
                                                "description": "辖区老旧小区停车位缺口约 800 个，夜间乱停乱放严重。"},
                                       [str(units["兰山区自然资源和规划局"]), str(units["兰山派出所"])], submit=True)
    clock.at(before(23), 16, 10)
    sewer = await agenda.create_item(street, {"title": "老旧小区雨污管网混接", "category": "environment", "urgency": "normal",
                                              "description": "沂河路片区 5 个老旧小区雨污合流，雨天污水外溢，需统筹改造资金和施工。"},
                                     [str(units["兰山区生态环境分局"]), str(units["兰山区综合行政执法局"])], submit=True)
    for days, item in ((43, lift), (36, stalls), (28, parking), (21, sewer)):  # accepted two days after submission
        clock.at(before(days), 11, 0)
        await agenda.accept_item(office, item)
    clock.at(before(16), 9, 30)
    h1 = await meetings.create_meeting(office, lanshan, _form(f"{year}年第1次全体会议", h1_day, "兰山街道办事处三楼会议室"))
    for item in (lift, stalls, parking, sewer):
        await scheduling.schedule_item(office, item, {"meeting": str(h1)})
    clock.at(before(12), 10, 0)
    await lifecycle.notify_meeting(office, h1)
    clock.at(before(9), 14, 30)
    await _reply(h1, "兰山区市场监管局", {"reply": "attending", "attendee_name": "刘洋", "attendee_title": "副局长"})
    clock.at(before(7), 10, 15)
    await _reply(h1, "兰山区司法局", {"reply": "leave", "leave_reason": "参加市司法局年度培训"})
    clock.at(before(5), 16, 40)
    await _reply(h1, "兰山派出所", {"reply": "delegated", "attendee_name": "马超", "attendee_title": "副所长"})
    clock.at(h1_day, 9, 5)
    await lifecycle.hold_meeting(office, h1)
    await _sign_in(office, h1, absent={"兰山区生态环境分局"}, leave={"兰山区司法局"})
    clock.at(h1_day, 11, 20)
    await scheduling.record_outcome(office, lift, {"outcome": "resolved", "note": "建立联合审批专班，办理时限压缩至 30 个工作日。"})
    await scheduling.record_outcome(office, stalls, {"outcome": "resolved", "note": "建立常态化巡查和联合执法机制，形成4项议定事项。"})
    await scheduling.record_outcome(office, sewer, {"outcome": "deferred", "note": "待生态环境分局会同住建部门测算改造资金后再议。"})
    await scheduling.record_outcome(office, parking, {"outcome": "discussed", "note": "原则同意利用边角地块建设停车场，由规划局牵头论证。"})

    # 兰山街道: the second plenary, notified, with the carried-over item and new ones.
    clock.at(before(16, day), 15, 0)
    gas = await agenda.create_item(street, {"title": "涉燃气餐饮场所安全隐患整治", "category": "safety", "urgency": "critical",
                                            "description": "辖区 40 余家餐饮场所使用瓶装液化气，部分未安装报警装置，需应急、市场监管联合检查。"},
                                   [str(units["兰山区应急管理局"]), str(units["兰山区市场监管局"])], submit=True)
    clock.at(before(14, day), 9, 50)
    await agenda.accept_item(office, gas)
    clock.at(before(12, day), 10, 0)
    h2 = await meetings.create_meeting(office, lanshan, _form(f"{year}年第2次全体会议", working_day(day + dt.timedelta(days=11)),
                                                              "兰山街道办事处三楼会议室"))
    await scheduling.schedule_item(office, sewer, {"meeting": str(h2)})  # carried over from the first plenary
    await scheduling.schedule_item(office, gas, {"meeting": str(h2)})
    clock.at(before(10, day), 10, 30)
    await lifecycle.notify_meeting(office, h2)
    clock.at(before(8, day), 9, 15)
    await _reply(h2, "兰山区应急管理局", {"reply": "attending", "attendee_name": "陈静", "attendee_title": "局长"})
    clock.at(before(6, day), 17, 5)
    await _reply(h2, "兰山区司法局", {"reply": "leave", "leave_reason": "同日参加区政府常务会议"})

    # Items in the other states, submitted weeks apart.
    clock.at(before(52, day), 10, 40)
    noise = await agenda.create_item(street, {"title": "夜间施工噪音扰民", "category": "environment", "urgency": "normal",
                                              "description": "沂蒙路两处工地夜间施工，居民多次投诉。"},
                                     [str(units["兰山区生态环境分局"])], submit=True)
    clock.at(before(50, day), 9, 0)
    await agenda.accept_item(office, noise)
    clock.at(before(21, day), 14, 10)
    noise2 = await agenda.create_item(street, {"title": "沂蒙路工地夜间施工投诉", "category": "environment", "urgency": "normal",
                                               "description": "与“夜间施工噪音扰民”为同一问题。"},
                                      [str(units["兰山区综合行政执法局"])], submit=True)
    clock.at(before(19, day), 10, 0)
    await agenda.merge_item(office, noise2, {"into": str(noise)})
    clock.at(before(9, day), 8, 50)
    school = await agenda.create_item(street, {"title": "学校周边上下学时段交通拥堵", "category": "public_order", "urgency": "urgent",
                                               "description": "兰山小学周边早晚高峰拥堵，需交警、派出所协调疏导。"},
                                      [str(units["兰山派出所"])], submit=True)
    clock.at(before(7, day), 15, 30)
    await agenda.return_item(office, school, {"reason": "请补充拥堵时段、车流量等具体情况及街道已采取的措施。"})
    clock.at(before(3, day), 11, 0)
    await agenda.create_item(street, {"title": "背街小巷路灯维修", "category": "services", "urgency": "normal",
                                      "description": "草稿：待核实具体点位后提交。"}, [])
    clock.at(before(5, day), 16, 20)
    await agenda.create_item(street, {"title": "农贸市场周边流动摊贩管理", "category": "market", "urgency": "normal",
                                      "description": "早市时段流动摊贩聚集，影响通行和食品安全。"},
                             [str(units["兰山区市场监管局"])], submit=True)

    # Special meetings on accepted items: one approved (a draft meeting with the item on its agenda
    # and the units it names invited), one waiting for the convenor.
    clock.at(before(9, day), 9, 20)
    river = await agenda.create_item(street, {"title": "河道沿线违建拆除后复建", "category": "urban_management", "urgency": "urgent",
                                              "description": "柳青河沿线 12 处违建拆除后又有 5 处复建，汛期前须联合处置。"},
                                     [str(units["兰山区综合行政执法局"]), str(units["兰山区自然资源和规划局"])], submit=True)
    clock.at(before(8, day), 10, 0)
    await agenda.accept_item(office, river)
    clock.at(before(6, day), 10, 0)
    req = await special_requests.request_special_meeting(street, {
        "title": "关于河道沿线违建复建整治的专题会议", "reason": "汛期前河道沿线违建拆除后复建，需多部门联合处置。",
        "proposed_items": "", "proposed_date": (day + dt.timedelta(days=20)).isoformat()}, [str(river)])
    clock.at(before(5, day), 15, 0)
    await special_requests.decide_special_request(convenor, req, True, {"comment": "同意召开，请办公室做好会务准备。"})
    clock.at(before(4, day), 9, 10)
    safety = await agenda.create_item(street, {"title": "节前安全生产联合检查", "category": "safety", "urgency": "urgent",
                                               "description": "春节前辖区商超、餐饮、出租屋需统一开展安全生产检查。"},
                                      [str(units["兰山区应急管理局"]), str(units["兰山区市场监管局"])], submit=True)
    clock.at(before(3, day), 10, 0)
    await agenda.accept_item(office, safety)
    clock.at(before(2, day), 9, 30)
    await special_requests.request_special_meeting(street, {
        "title": "关于节前安全生产联合检查的专题会议", "reason": "春节前安全生产大检查需各部门统一部署。",
        "proposed_items": "建议应急、市场监管部门主要负责同志参会。",
        "proposed_date": (day + dt.timedelta(days=35)).isoformat()}, [str(safety)])

    # 罗庄街道: a held plenary this half-year, a cancelled one, a declined request.
    lz_day = working_day(before(60, day))
    clock.at(before(35, lz_day), 9, 10)
    road = await agenda.create_item(street_lz, {"title": "工业园区周边道路破损", "category": "planning", "urgency": "normal",
                                                "description": "罗庄工业园区周边 3 条道路破损严重，重型车辆通行频繁。"},
                                    [str(units["罗庄区综合行政执法局"])], submit=True)
    clock.at(before(30, lz_day), 14, 0)
    await agenda.accept_item(office_lz, road)
    clock.at(before(15, lz_day), 10, 0)
    lz = await meetings.create_meeting(office_lz, luozhuang, _form(f"{year}年第1次全体会议", lz_day, "罗庄街道便民服务中心会议室"))
    await scheduling.schedule_item(office_lz, road, {"meeting": str(lz)})
    clock.at(before(10, lz_day), 9, 0)
    await lifecycle.notify_meeting(office_lz, lz)
    clock.at(lz_day, 9, 5)
    await lifecycle.hold_meeting(office_lz, lz)
    await _sign_in(office_lz, lz, absent=set(), leave={"罗庄区司法局"})
    clock.at(lz_day, 11, 25)
    await scheduling.record_outcome(office_lz, road, {"outcome": "not_discussed", "note": "会议时间不足，转下次会议研究。"})
    clock.at(before(20, day), 10, 0)
    cancelled = await meetings.create_meeting(office_lz, luozhuang, _form("防汛工作专题会议", day + dt.timedelta(days=5),
                                                                          "罗庄街道便民服务中心会议室", kind="special"))
    clock.at(before(19, day), 9, 0)
    await lifecycle.notify_meeting(office_lz, cancelled)
    clock.at(before(4, day), 16, 0)
    await lifecycle.cancel_meeting(office_lz, cancelled, {"reason": "议题已在区防汛指挥部会议上研究解决。"})
    clock.at(before(14, day), 9, 30)
    wages = await agenda.create_item(street_lz, {"title": "辖区企业欠薪问题集中", "category": "services", "urgency": "normal",
                                                 "description": "今年以来辖区 3 家企业拖欠工资，涉及职工 60 余人。"},
                                     [], submit=True)
    clock.at(before(13, day), 10, 0)
    await agenda.accept_item(office_lz, wages)
    clock.at(before(12, day), 10, 30)
    lz_req = await special_requests.request_special_meeting(street_lz, {
        "title": "关于企业欠薪问题的专题会议", "reason": "辖区企业用工纠纷集中", "proposed_items": "",
        "proposed_date": (day + dt.timedelta(days=9)).isoformat()}, [str(wages)])
    admin = await _actor("admin")
    clock.at(before(10, day), 11, 0)
    await special_requests.decide_special_request(admin, lz_req, False, {"comment": "属劳动监察职责范围，请街道直接对接区人社局。"})
    return True
