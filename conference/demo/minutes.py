"""Demo minutes in every state, made through the services (versions, comments, sign-off, the stored
PDF/A and the outbox as real use leaves them):

- the 兰山街道 first plenary (held, resolutions from conference.demo.tasks): a draft in two versions
  (the meeting stays held, so resolutions can still be recorded on it);
- four 兰山街道 special meetings held in the last weeks, each with a street's item and a resolution:
  signed and then corrected (two publications), signed with a correction in progress, submitted
  and waiting for the convenor's signature, and returned with the convenor's comments. Their tasks
  are in different states: acknowledged, in progress, reported done, not acknowledged in time.

Every step runs on the story's clock (conference.demo.meetings.StoryClock), days after the meeting.
"""

from __future__ import annotations

import datetime as dt

from conference.accounts.actor import Actor
from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.agenda import scheduling
from conference.agenda import services as agenda
from conference.demo.meetings import StoryClock, working_day
from conference.meetings import invitations as meeting_invitations
from conference.meetings import lifecycle
from conference.meetings import services as meetings
from conference.meetings.tables import Invitation, Meeting
from conference.minutes import services as minutes
from conference.minutes import workflow as minutes_workflow
from conference.minutes.tables import Minutes
from conference.registry.tables import Conference, MemberUnit
from conference.settings import get_settings
from conference.tasks import resolutions as task_resolutions
from conference.tasks import services as tasks
from conference.tasks.tables import Task
from conference.timefmt import today

LANSHAN = "兰山街道城市基层党建联席会议"


async def _actor(username: str) -> Actor:
    row = await User.select(*ACTOR_COLUMNS).where(User.username == username).first()
    assert row is not None, username
    return actor_from_row(row)


async def _unit(name: str) -> int:
    row = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name).first()
    assert row is not None, name
    return int(row["id"])


async def _held_special(clock: StoryClock, office: Actor, street: Actor, conference_id: int, day: dt.date, title: str,
                        item: tuple[str, str, str], resolution: str, lead: str, cooperating: list[str], deadline: dt.date) -> int:
    """A special meeting held on `day` with one item of the street (submitted two weeks before) and
    one resolution on it."""
    item_title, category, description = item
    clock.at(day - dt.timedelta(days=15), 10, 0)
    item_id = await agenda.create_item(street, {"title": item_title, "category": category, "urgency": "urgent",
                                                "description": description}, [str(await _unit(lead))], submit=True)
    clock.at(day - dt.timedelta(days=13), 9, 30)
    await agenda.accept_item(office, item_id)
    clock.at(day - dt.timedelta(days=12), 10, 0)
    meeting_id = await meetings.create_meeting(office, conference_id, {
        "kind": "special", "title": title, "date": day.isoformat(), "start_time": "15:00", "end_time": "17:00",
        "location": "兰山街道办事处二楼会议室"})
    await scheduling.schedule_item(office, item_id, {"meeting": str(meeting_id)})
    clock.at(day - dt.timedelta(days=10), 9, 0)
    await lifecycle.notify_meeting(office, meeting_id)
    clock.at(day, 15, 5)
    await lifecycle.hold_meeting(office, meeting_id)
    for inv in await Invitation.select(Invitation.id, Invitation.unit.name.as_alias("unit_name")).where(Invitation.meeting == meeting_id):
        state = "leave" if inv["unit_name"] == "兰山区司法局" else "present"
        await meeting_invitations.record_attendance(office, inv["id"], {"attendance": state})
    clock.at(day, 16, 40)
    await scheduling.record_outcome(office, item_id, {"outcome": "resolved", "note": resolution})
    await task_resolutions.adopt_resolution(office, meeting_id, {
        "item": str(item_id), "text": resolution, "lead_unit": str(await _unit(lead)), "deadline_mode": "date",
        "deadline": deadline.isoformat()}, [str(await _unit(u)) for u in cooperating])
    return meeting_id


async def _edit(office: Actor, minutes_id: int, **changes: str) -> int:
    row = await minutes.minutes_row(minutes_id)
    sections, _records = minutes.loads(await minutes.version_row(minutes_id, row["current_version"]))
    return await minutes_workflow.save_version(office, minutes_id, {**sections, **changes, "base": str(row["current_version"])})


