"""Demo resolutions and supervised tasks in every state, made through the services (so the audit
trail, the task record and the outbox are as real use leaves them) on the held demo meetings:
the 兰山街道 first plenary and the 罗庄街道 plenary of conference.demo.meetings.

Deadlines are relative to today, so the alerts always have something to show: one task overdue
(red), one due within 3 working days (yellow), one not acknowledged in time. Every step runs on the
story's clock (conference.demo.meetings.StoryClock): resolutions adopted and tasks assigned on their
meeting's day, each task's record in order from then to yesterday, with the audit trail and the
outbox on the same dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conference.accounts.actor import Actor
from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.agenda.tables import AgendaSlot
from conference.demo.meetings import StoryClock
from conference.registry.tables import MemberUnit
from conference.settings import get_settings
from conference.tasks import resolutions as task_resolutions
from conference.tasks import services as tasks
from conference.tasks.tables import Resolution, Task
from conference.timefmt import today
from conference.workdays import CalendarUnknown, add_workdays

# A one-page PDF and a PNG header: enough for the type checks and for a download to open.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
DEMO_PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
            b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

LANSHAN_UNITS = ["兰山区自然资源和规划局", "兰山区行政审批服务局", "兰山区市场监管局", "兰山区综合行政执法局", "兰山派出所"]
LUOZHUANG_UNITS = ["罗庄区综合行政执法局", "罗庄区应急管理局"]


async def _actor(username: str) -> Actor:
    row = await User.select(*ACTOR_COLUMNS).where(User.username == username).first()
    assert row is not None, username
    return actor_from_row(row)


async def _held_slot(item_title: str) -> dict[str, Any] | None:
    """The held meeting an item was on, with the meeting's local date."""
    row = await AgendaSlot.select(
        AgendaSlot.item, AgendaSlot.meeting, AgendaSlot.meeting.starts_at.as_alias("starts_at"),
    ).where((AgendaSlot.item.title == item_title) & AgendaSlot.meeting.status.is_in(["held", "minutes_in_review"])).first()
    if row is None:
        return None
    row["day"] = row["starts_at"].astimezone(get_settings().tz).date()
    return row


class _Demo:
    def __init__(self, units: dict[str, int]) -> None:
        self.units = units

    async def adopt(self, office: Actor, slot: dict[str, Any], text: str, lead: str, cooperating: list[str] | None = None, *,
                    deadline: dt.date | None = None, workdays: int | None = None) -> dict[str, int]:
        """Adopts a resolution; returns its tasks by unit name."""
        data = {"item": str(slot["item"]), "text": text, "lead_unit": str(self.units[lead])}
        if workdays is not None:
            data.update(deadline_mode="workdays", deadline_workdays=str(workdays))
        else:
            assert deadline is not None
            data.update(deadline_mode="date", deadline=deadline.isoformat())
        resolution_id = await task_resolutions.adopt_resolution(office, slot["meeting"], data,
                                                     [str(self.units[u]) for u in cooperating or []])
        rows = await Task.select(Task.id, Task.unit.name.as_alias("unit_name")).where(Task.resolution == resolution_id)
        return {r["unit_name"]: r["id"] for r in rows}


async def load_task_demo() -> bool:
    """Idempotent: does nothing once any resolution exists (or when the demo meetings are missing)."""
    if await Resolution.exists():
        return False
    lift, stalls, parking = (await _held_slot("老旧小区加装电梯审批流程长"), await _held_slot("沿街商铺占道经营反复回潮"),
                             await _held_slot("老旧小区停车位不足"))
    road = await _held_slot("工业园区周边道路破损")
    if lift is None or stalls is None or parking is None or road is None:
        return False
    clock = StoryClock()
    try:
        await _task_story(clock, lift, stalls, parking, road)
    finally:
        clock.close()
    return True


