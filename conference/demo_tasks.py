"""Demo resolutions and supervised tasks in every state, made through the services (so the audit
trail, the task record and the outbox are as real use leaves them) on the held demo meetings:
the 兰山街道 first plenary and the 罗庄街道 plenary of conference.demo_meetings.

Deadlines are relative to today, so the alerts always have something to show: one task overdue
(red), one due within 3 working days (yellow), one not acknowledged in time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conference.accounts.actor import Actor
from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.agenda.tables import AgendaItem, AgendaSlot
from conference.meetings.tables import Meeting
from conference.registry.tables import MemberUnit
from conference.settings import get_settings
from conference.tasks import services as tasks
from conference.tasks.tables import Resolution, Task, TaskReport
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
        resolution_id = await tasks.adopt_resolution(office, slot["meeting"], data,
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
    office, office_lz, street = await _actor("office"), await _actor("office_luozhuang"), await _actor("street")
    market, police = await _actor("unit"), await _actor("unit_police")  # 兰山区市场监管局, 兰山派出所
    rows = await MemberUnit.select(MemberUnit.id, MemberUnit.name).where(MemberUnit.name.is_in(LANSHAN_UNITS + LUOZHUANG_UNITS))
    demo = _Demo({r["name"]: r["id"] for r in rows})
    day = today()
    market_name, police_name = "兰山区市场监管局", "兰山派出所"

    # 一、Lift approvals: 30 working days from the meeting (a date when the holiday calendar does not
    # reach that far). The lead has not acknowledged and is overdue; the market regulator's share is
    # closed and rated satisfied; the approval bureau's task was cancelled.
    try:
        add_workdays(lift["day"], 30)
        deadline_args: dict[str, Any] = {"workdays": 30}
    except CalendarUnknown:
        deadline_args = {"deadline": lift["day"] + dt.timedelta(days=42)}
    t = await demo.adopt(office, lift, "成立老旧小区加装电梯联合审批专班，规划、审批、特种设备检验并联办理，办理时限压缩至30个工作日。",
                         "兰山区自然资源和规划局", [market_name, "兰山区行政审批服务局"], **deadline_args)
    await tasks.acknowledge(market, t[market_name])
    await tasks.report_progress(market, t[market_name], {"text": "已对金锣小区等6个小区的加装电梯方案完成特种设备安全评估。"},
                                [("电梯安全评估汇总表.pdf", DEMO_PDF)])
    await tasks.report_done(market, t[market_name], {"evidence": "6部电梯均已完成监督检验并取得使用登记证，检验报告见附件。"},
                            [("监督检验报告.pdf", DEMO_PDF)])
    await tasks.close_task(office, t[market_name], {"comment": "经核实，检验和登记手续齐全，同意销号。"})
    await tasks.rate_task(street, t[market_name], {"rating": "satisfied", "rating_comment": "专班运行顺畅，居民反映审批时间明显缩短。"})
    await tasks.cancel_task(office, t["兰山区行政审批服务局"], {"reason": "审批事项已并入规划局牵头的联合审批专班，不再单独交办。"})

    # 二、Reported done, waiting for the office to verify.
    t = await demo.adopt(office, lift, "对已加装电梯逐台开展特种设备安全检验，建立维保单位台账。", market_name,
                         deadline=day + dt.timedelta(days=40))
    await tasks.acknowledge(market, t[market_name])
    await tasks.report_progress(market, t[market_name], {"text": "已完成4部电梯检验，另2部已预约检验时间。"})
    await tasks.report_done(market, t[market_name], {"evidence": "6部电梯检验全部合格，维保单位台账已建立并报街道备案。"},
                            [("维保单位台账.pdf", DEMO_PDF)])

    # 三、The lead has not acknowledged yet (in time); the market regulator acknowledged; the police
    # station reports progress and was granted an extension.
    t = await demo.adopt(office, stalls, "综合行政执法局牵头建立通达路、解放路沿街商铺占道经营常态化巡查机制，市场监管局、兰山派出所配合。",
                         "兰山区综合行政执法局", [market_name, police_name], deadline=day + dt.timedelta(days=60))
    await tasks.acknowledge(market, t[market_name])
    await tasks.acknowledge(police, t[police_name])
    await tasks.report_progress(police, t[police_name], {"text": "已安排社区民警每日早晚两次随同执法队员巡查。"})
    await tasks.report_progress(police, t[police_name], {"text": "本月配合劝离占道经营42起，现场照片见附件。"},
                                [("巡查照片.png", DEMO_PNG)])
    await tasks.request_extension(police, t[police_name], {
        "extension_deadline": (day + dt.timedelta(days=75)).isoformat(), "extension_reason": "需与执法局联合开展夜市专项整治，时间跨度较长。"})
    await tasks.decide_extension(office, t[police_name], True, {"comment": "同意，请按新期限办结。"})

    # 四、Closed and rated basically satisfied.
    t = await demo.adopt(office, parking, "兰山派出所对老旧小区周边夜间乱停乱放开展专项整治，每月向街道通报一次。", police_name,
                         deadline=day + dt.timedelta(days=30))
    await tasks.acknowledge(police, t[police_name])
    await tasks.report_progress(police, t[police_name], {"text": "已对12个小区周边开展夜间巡查，劝导违停车辆180余辆。"})
    await tasks.report_done(police, t[police_name], {"evidence": "专项整治完成，已建立每月通报机制，首期通报已报街道。"})
    await tasks.close_task(office, t[police_name], {})
    await tasks.rate_task(street, t[police_name], {"rating": "basically_satisfied", "rating_comment": "夜间乱停现象有所好转，仍需常态化管理。"})

    # 五、Not acknowledged within 2 working days. Dates in the past cannot be made through the
    # services (they stamp today), so this demo task's assignment is moved back to the day after
    # the meeting with a direct update — the demo only, never the application.
    t = await demo.adopt(office, parking, "规划局牵头论证利用边角地块建设公共停车场，兰山派出所配合做好交通组织方案。",
                         "兰山区自然资源和规划局", [police_name], deadline=day + dt.timedelta(days=90))
    assigned = dt.datetime.combine(parking["day"] + dt.timedelta(days=1), dt.time(9, 30), get_settings().tz)
    await Task.update({Task.assigned_at: assigned, Task.ack_due: tasks.workdays_after(assigned.date(), tasks.ACK_WORKDAYS)}).where(
        Task.id == t[police_name])

    # 六、Due within 3 working days (yellow), in progress; the extension asked for was declined.
    t = await demo.adopt(office, stalls, "市场监管局对通达路沿线商铺开展证照和经营范围专项检查。", market_name,
                         deadline=tasks.workdays_after(day, 2))
    await tasks.acknowledge(market, t[market_name])
    await tasks.report_progress(market, t[market_name], {"text": "已检查商铺35家，发现超范围经营4家，已责令整改。"})
    await tasks.request_extension(market, t[market_name], {
        "extension_deadline": (day + dt.timedelta(days=15)).isoformat(), "extension_reason": "沿线商铺较多，需延长检查时间。"})
    await tasks.decide_extension(office, t[market_name], False, {"comment": "剩余商铺数量不多，请按期完成。"})

    # 七、Returned for rework.
    t = await demo.adopt(office, stalls, "兰山派出所配合执法局对占道经营反复回潮点位开展联合执法。", police_name,
                         deadline=day + dt.timedelta(days=20))
    await tasks.acknowledge(police, t[police_name])
    await tasks.report_progress(police, t[police_name], {"text": "已参加联合执法3次。"})
    await tasks.report_done(police, t[police_name], {"evidence": "联合执法已完成。"})
    await tasks.return_task(office, t[police_name], {"reason": "佐证材料不足，请补充联合执法记录和现场照片。"})

    # 八、Closed, rated dissatisfied: the office may reopen it.
    t = await demo.adopt(office, lift, "市场监管局督促电梯维保单位落实每半月一次的维护保养。", market_name,
                         deadline=day + dt.timedelta(days=15))
    await tasks.acknowledge(market, t[market_name])
    await tasks.report_done(market, t[market_name], {"evidence": "已约谈3家维保单位，签订维保承诺书。"})
    await tasks.close_task(office, t[market_name], {"comment": "同意销号。"})
    await tasks.rate_task(street, t[market_name], {"rating": "dissatisfied", "rating_comment": "维保单位仍未按时保养，居民反映电梯本月停运两次。"})

    # 九、Rated dissatisfied and reopened by the office.
    t = await demo.adopt(office, parking, "兰山派出所在小区出入口设置临时停车引导，规范夜间停车秩序。", police_name,
                         deadline=day + dt.timedelta(days=25))
    await tasks.acknowledge(police, t[police_name])
    await tasks.report_done(police, t[police_name], {"evidence": "已在5个小区出入口设置停车引导牌。"})
    await tasks.close_task(office, t[police_name], {})
    await tasks.rate_task(street, t[police_name], {"rating": "dissatisfied", "rating_comment": "引导牌设置后无人值守，夜间秩序没有改善。"})
    await tasks.reopen_task(office, t[police_name], {"reason": "请在夜间高峰时段安排人员现场引导，一个月后复查。",
                                                 "deadline": (day + dt.timedelta(days=30)).isoformat()})

    # 十、Overdue (red), in progress, with an extension request waiting for the office.
    t = await demo.adopt(office, stalls, "市场监管局对占道经营商户建立信用档案，对屡教不改的依法处理。", market_name,
                         deadline=day - dt.timedelta(days=5))
    await tasks.acknowledge(market, t[market_name])
    await tasks.report_progress(market, t[market_name], {"text": "已建立商户信用档案58份。"})
    await tasks.request_extension(market, t[market_name], {
        "extension_deadline": (day + dt.timedelta(days=20)).isoformat(), "extension_reason": "信用惩戒需经区信用办审核，流程尚未走完。"})

    # 十一、Closed, waiting for the street's rating.
    t = await demo.adopt(office, lift, "市场监管局向街道书面通报电梯安全检验结果。", market_name, deadline=day + dt.timedelta(days=10))
    await tasks.acknowledge(market, t[market_name])
    await tasks.report_done(market, t[market_name], {"evidence": "检验结果已书面通报街道。"}, [("通报函.pdf", DEMO_PDF)])
    await tasks.close_task(office, t[market_name], {"comment": "已核实通报函。"})

    # 罗庄街道: a resolution just assigned to two units.
    await demo.adopt(office_lz, road, "罗庄区综合行政执法局牵头对工业园区周边3条破损道路进行修复，罗庄区应急管理局配合做好重型车辆通行安全管理。",
                     "罗庄区综合行政执法局", ["罗庄区应急管理局"], deadline=day + dt.timedelta(days=30))
    return True


async def retell_dates() -> None:
    """The services stamp every record with the moment they run, so a freshly loaded demo would
    say that tasks from the May plenary were assigned today and items were all submitted today.
    This puts the demo's story back on its own calendar (the demo only, never the application):

    - each resolution adopted, and each task assigned, on its meeting's day; acknowledgement due
      ACK_WORKDAYS working days after that day (conference.workdays, as the services count it);
    - the task's record spread from the meeting to yesterday in the order it happened, the
      acknowledgement on the next working day, and the task's acknowledged / reported-done /
      closed / rated times taken from that record;
    - each agenda item submitted weeks before the first meeting it was put on (items never put on
      a meeting keep the dates conference.demo_meetings gave them).

    Deadlines are left as adopted: dates or working days counted from the meeting's day.
    """
    tz = get_settings().tz
    day = today()
    yesterday = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(16, 30), tz)
    meetings = {r["id"]: r for r in await Meeting.select(Meeting.id, Meeting.starts_at, Meeting.ends_at)}
    for res in await Resolution.select(Resolution.id, Resolution.meeting):
        meeting = meetings[res["meeting"]]
        if meeting["starts_at"].astimezone(tz).date() >= day:
            continue
        await Resolution.update({Resolution.adopted_at: meeting["starts_at"] + dt.timedelta(minutes=50)}).where(
            Resolution.id == res["id"])
    reports: dict[int, list[dict[str, Any]]] = {}
    for r in await TaskReport.select(TaskReport.id, TaskReport.task, TaskReport.kind).order_by(TaskReport.id):
        reports.setdefault(r["task"], []).append(r)
    for task in await Task.select(Task.id, Task.resolution.meeting.as_alias("meeting")):
        meeting = meetings[task["meeting"]]
        meeting_day = meeting["starts_at"].astimezone(tz).date()
        if meeting_day >= day:
            continue
        assigned = meeting["ends_at"]
        record = reports.get(task["id"], [])
        values: dict[Any, Any] = {Task.assigned_at: assigned, Task.ack_due: tasks.workdays_after(meeting_day, tasks.ACK_WORKDAYS)}
        later = record[1:] if record and record[0]["kind"] == "assigned" else record
        if record and record[0]["kind"] == "assigned":
            await TaskReport.update({TaskReport.created_at: assigned}).where(TaskReport.id == record[0]["id"])
        start = dt.datetime.combine(tasks.workdays_after(meeting_day, 1), dt.time(9, 20), tz)
        span = max(dt.timedelta(hours=1), yesterday - start)
        for i, report in enumerate(later):
            at = start if i == 0 and report["kind"] == "acknowledged" else start + span * (i + 1) / (len(later) + 1)
            at = min(at, yesterday)
            await TaskReport.update({TaskReport.created_at: at}).where(TaskReport.id == report["id"])
            column = {"acknowledged": Task.acknowledged_at, "done": Task.reported_done_at, "closed": Task.closed_at,
                      "rated": Task.rated_at}.get(report["kind"])
            if column is not None:
                values[column] = at
        current = await Task.select(Task.status, Task.closed_at, Task.rated_at, Task.reported_done_at).where(
            Task.id == task["id"]).first()
        assert current is not None
        for column, key in ((Task.closed_at, "closed_at"), (Task.rated_at, "rated_at"), (Task.reported_done_at, "reported_done_at")):
            if current[key] is None:  # reopened: the record keeps the closing, the task does not
                values.pop(column, None)
        await Task.update(values).where(Task.id == task["id"])
    # Items: submitted weeks before the first meeting they were put on.
    firsts: dict[int, dt.datetime] = {}
    for slot in await AgendaSlot.select(AgendaSlot.item, AgendaSlot.meeting.starts_at.as_alias("starts_at")):
        if slot["item"] not in firsts or slot["starts_at"] < firsts[slot["item"]]:
            firsts[slot["item"]] = slot["starts_at"]
    for item in await AgendaItem.select(AgendaItem.id, AgendaItem.submitted_at).where(AgendaItem.submitted_at.is_not_null()):
        first = firsts.get(item["id"])
        if first is None:
            continue
        lead = dt.timedelta(days=9 + (item["id"] * 5) % 26, hours=-(item["id"] % 5))
        submitted = min(first - lead, item["submitted_at"])
        await AgendaItem.update({AgendaItem.submitted_at: submitted, AgendaItem.created_at: submitted - dt.timedelta(hours=2)}).where(
            AgendaItem.id == item["id"])