async def load_minutes_demo() -> bool:
    if await Minutes.exists():
        return False
    clock = StoryClock()
    try:
        return await _minutes_story(clock)
    finally:
        clock.close()


async def _minutes_story(clock: StoryClock) -> bool:
    office, street, convenor = await _actor("office"), await _actor("street"), await _actor("convenor")
    conference = await Conference.select(Conference.id).where(Conference.name == LANSHAN).first()
    if conference is None:
        return False
    lanshan = int(conference["id"])
    day = today()
    year = day.year

    # The first plenary: a draft being written (two versions), the meeting still held.
    plenary = await Meeting.select(Meeting.id, Meeting.starts_at).where(
        (Meeting.conference == lanshan) & (Meeting.title == f"{year}年第1次全体会议") & (Meeting.status == "held")).first()
    if plenary is not None:
        held_on = plenary["starts_at"].astimezone(get_settings().tz).date()
        clock.at(tasks.workdays_after(held_on, 1), 10, 0)
        draft = await minutes_workflow.start_minutes(office, plenary["id"])
        row = await minutes.minutes_row(draft)
        sections, _r = minutes.loads(await minutes.version_row(draft, row["current_version"]))
        clock.at(tasks.workdays_after(held_on, 2), 15, 30)
        await _edit(office, draft, summary=sections["summary"] + "\n" + "会议强调，各成员单位要把群众关心的急难愁盼问题"
                    "作为联席会议的重点，能当场解决的当场解决，一时解决不了的明确时限、跟踪督办。")

    specials = [
        (day - dt.timedelta(days=40), "背街小巷环境整治专题会议", ("背街小巷垃圾清运不及时", "urban_management",
         "辖区12条背街小巷垃圾清运频次不足，夏季异味扰民。"), "由区综合行政执法局牵头，会同街道建立背街小巷垃圾日产日清机制，"
         "30日内完成12条背街小巷的清运点位优化。", "兰山区综合行政执法局", ["兰山区生态环境分局"], 30),
        (day - dt.timedelta(days=30), "燃气安全专题会议", ("餐饮场所燃气报警装置缺失", "safety",
         "辖区部分餐饮场所未安装可燃气体报警装置。"), "由区应急管理局牵头，区市场监管局配合，对辖区餐饮场所开展燃气安全联合检查，"
         "督促未安装报警装置的场所限期整改。", "兰山区应急管理局", ["兰山区市场监管局"], 45),
        (day - dt.timedelta(days=20), "农贸市场周边秩序专题会议", ("早市流动摊贩占道", "market",
         "金雀山路早市时段流动摊贩聚集，影响通行。"), "由兰山区市场监管局牵头，兰山派出所配合，划定早市临时疏导区，"
         "引导流动摊贩入区经营。", "兰山区市场监管局", ["兰山派出所"], 40),
        (day - dt.timedelta(days=10), "防汛排涝专题会议", ("低洼小区汛期积水", "safety",
         "汛期强降雨时，辖区3个低洼小区出现积水倒灌。"), "由兰山区应急管理局牵头，兰山区自然资源和规划局配合，"
         "汛前完成3个低洼小区排水设施排查和应急物资储备。", "兰山区应急管理局", ["兰山区自然资源和规划局"], 25),
    ]
    made, held = [], []
    for when, title, item, resolution, lead, cooperating, days in specials:
        when = working_day(when)
        meeting_id = await _held_special(clock, office, street, lanshan, when, title, item, resolution, lead, cooperating,
                                         day + dt.timedelta(days=days))
        clock.at(when + dt.timedelta(days=1), 9, 30)
        made.append(await minutes_workflow.start_minutes(office, meeting_id))
        held.append((when, meeting_id))
    corrected, correcting, submitted, returned = made

    def after(index: int, days: int, hour: int = 10, minute: int = 0) -> None:
        """`days` after the index-th special meeting."""
        clock.at(held[index][0] + dt.timedelta(days=days), hour, minute)

    async def sign(minutes_id: int, comment: str = "") -> None:
        await minutes_workflow.submit_minutes(office, minutes_id, {})
        clock.at(today() + dt.timedelta(days=1), 16, 0)  # the convenor signs the next day
        row = await minutes.minutes_row(minutes_id)
        await minutes_workflow.approve_minutes(convenor, minutes_id, {"number": str(row["submitted_version"]), "text": comment})

    # Signed after one return, then corrected and signed again: two publications.
    after(0, 2, 9, 0)
    await minutes_workflow.submit_minutes(office, corrected, {})
    after(0, 3, 10, 0)
    await minutes_workflow.add_comment(convenor, corrected, {"section": "requirements", "text": "会议要求部分请补充办理结果纳入考核的表述。"})
    await minutes_workflow.return_minutes(convenor, corrected, {"section": "requirements", "text": "请按意见修改后再送签。"})
    after(0, 4, 11, 0)
    await _edit(office, corrected, requirements="各成员单位要按照议定事项明确的分工和时限抓好落实，办理结果纳入年度考核。")
    after(0, 5, 9, 0)
    await sign(corrected, "同意印发。")
    after(0, 12, 10, 0)
    await minutes_workflow.start_correction(office, corrected, {"reason": "出席名单漏列兰山区生态环境分局参会人员姓名。"})
    await _edit(office, corrected, present="兰山区委常委、组织部部长王建国，兰山区综合行政执法局，兰山区生态环境分局副局长赵磊，"
                "兰山区市场监管局，兰山派出所")
    after(0, 13, 9, 0)
    await sign(corrected, "同意更正。")

    # Signed, and a correction being drafted (the published copy stays in force).
    after(1, 3, 9, 0)
    await sign(correcting, "同意印发。")
    after(1, 9, 14, 0)
    await minutes_workflow.start_correction(office, correcting, {"reason": "议定事项完成时限表述需与督办台账一致。"})

    # Waiting for the convenor's signature.
    after(2, 3, 9, 0)
    await minutes_workflow.submit_minutes(office, submitted, {})

    # Returned with comments on a section and on the whole.
    after(3, 2, 9, 0)
    await minutes_workflow.submit_minutes(office, returned, {})
    after(3, 3, 10, 30)
    await minutes_workflow.add_comment(convenor, returned, {"section": "summary", "text": "会议概况请写明参加会议的街道负责同志。"})
    await minutes_workflow.return_minutes(convenor, returned, {"section": "", "text": "请补充后重新送签。"})

    # The special meetings' tasks of the two units with demo accounts, in different states; the other
    # units have not acknowledged theirs (the last meetings' not in time).
    tasks_of: list[dict[str, int]] = []
    for _when, meeting_id in held:
        rows = await Task.select(Task.id, Task.unit.name.as_alias("unit_name")).where(Task.resolution.meeting == meeting_id)
        tasks_of.append({r["unit_name"]: r["id"] for r in rows})
    _backstreets, gas, market_order, _flood = tasks_of
    market, police = await _actor("unit"), await _actor("unit_police")  # 兰山区市场监管局, 兰山派出所
    after(1, 1, 9, 10)
    await tasks.acknowledge(market, gas["兰山区市场监管局"])
    after(1, 12, 16, 20)
    await tasks.report_progress(market, gas["兰山区市场监管局"], {"text": "已联合检查餐饮场所26家，督促9家安装可燃气体报警装置。"})
    after(1, 22, 17, 0)
    await tasks.report_done(market, gas["兰山区市场监管局"], {"evidence": "辖区餐饮场所燃气报警装置全部安装到位，检查台账见附件。"})
    after(2, 1, 10, 0)
    await tasks.acknowledge(market, market_order["兰山区市场监管局"])
    after(2, 2, 9, 0)
    await tasks.acknowledge(police, market_order["兰山派出所"])
    after(2, 8, 11, 0)
    await tasks.report_progress(market, market_order["兰山区市场监管局"], {"text": "临时疏导区已划定，首批32户摊贩入区经营。"})
    return True
