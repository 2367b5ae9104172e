"""Demo minutes in every state, made through the services (versions, comments, sign-off, the stored
PDF/A and the outbox as real use leaves them):

- the 兰山街道 first plenary (held, resolutions from conference.demo_tasks): a draft in two versions
  (the meeting stays held, so resolutions can still be recorded on it);
- four 兰山街道 special meetings held in the last weeks, each with a street's item and a resolution:
  signed and then corrected (two publications), signed with a correction in progress, submitted
  and waiting for the convenor's signature, and returned with the convenor's comments.
"""

from __future__ import annotations

import datetime as dt

from conference.accounts.actor import Actor
from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.agenda import services as agenda
from conference.meetings import services as meetings
from conference.meetings.tables import Invitation, Meeting
from conference.minutes import services as minutes
from conference.minutes.tables import Minutes
from conference.registry.tables import Conference, MemberUnit
from conference.tasks import services as tasks
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


async def _held_special(office: Actor, street: Actor, conference_id: int, day: dt.date, title: str, item: tuple[str, str, str],
                        resolution: str, lead: str, cooperating: list[str], deadline: dt.date) -> int:
    """A special meeting held on `day` with one item of the street and one resolution on it."""
    meeting_id = await meetings.create_meeting(office, conference_id, {
        "kind": "special", "title": title, "date": day.isoformat(), "start_time": "15:00", "end_time": "17:00",
        "location": "兰山街道办事处二楼会议室"})
    item_title, category, description = item
    item_id = await agenda.create_item(street, {"title": item_title, "category": category, "urgency": "urgent",
                                                "description": description}, [str(await _unit(lead))], submit=True)
    await agenda.accept_item(office, item_id)
    await agenda.schedule_item(office, item_id, {"meeting": str(meeting_id)})
    await meetings.notify_meeting(office, meeting_id)
    await meetings.hold_meeting(office, meeting_id)
    for inv in await Invitation.select(Invitation.id, Invitation.unit.name.as_alias("unit_name")).where(Invitation.meeting == meeting_id):
        state = "leave" if inv["unit_name"] == "兰山区司法局" else "present"
        await meetings.record_attendance(office, inv["id"], {"attendance": state})
    await agenda.record_outcome(office, item_id, {"outcome": "resolved", "note": resolution})
    await tasks.adopt_resolution(office, meeting_id, {
        "item": str(item_id), "text": resolution, "lead_unit": str(await _unit(lead)), "deadline_mode": "date",
        "deadline": deadline.isoformat()}, [str(await _unit(u)) for u in cooperating])
    return meeting_id


async def _edit(office: Actor, minutes_id: int, **changes: str) -> int:
    row = await minutes.minutes_row(minutes_id)
    sections, _records = minutes.loads(await minutes.version_row(minutes_id, row["current_version"]))
    return await minutes.save_version(office, minutes_id, {**sections, **changes, "base": str(row["current_version"])})


async def load_minutes_demo() -> bool:
    if await Minutes.exists():
        return False
    office, street, convenor = await _actor("office"), await _actor("street"), await _actor("convenor")
    conference = await Conference.select(Conference.id).where(Conference.name == LANSHAN).first()
    if conference is None:
        return False
    lanshan = int(conference["id"])
    day = today()
    year = day.year

    # The first plenary: a draft being written (two versions), the meeting still held.
    plenary = await Meeting.select(Meeting.id).where(
        (Meeting.conference == lanshan) & (Meeting.title == f"{year}年第1次全体会议") & (Meeting.status == "held")).first()
    if plenary is not None:
        draft = await minutes.start_minutes(office, plenary["id"])
        row = await minutes.minutes_row(draft)
        sections, _r = minutes.loads(await minutes.version_row(draft, row["current_version"]))
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
    made = []
    for when, title, item, resolution, lead, cooperating, days in specials:
        meeting_id = await _held_special(office, street, lanshan, when, title, item, resolution, lead, cooperating,
                                         day + dt.timedelta(days=days))
        made.append(await minutes.start_minutes(office, meeting_id))
    corrected, correcting, submitted, returned = made

    async def sign(minutes_id: int, comment: str = "") -> None:
        await minutes.submit_minutes(office, minutes_id, {})
        row = await minutes.minutes_row(minutes_id)
        await minutes.approve_minutes(convenor, minutes_id, {"number": str(row["submitted_version"]), "text": comment})

    # Signed after one return, then corrected and signed again: two publications.
    await minutes.submit_minutes(office, corrected, {})
    await minutes.add_comment(convenor, corrected, {"section": "requirements", "text": "会议要求部分请补充办理结果纳入考核的表述。"})
    await minutes.return_minutes(convenor, corrected, {"section": "requirements", "text": "请按意见修改后再送签。"})
    await _edit(office, corrected, requirements="各成员单位要按照议定事项明确的分工和时限抓好落实，办理结果纳入年度考核。")
    await sign(corrected, "同意印发。")
    await minutes.start_correction(office, corrected, {"reason": "出席名单漏列兰山区生态环境分局参会人员姓名。"})
    await _edit(office, corrected, present="兰山区委常委、组织部部长王建国，兰山区综合行政执法局，兰山区生态环境分局副局长赵磊，"
                "兰山区市场监管局，兰山派出所")
    await sign(corrected, "同意更正。")

    # Signed, and a correction being drafted (the published copy stays in force).
    await sign(correcting, "同意印发。")
    await minutes.start_correction(office, correcting, {"reason": "议定事项完成时限表述需与督办台账一致。"})

    # Waiting for the convenor's signature.
    await minutes.submit_minutes(office, submitted, {})

    # Returned with comments on a section and on the whole.
    await minutes.submit_minutes(office, returned, {})
    await minutes.add_comment(convenor, returned, {"section": "summary", "text": "会议概况请写明参加会议的街道负责同志。"})
    await minutes.return_minutes(convenor, returned, {"section": "", "text": "请补充后重新送签。"})
    return True