async def _task_story(clock: StoryClock, lift: dict[str, Any], stalls: dict[str, Any], parking: dict[str, Any],
                      road: dict[str, Any]) -> None:
    """Each resolution adopted on its meeting's day (so tasks are assigned and their acknowledgement
    falls due counted from it), then each task's record in the order it happened, spread from the
    meeting to yesterday (`later(f)`: the fraction f of that time), on the story's clock."""
    office, office_lz, street = await _actor("office"), await _actor("office_luozhuang"), await _actor("street")
    market, police = await _actor("unit"), await _actor("unit_police")  # 兰山区市场监管局, 兰山派出所
    rows = await MemberUnit.select(MemberUnit.id, MemberUnit.name).where(MemberUnit.name.is_in(LANSHAN_UNITS + LUOZHUANG_UNITS))
    demo = _Demo({r["name"]: r["id"] for r in rows})
    day = today()
    market_name, police_name = "兰山区市场监管局", "兰山派出所"
    meeting_day = lift["day"]  # the first plenary: lift, stalls and parking were all on it
    next_workday = tasks.workdays_after(meeting_day, 1)
    span = max(1, (day - dt.timedelta(days=1) - next_workday).days)

    def later(fraction: float, hour: int = 10, minute: int = 0) -> None:
        clock.at(next_workday + dt.timedelta(days=round(fraction * span)), hour, minute)

    def adopting(minute: int) -> None:
        clock.at(meeting_day, 11, minute)

    # 一、Lift approvals: 30 working days from the meeting (a date when the holiday calendar does not
    # reach that far). The lead has not acknowledged and is overdue; the market regulator's share is
    # closed and rated satisfied; the approval bureau's task was cancelled.
    try:
        add_workdays(lift["day"], 30)
        deadline_args: dict[str, Any] = {"workdays": 30}
    except CalendarUnknown:
        deadline_args = {"deadline": lift["day"] + dt.timedelta(days=42)}
    adopting(0)
    t = await demo.adopt(office, lift, "成立老旧小区加装电梯联合审批专班，规划、审批、特种设备检验并联办理，办理时限压缩至30个工作日。",
                         "兰山区自然资源和规划局", [market_name, "兰山区行政审批服务局"], **deadline_args)
    later(0, 9, 20)
    await tasks.acknowledge(market, t[market_name])
    later(0.01, 15, 0)
    await tasks.cancel_task(office, t["兰山区行政审批服务局"], {"reason": "审批事项已并入规划局牵头的联合审批专班，不再单独交办。"})
    later(0.06)
    await tasks.report_progress(market, t[market_name], {"text": "已对金锣小区等6个小区的加装电梯方案完成特种设备安全评估。"},
                                [("电梯安全评估汇总表.pdf", DEMO_PDF)])
    later(0.12, 16, 0)
    await tasks.report_done(market, t[market_name], {"evidence": "6部电梯均已完成监督检验并取得使用登记证，检验报告见附件。"},
                            [("监督检验报告.pdf", DEMO_PDF)])
    later(0.13, 11, 0)
    await tasks.close_task(office, t[market_name], {"comment": "经核实，检验和登记手续齐全，同意销号。"})
    later(0.15, 9, 30)
    await tasks.rate_task(street, t[market_name], {"rating": "satisfied", "rating_comment": "专班运行顺畅，居民反映审批时间明显缩短。"})

    # 二、Reported done, waiting for the office to verify.
    adopting(5)
    t = await demo.adopt(office, lift, "对已加装电梯逐台开展特种设备安全检验，建立维保单位台账。", market_name,
                         deadline=day + dt.timedelta(days=40))
    later(0, 9, 25)
    await tasks.acknowledge(market, t[market_name])
    later(0.5)
    await tasks.report_progress(market, t[market_name], {"text": "已完成4部电梯检验，另2部已预约检验时间。"})
    later(0.97, 15, 30)
    await tasks.report_done(market, t[market_name], {"evidence": "6部电梯检验全部合格，维保单位台账已建立并报街道备案。"},
                            [("维保单位台账.pdf", DEMO_PDF)])

    # 三、The lead has not acknowledged yet (in time); the market regulator acknowledged; the police
    # station reports progress and was granted an extension.
    adopting(10)
    t = await demo.adopt(office, stalls, "综合行政执法局牵头建立通达路、解放路沿街商铺占道经营常态化巡查机制，市场监管局、兰山派出所配合。",
                         "兰山区综合行政执法局", [market_name, police_name], deadline=day + dt.timedelta(days=60))
    later(0, 9, 30)
    await tasks.acknowledge(market, t[market_name])
    later(0, 10, 10)
    await tasks.acknowledge(police, t[police_name])
    later(0.2)
    await tasks.report_progress(police, t[police_name], {"text": "已安排社区民警每日早晚两次随同执法队员巡查。"})
    later(0.6)
    await tasks.report_progress(police, t[police_name], {"text": "本月配合劝离占道经营42起，现场照片见附件。"},
                                [("巡查照片.png", DEMO_PNG)])
    later(0.85)
    await tasks.request_extension(police, t[police_name], {
        "extension_deadline": (day + dt.timedelta(days=75)).isoformat(), "extension_reason": "需与执法局联合开展夜市专项整治，时间跨度较长。"})
    later(0.87, 15, 0)
    await tasks.decide_extension(office, t[police_name], True, {"comment": "同意，请按新期限办结。"})

    # 四、Closed and rated basically satisfied.
    adopting(15)
    t = await demo.adopt(office, parking, "兰山派出所对老旧小区周边夜间乱停乱放开展专项整治，每月向街道通报一次。", police_name,
                         deadline=day + dt.timedelta(days=30))
    later(0, 10, 30)
    await tasks.acknowledge(police, t[police_name])
    later(0.3)
    await tasks.report_progress(police, t[police_name], {"text": "已对12个小区周边开展夜间巡查，劝导违停车辆180余辆。"})
    later(0.7, 16, 0)
    await tasks.report_done(police, t[police_name], {"evidence": "专项整治完成，已建立每月通报机制，首期通报已报街道。"})
    later(0.72, 9, 40)
    await tasks.close_task(office, t[police_name], {})
    later(0.75, 14, 0)
    await tasks.rate_task(street, t[police_name], {"rating": "basically_satisfied", "rating_comment": "夜间乱停现象有所好转，仍需常态化管理。"})

    # 五、Not acknowledged within 2 working days of the meeting (the police station's share).
    adopting(20)
    await demo.adopt(office, parking, "规划局牵头论证利用边角地块建设公共停车场，兰山派出所配合做好交通组织方案。",
                     "兰山区自然资源和规划局", [police_name], deadline=day + dt.timedelta(days=90))

    # 六、Due within 3 working days (yellow), in progress; the extension asked for was declined.
    adopting(25)
    t = await demo.adopt(office, stalls, "市场监管局对通达路沿线商铺开展证照和经营范围专项检查。", market_name,
                         deadline=tasks.workdays_after(day, 2))
    later(0, 9, 35)
    await tasks.acknowledge(market, t[market_name])
    later(0.8)
    await tasks.report_progress(market, t[market_name], {"text": "已检查商铺35家，发现超范围经营4家，已责令整改。"})
    later(0.9)
    await tasks.request_extension(market, t[market_name], {
        "extension_deadline": (day + dt.timedelta(days=15)).isoformat(), "extension_reason": "沿线商铺较多，需延长检查时间。"})
    later(0.92, 16, 0)
    await tasks.decide_extension(office, t[market_name], False, {"comment": "剩余商铺数量不多，请按期完成。"})

    # 七、Returned for rework.
    adopting(28)
    t = await demo.adopt(office, stalls, "兰山派出所配合执法局对占道经营反复回潮点位开展联合执法。", police_name,
                         deadline=day + dt.timedelta(days=20))
    later(0, 10, 40)
    await tasks.acknowledge(police, t[police_name])
    later(0.4)
    await tasks.report_progress(police, t[police_name], {"text": "已参加联合执法3次。"})
    later(0.9, 17, 0)
    await tasks.report_done(police, t[police_name], {"evidence": "联合执法已完成。"})
    later(0.93, 10, 0)
    await tasks.return_task(office, t[police_name], {"reason": "佐证材料不足，请补充联合执法记录和现场照片。"})

    # 八、Closed, rated dissatisfied: the office may reopen it.
    adopting(32)
    t = await demo.adopt(office, lift, "市场监管局督促电梯维保单位落实每半月一次的维护保养。", market_name,
                         deadline=day + dt.timedelta(days=15))
    later(0, 9, 45)
    await tasks.acknowledge(market, t[market_name])
    later(0.4, 15, 0)
    await tasks.report_done(market, t[market_name], {"evidence": "已约谈3家维保单位，签订维保承诺书。"})
    later(0.42, 10, 0)
    await tasks.close_task(office, t[market_name], {"comment": "同意销号。"})
    later(0.6, 9, 0)
    await tasks.rate_task(street, t[market_name], {"rating": "dissatisfied", "rating_comment": "维保单位仍未按时保养，居民反映电梯本月停运两次。"})

    # 九、Rated dissatisfied and reopened by the office.
    adopting(36)
    t = await demo.adopt(office, parking, "兰山派出所在小区出入口设置临时停车引导，规范夜间停车秩序。", police_name,
                         deadline=day + dt.timedelta(days=25))
    later(0, 11, 0)
    await tasks.acknowledge(police, t[police_name])
    later(0.5, 16, 0)
    await tasks.report_done(police, t[police_name], {"evidence": "已在5个小区出入口设置停车引导牌。"})
    later(0.52, 9, 30)
    await tasks.close_task(office, t[police_name], {})
    later(0.8, 10, 0)
    await tasks.rate_task(street, t[police_name], {"rating": "dissatisfied", "rating_comment": "引导牌设置后无人值守，夜间秩序没有改善。"})
    later(0.82, 15, 0)
    await tasks.reopen_task(office, t[police_name], {"reason": "请在夜间高峰时段安排人员现场引导，一个月后复查。",
                                                 "deadline": (day + dt.timedelta(days=30)).isoformat()})

    # 十、Overdue (red), in progress, with an extension request (made before the deadline) waiting for the office.
    adopting(40)
    t = await demo.adopt(office, stalls, "市场监管局对占道经营商户建立信用档案，对屡教不改的依法处理。", market_name,
                         deadline=day - dt.timedelta(days=5))
    later(0, 9, 50)
    await tasks.acknowledge(market, t[market_name])
    later(0.5)
    await tasks.report_progress(market, t[market_name], {"text": "已建立商户信用档案58份。"})
    clock.at(max(day - dt.timedelta(days=7), next_workday + dt.timedelta(days=1)), 16, 30)
    await tasks.request_extension(market, t[market_name], {
        "extension_deadline": (day + dt.timedelta(days=20)).isoformat(), "extension_reason": "信用惩戒需经区信用办审核，流程尚未走完。"})

    # 十一、Closed, waiting for the street's rating.
    adopting(44)
    t = await demo.adopt(office, lift, "市场监管局向街道书面通报电梯安全检验结果。", market_name, deadline=day + dt.timedelta(days=10))
    later(0, 10, 5)
    await tasks.acknowledge(market, t[market_name])
    later(0.9, 15, 0)
    await tasks.report_done(market, t[market_name], {"evidence": "检验结果已书面通报街道。"}, [("通报函.pdf", DEMO_PDF)])
    later(0.95, 10, 0)
    await tasks.close_task(office, t[market_name], {"comment": "已核实通报函。"})

    # 罗庄街道: a resolution of its plenary, not acknowledged by either unit.
    clock.at(road["day"], 11, 20)
    await demo.adopt(office_lz, road, "罗庄区综合行政执法局牵头对工业园区周边3条破损道路进行修复，罗庄区应急管理局配合做好重型车辆通行安全管理。",
                         "罗庄区综合行政执法局", ["罗庄区应急管理局"], deadline=day + dt.timedelta(days=30))
