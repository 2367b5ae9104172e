"""Resolutions and supervised tasks through HTTP: adopting a resolution on the meeting page (date and
working-day deadlines, one task per unit, audit events, notifications), every task transition allowed
and refused with its audit event, extensions, ratings and reopening, scope (units, streets, offices),
evidence attachments, the task list (filters, alerts, sort, pages) and a constant number of queries."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from typing import Any

import httpx
import pytest

from conference.agenda import scheduling
from conference.agenda import services as agenda
from conference.audit.tables import AuditEvent
from conference.meetings import lifecycle
from conference.meetings.tables import Meeting
from conference.notifications.tables import Notification
from conference.registry.tables import Conference, MemberUnit, Street
from conference.settings import get_settings
from conference.tasks import resolutions as task_resolutions
from conference.tasks import services as tasks
from conference.tasks.tables import Resolution, ResolutionUnit, Task, TaskAttachment, TaskReport
from conference.timefmt import cn_date, today
from conference.workdays import CalendarUnknown, add_workdays
from tests import conftest
from tests.conftest import field_error, post_form
from tests.factories import LANSHAN_STREET, LUOZHUANG_STREET, actor, make_meeting, make_past_meeting, unique
from tests.querycount import count_queries

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MARKET = "兰山区市场监管局"  # the demo account "unit"
POLICE = "兰山派出所"  # the demo account "unit_police"
PLANNING = "兰山区自然资源和规划局"
ENFORCEMENT = "兰山区综合行政执法局"
ROLE_REFUSED = "您的角色无权访问此页面。"


# ---------------------------------------------------------------- helpers


def html(response: httpx.Response) -> Any:
    """The parsed page, loosely typed: the tests look nodes up and fail when they are missing."""
    return conftest.html(response)


def summary(response: httpx.Response) -> str:
    node = html(response).find(id="error-summary")
    return node.find("h2").get_text(strip=True) if node else ""


async def unit_id(name: str) -> int:
    row = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name).first()
    assert row is not None, name
    return int(row["id"])


async def task_row(task_id: int) -> dict[str, Any]:
    row = await Task.select().where(Task.id == task_id).first()
    assert row is not None
    return dict(row)


async def audit_actions(entity: str, entity_id: int) -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == entity) & (AuditEvent.entity_id == entity_id)).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


async def report_kinds(task_id: int) -> list[str]:
    rows = await TaskReport.select(TaskReport.kind).where(TaskReport.task == task_id).order_by(TaskReport.id)
    return [r["kind"] for r in rows]


async def held_meeting(office: str = "office", conference: str = LANSHAN_STREET, street: str = "street") -> tuple[int, int]:
    """A meeting held yesterday with one item of `street` on its agenda: (meeting id, item id)."""
    meeting_id = await make_past_meeting(office, conference)
    office_actor = await actor(office)
    item_id = await agenda.create_item(await actor(street), {
        "title": unique("议题"), "description": "沿街商铺占道经营反复出现，需要多部门联合整治。", "category": "urban_management",
        "urgency": "normal"}, [], submit=True)
    await agenda.accept_item(office_actor, item_id)
    await scheduling.schedule_item(office_actor, item_id, {"meeting": str(meeting_id)})
    await lifecycle.hold_meeting(office_actor, meeting_id)
    return meeting_id, item_id


async def meeting_day(meeting_id: int) -> dt.date:
    row = await Meeting.select(Meeting.starts_at).where(Meeting.id == meeting_id).first()
    assert row is not None
    return row["starts_at"].astimezone(get_settings().tz).date()


async def tasks_of(resolution_id: int) -> dict[str, int]:
    rows = await Task.select(Task.id, Task.unit.name.as_alias("name")).where(Task.resolution == resolution_id)
    return {r["name"]: r["id"] for r in rows}


async def adopt(client: httpx.AsyncClient, meeting_id: int, item_id: int, lead: str, cooperating: tuple[str, ...] = (),
                **fields: str) -> tuple[int, dict[str, int]]:
    """Adopts a resolution through the meeting page: (resolution id, task ids by unit name)."""
    data: dict[str, Any] = {"item": str(item_id), "text": unique("议定事项"), "lead_unit": str(await unit_id(lead)),
                            "deadline_mode": "date", "deadline": (today() + dt.timedelta(days=30)).isoformat(), **fields}
    data["cooperating"] = [str(await unit_id(u)) for u in cooperating]
    response = await post_form(client, f"/meetings/{meeting_id}/resolutions", data)
    assert response.status_code == 303, summary(response) or response.text
    assert response.headers["location"] == f"/meetings/{meeting_id}#resolutions"
    row = await Resolution.select(Resolution.id).where(Resolution.meeting == meeting_id).order_by(
        Resolution.id, ascending=False).first()
    assert row is not None
    return int(row["id"]), await tasks_of(int(row["id"]))


async def new_task(lead: str = MARKET, cooperating: tuple[str, ...] = (), deadline: dt.date | None = None,
                   text: str | None = None, meeting: tuple[int, int] | None = None) -> dict[str, int]:
    """Tasks of a new resolution adopted through the service (faster where the form is not the point)."""
    meeting_id, item_id = meeting or await held_meeting()
    resolution_id = await task_resolutions.adopt_resolution(await actor("office"), meeting_id, {
        "item": str(item_id), "text": text or unique("议定事项"), "lead_unit": str(await unit_id(lead)), "deadline_mode": "date",
        "deadline": (deadline or today() + dt.timedelta(days=30)).isoformat()}, [str(await unit_id(u)) for u in cooperating])
    return await tasks_of(resolution_id)


async def act(client: httpx.AsyncClient, task_id: int, action: str, data: dict[str, Any] | None = None,
              **kwargs: Any) -> httpx.Response:
    return await post_form(client, f"/tasks/{task_id}/{action}", data or {}, **kwargs)


def assert_done(response: httpx.Response, task_id: int) -> None:
    assert response.status_code == 303, summary(response) or response.text[:2000]
    assert response.headers["location"] == f"/tasks/{task_id}"


def assert_conflict(response: httpx.Response, message: str) -> None:
    assert response.status_code == 409, response.text[:2000]
    assert summary(response) == message


def assert_role_refused(response: httpx.Response) -> None:
    assert response.status_code == 403
    assert html(response).find("h1").get_text(strip=True) == ROLE_REFUSED


def assert_nothing_leaks(response: httpx.Response, *secrets: str) -> None:
    assert response.status_code == 404, response.status_code
    text = response.text
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked in a 404 page"


async def listed_ids(client: httpx.AsyncClient, q: str) -> list[int]:
    """The tasks the list page shows for a search."""
    response = await client.get("/tasks", params={"q": q})
    assert response.status_code == 200
    return [int(tr["data-task"]) for tr in html(response).select("table.tasks tbody tr[data-task]")]


def forms_on(response: httpx.Response) -> set[str]:
    return {f["id"] for f in html(response).select(".task-actions form[id]")}


# ---------------------------------------------------------------- adopting resolutions


async def test_adopt_resolution_with_a_date_deadline(as_user):
    office = await as_user("office")
    meeting_id, item_id = await held_meeting()
    deadline = today() + dt.timedelta(days=45)
    text = unique("由综合行政执法局牵头开展占道经营专项整治")
    # The lead named again among the cooperating units is ignored: one task per unit.
    resolution_id, by_unit = await adopt(office, meeting_id, item_id, ENFORCEMENT, (MARKET, POLICE, ENFORCEMENT),
                                         text=text, deadline=deadline.isoformat())
    resolution = await Resolution.select().where(Resolution.id == resolution_id).first()
    assert resolution is not None
    assert (resolution["number"], resolution["text"], resolution["deadline"], resolution["deadline_workdays"]) == (
        1, text, deadline, None)
    assert set(by_unit) == {ENFORCEMENT, MARKET, POLICE}
    rows = await Task.select().where(Task.resolution == resolution_id)
    assert {(r["unit"], r["role"]) for r in rows} == {
        (await unit_id(ENFORCEMENT), "lead"), (await unit_id(MARKET), "cooperate"), (await unit_id(POLICE), "cooperate")}
    street_id = (await Street.select(Street.id).where(Street.name == "兰山街道").first())["id"]
    conference = (await Meeting.select(Meeting.conference).where(Meeting.id == meeting_id).first())["conference"]
    for row in rows:
        assert (row["status"], row["deadline"], row["street"], row["conference"]) == ("assigned", deadline, street_id, conference)
        assert row["ack_due"] == tasks.workdays_after(today(), 2)
        assert await audit_actions("task", row["id"]) == ["assign"]
        assert await report_kinds(row["id"]) == ["assigned"]
        queued = await Notification.select().where((Notification.entity == "task") & (Notification.entity_id == row["id"]))
        assert [(n["event"], n["unit"]) for n in queued] == [("task_assigned", row["unit"])]
        assert f"/tasks/{row['id']}" in queued[0]["body"] and cn_date(deadline) in queued[0]["body"]
    assert await audit_actions("resolution", resolution_id) == ["create"]
    assert {r["role"] for r in await ResolutionUnit.select().where(ResolutionUnit.resolution == resolution_id)} == {"lead", "cooperate"}

    # The meeting page lists it numbered 一、with its units, deadline and task links.
    page = html(await office.get(f"/meetings/{meeting_id}"))
    entry = page.select_one(f"#resolution-{resolution_id}")
    assert entry.select_one(".numeral").get_text() == "一、"
    assert entry.select_one(".resolution-text").get_text() == text
    assert entry.select_one(".resolution-lead").get_text() == ENFORCEMENT
    assert set(entry.select_one(".resolution-cooperating").get_text().split("、")) == {MARKET, POLICE}
    assert entry.select_one(".resolution-deadline").get_text() == f"{deadline.year}年{deadline.month}月{deadline.day}日"
    assert {a["href"] for a in entry.select(".resolution-tasks a")} == {f"/tasks/{t}" for t in by_unit.values()}

    # A second resolution for the same item is numbered 二、.
    second, _tasks = await adopt(office, meeting_id, item_id, MARKET)
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert [n.get_text() for n in page.select("#resolutions .numeral")] == ["一、", "二、"]
    assert page.select_one(f"#resolution-{second} .resolution-cooperating").get_text() == "无"


async def test_adopt_resolution_with_a_working_day_deadline(as_user):
    office = await as_user("office")
    meeting_id, item_id = await held_meeting()
    day = await meeting_day(meeting_id)
    try:
        expected = add_workdays(day, 5)
    except CalendarUnknown:
        pytest.skip("the holiday calendar does not reach 5 working days after yesterday")
    resolution_id, by_unit = await adopt(office, meeting_id, item_id, MARKET, (POLICE,), deadline_mode="workdays",
                                         deadline_workdays="5", deadline="")
    resolution = await Resolution.select().where(Resolution.id == resolution_id).first()
    assert resolution is not None and (resolution["deadline"], resolution["deadline_workdays"]) == (expected, 5)
    assert {(await task_row(t))["deadline"] for t in by_unit.values()} == {expected}
    entry = html(await office.get(f"/meetings/{meeting_id}")).select_one(f"#resolution-{resolution_id}")
    assert "（会后 5 个工作日）" in entry.get_text()
    assert entry.select_one(".resolution-deadline").get_text() == cn_date(expected)


async def test_adoption_errors_show_beside_the_fields_with_the_input_kept(as_user):
    office = await as_user("office")
    meeting_id, item_id = await held_meeting()
    market, police = str(await unit_id(MARKET)), str(await unit_id(POLICE))
    day = await meeting_day(meeting_id)
    response = await post_form(office, f"/meetings/{meeting_id}/resolutions", {
        "item": str(item_id), "text": "", "lead_unit": market, "cooperating": [police], "deadline_mode": "date",
        "deadline": (day - dt.timedelta(days=1)).isoformat()})
    assert response.status_code == 400
    assert field_error(response, "text") == "请填写议定事项内容。"
    assert field_error(response, "deadline") == "办结期限不能早于会议日期。"
    page = html(response)
    assert page.select_one("#f-text")["aria-describedby"] == "e-text"
    assert page.select_one("#f-item option[selected]")["value"] == str(item_id)
    assert page.select_one("#f-lead_unit option[selected]")["value"] == market
    assert [o["value"] for o in page.select("#f-cooperating input[checked]")] == [police]
    assert page.select_one("#f-deadline")["value"] == (day - dt.timedelta(days=1)).isoformat()
    assert {a["href"] for a in page.select("#error-summary a")} == {"#f-text", "#f-deadline"}
    assert "open" in page.select_one("details.adopt").attrs

    # No mode chosen, no lead unit; the typed text is kept.
    response = await post_form(office, f"/meetings/{meeting_id}/resolutions", {"item": str(item_id), "text": "保留的文字"})
    assert response.status_code == 400
    assert field_error(response, "lead_unit") == "请选择牵头单位。"
    assert field_error(response, "deadline_mode") == "请选择期限方式。"
    assert html(response).select_one("#f-text").get_text() == "保留的文字"

    # Working days: not a number (a superscript digit passes str.isdigit() but not int()).
    for raw in ("十", "²", "0", "366"):
        response = await post_form(office, f"/meetings/{meeting_id}/resolutions", {
            "item": str(item_id), "text": "内容", "lead_unit": market, "deadline_mode": "workdays", "deadline_workdays": raw,
            "cooperating": ["²"] if raw == "²" else []})
        assert response.status_code == 400, raw
        assert field_error(response, "deadline_workdays") == "工作日数应为 1 到 365 之间的整数。"
        assert html(response).select_one("#f-deadline_workdays")["value"] == raw
        assert html(response).select_one("input[name=deadline_mode][checked]")["value"] == "workdays"
        assert field_error(response, "cooperating") == ("请从列表中选择配合单位。" if raw == "²" else None)

    # An item that was not on this meeting.
    _other_meeting, other_item = await held_meeting()
    response = await post_form(office, f"/meetings/{meeting_id}/resolutions", {
        "item": str(other_item), "text": "内容", "lead_unit": market, "deadline_mode": "date",
        "deadline": (today() + dt.timedelta(days=9)).isoformat()})
    assert response.status_code == 400 and field_error(response, "item") == "该议题不在本次会议的议程上。"
    assert await Resolution.count().where(Resolution.meeting == meeting_id) == 0


async def test_adoption_needs_a_held_meeting_of_the_office(as_user):
    meeting_id, item_id = await held_meeting()
    form = {"item": str(item_id), "text": "内容", "lead_unit": str(await unit_id(MARKET)), "deadline_mode": "date",
            "deadline": (today() + dt.timedelta(days=9)).isoformat()}
    for username in ("unit", "street", "convenor"):
        assert_role_refused(await post_form(await as_user(username), f"/meetings/{meeting_id}/resolutions", form))
    response = await post_form(await as_user("office_luozhuang"), f"/meetings/{meeting_id}/resolutions", form)
    assert response.status_code == 404
    # A meeting not yet held: 409 with the reason, and no form on its page.
    office = await as_user("office")
    not_held = await make_past_meeting()
    response = await post_form(office, f"/meetings/{not_held}/resolutions", {**form, "item": str(item_id)})
    assert_conflict(response, "会议召开后、纪要印发前才能记录议定事项。")
    assert html(await office.get(f"/meetings/{not_held}")).select_one("#resolution-form") is None
    # Only the office sees the form; others see the list only.
    assert html(await office.get(f"/meetings/{meeting_id}")).select_one("#resolution-form") is not None
    assert html(await (await as_user("convenor")).get(f"/meetings/{meeting_id}")).select_one("#resolution-form") is None
    assert await Resolution.count().where(Resolution.meeting.is_in([meeting_id, not_held])) == 0


# ---------------------------------------------------------------- the lifecycle


async def test_every_transition_allowed_and_refused_with_its_audit_event(as_user):
    office, unit, police = await as_user("office"), await as_user("unit"), await as_user("unit_police")
    street, street_lz = await as_user("street"), await as_user("street_luozhuang")
    meeting_id, item_id = await held_meeting()
    _resolution, by_unit = await adopt(office, meeting_id, item_id, MARKET)
    task_id = by_unit[MARKET]
    page = await unit.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and forms_on(page) == {"acknowledge-form", "extension-form"}
    assert forms_on(await office.get(f"/tasks/{task_id}")) == {"cancel-form", "urge-form"}  # 催办: tasks.urging
    assert forms_on(await street.get(f"/tasks/{task_id}")) == set()

    # assigned: nothing but acknowledging (or asking for more time) is possible.
    assert_conflict(await act(unit, task_id, "progress", {"text": "进展"}), "任务当前状态为“待签收”，不能报送进展。")
    assert_conflict(await act(unit, task_id, "done", {"evidence": "办结"}), "任务当前状态为“待签收”，不能报办结。")
    assert_conflict(await act(office, task_id, "close"), "任务当前状态为“待签收”，不能销号。")
    assert_conflict(await act(office, task_id, "return", {"reason": "理由"}), "任务当前状态为“待签收”，不能退回重办。")
    assert_conflict(await act(street, task_id, "rate", {"rating": "satisfied"}), "任务当前状态为“待签收”，不能评价。")
    assert_conflict(await act(office, task_id, "reopen", {"reason": "理由", "deadline": "2099-01-01"}), "只有街道评价为“不满意”的已销号任务才能重新办理。")
    for client, action in ((office, "acknowledge"), (street, "acknowledge"), (office, "progress"), (unit, "close"),
                           (street, "close"), (unit, "rate"), (office, "rate"), (unit, "cancel"), (street, "reopen"),
                           (unit, "extension/approve"), (street, "extension/decline")):
        assert_role_refused(await act(client, task_id, action, {"reason": "x", "text": "x", "rating": "satisfied"}))
    assert await audit_actions("task", task_id) == ["assign"]

    assert_done(await act(unit, task_id, "acknowledge"), task_id)
    row = await task_row(task_id)
    assert row["status"] == "acknowledged" and row["acknowledged_at"] is not None
    assert_conflict(await act(unit, task_id, "acknowledge"), "任务当前状态为“已签收”，不能签收。")

    response = await act(unit, task_id, "progress", {"text": ""})
    assert response.status_code == 400 and field_error(response, "text") == "请填写进展情况。"
    assert_done(await act(unit, task_id, "progress", {"text": "已约谈沿街商户12家。"}), task_id)
    assert (await task_row(task_id))["status"] == "in_progress"
    assert_done(await act(unit, task_id, "progress", {"text": "已完成第二轮检查。"}), task_id)
    assert_done(await act(unit, task_id, "done", {"evidence": "整治完成，商户全部签订承诺书。"}), task_id)
    row = await task_row(task_id)
    assert (row["status"], row["evidence"]) == ("reported_done", "整治完成，商户全部签订承诺书。")
    assert_conflict(await act(unit, task_id, "progress", {"text": "再报"}), "任务当前状态为“已报办结”，不能报送进展。")
    assert_conflict(await act(unit, task_id, "extension", {"extension_deadline": "2099-01-01", "extension_reason": "x"}),
                    "任务当前状态为“已报办结”，不能申请延期。")
    assert forms_on(await office.get(f"/tasks/{task_id}")) == {"close-form", "return-form", "cancel-form"}

    # Returned for rework, reported again, closed.
    response = await act(office, task_id, "return", {"reason": ""})
    assert response.status_code == 400 and field_error(response, "reason") == "请填写退回理由。"
    assert html(response).select_one("#f-return-reason")["aria-describedby"] == "e-reason"
    assert_done(await act(office, task_id, "return", {"reason": "请补充整治前后对比照片。"}), task_id)
    assert (await task_row(task_id))["status"] == "returned"
    assert await Notification.exists().where((Notification.event == "task_returned") & (Notification.entity_id == task_id)
                                             & (Notification.unit == await unit_id(MARKET)))
    assert_done(await act(unit, task_id, "done", {"evidence": "已补充照片。"}), task_id)
    assert_done(await act(office, task_id, "close", {"comment": "核实无误。"}), task_id)
    row = await task_row(task_id)
    assert row["status"] == "closed" and row["closed_at"] is not None
    assert await Notification.exists().where((Notification.event == "task_closed") & (Notification.entity_id == task_id)
                                             & (Notification.street == row["street"]))
    assert_conflict(await act(office, task_id, "close"), "任务当前状态为“已销号”，不能销号。")
    assert_conflict(await act(office, task_id, "cancel", {"reason": "x"}), "任务当前状态为“已销号”，不能撤销。")
    assert_conflict(await act(office, task_id, "reopen", {"reason": "x", "deadline": "2099-01-01"}), "只有街道评价为“不满意”的已销号任务才能重新办理。")
    assert forms_on(await street.get(f"/tasks/{task_id}")) == {"rate-form"}

    # Rated dissatisfied (a comment is required), then reopened by the office.
    assert_nothing_leaks(await act(street_lz, task_id, "rate", {"rating": "satisfied"}), "整治完成")
    assert_nothing_leaks(await act(police, task_id, "acknowledge"), "整治完成")
    response = await act(street, task_id, "rate", {"rating": "dissatisfied", "rating_comment": ""})
    assert response.status_code == 400 and field_error(response, "rating_comment") == "请填写评价意见。"
    assert html(response).select_one("#rate-form input[name=rating][checked]")["value"] == "dissatisfied"
    response = await act(street, task_id, "rate", {"rating": "", "rating_comment": "保留"})
    assert field_error(response, "rating") == "请选择评价。"
    assert html(response).select_one("#f-rate-rating_comment").get_text() == "保留"
    assert_done(await act(street, task_id, "rate", {"rating": "dissatisfied", "rating_comment": "夜间仍有占道。"}), task_id)
    row = await task_row(task_id)
    assert (row["rating"], row["rating_comment"]) == ("dissatisfied", "夜间仍有占道。")
    assert_conflict(await act(street, task_id, "rate", {"rating": "satisfied"}), "该任务已经评价过了。")
    assert forms_on(await office.get(f"/tasks/{task_id}")) == {"reopen-form"}
    response = await act(office, task_id, "reopen", {"reason": "", "deadline": ""})
    assert response.status_code == 400 and field_error(response, "reason") == "请填写重新办理的要求。"
    assert field_error(response, "deadline") == "请填写新的办结期限。"  # reopening sets a new deadline
    response = await act(office, task_id, "reopen", {"reason": "请安排夜间巡查。", "deadline": "2020-01-01"})
    assert field_error(response, "deadline") == "新的办结期限不能早于今天。"
    assert html(response).select_one("#f-reopen-reason").get_text() == "请安排夜间巡查。"
    new_deadline = today() + dt.timedelta(days=20)
    assert_done(await act(office, task_id, "reopen", {"reason": "请安排夜间巡查。", "deadline": new_deadline.isoformat()}), task_id)
    row = await task_row(task_id)
    assert (row["status"], row["reopened"], row["rating"], row["closed_at"]) == ("in_progress", 1, "", None)
    assert row["deadline"] == new_deadline
    assert await Notification.exists().where((Notification.event == "task_reopened") & (Notification.entity_id == task_id))

    # Cancelled by the office (with a reason, behind a confirm()); then nothing more happens.
    page = html(await office.get(f"/tasks/{task_id}"))
    assert page.select_one("#cancel-form")["data-confirm"]  # asked by static/app.js
    response = await act(office, task_id, "cancel", {"reason": ""})
    assert response.status_code == 400 and field_error(response, "reason") == "请填写撤销理由。"
    assert "open" in html(response).select_one("details.danger-zone").attrs
    assert_done(await act(office, task_id, "cancel", {"reason": "职责调整。"}), task_id)
    assert (await task_row(task_id))["status"] == "cancelled"
    assert_conflict(await act(unit, task_id, "progress", {"text": "x"}), "任务当前状态为“已撤销”，不能报送进展。")
    assert_conflict(await act(office, task_id, "cancel", {"reason": "x"}), "任务当前状态为“已撤销”，不能撤销。")
    assert forms_on(await unit.get(f"/tasks/{task_id}")) == set()

    assert await audit_actions("task", task_id) == [
        "assign", "acknowledged", "progress", "progress", "done", "returned", "done", "closed", "rated", "reopened", "cancelled"]
    assert await report_kinds(task_id) == [
        "assigned", "acknowledged", "progress", "progress", "done", "returned", "done", "closed", "rated", "reopened", "cancelled"]
    record = html(await unit.get(f"/tasks/{task_id}"))
    kinds = [td.get_text() for td in record.select("#task-record td.kind")]
    assert kinds[:3] == ["交办", "签收", "进展"] and kinds[-1] == "撤销"


@pytest.mark.parametrize(("rating", "label"), [("satisfied", "满意"), ("basically_satisfied", "基本满意")])
async def test_street_rates_a_closed_task(as_user, rating, label):
    office, unit, street = await as_user("office"), await as_user("unit"), await as_user("street")
    task_id = (await new_task())[MARKET]
    for client, action, data in ((unit, "acknowledge", {}), (unit, "done", {"evidence": "已办结。"}), (office, "close", {})):
        assert_done(await act(client, task_id, action, data), task_id)
    assert_done(await act(street, task_id, "rate", {"rating": rating}), task_id)  # no comment needed
    assert (await task_row(task_id))["rating"] == rating
    assert html(await office.get(f"/tasks/{task_id}")).select_one("#task-rating").get_text(strip=True) == label
    assert_conflict(await act(office, task_id, "reopen", {"reason": "x", "deadline": "2099-01-01"}), "只有街道评价为“不满意”的已销号任务才能重新办理。")
    assert (await audit_actions("task", task_id))[-1] == "rated"


async def test_extension_requests_are_approved_or_declined(as_user):
    office, unit, police = await as_user("office"), await as_user("unit"), await as_user("unit_police")
    deadline = today() + dt.timedelta(days=20)
    task_id = (await new_task(deadline=deadline))[MARKET]
    assert_done(await act(unit, task_id, "acknowledge"), task_id)

    # Bad input: the messages beside the fields, the input kept.
    response = await act(unit, task_id, "extension", {"extension_deadline": "", "extension_reason": "需要联合执法。"})
    assert response.status_code == 400
    assert field_error(response, "extension_deadline") == "请填写申请延期至。"
    assert html(response).select_one("#f-extension-extension_reason").get_text() == "需要联合执法。"
    assert [a["href"] for a in html(response).select("#error-summary a")] == ["#f-extension-extension_deadline"]
    response = await act(unit, task_id, "extension", {"extension_deadline": deadline.isoformat(), "extension_reason": "x"})
    assert response.status_code == 400
    assert field_error(response, "extension_deadline") == f"延期后的期限应晚于现期限（{cn_date(deadline)}）。"
    assert html(response).select_one("#f-extension-extension_deadline")["value"] == deadline.isoformat()
    assert_nothing_leaks(await act(police, task_id, "extension", {
        "extension_deadline": (deadline + dt.timedelta(days=5)).isoformat(), "extension_reason": "x"}))

    first = deadline + dt.timedelta(days=10)
    assert_done(await act(unit, task_id, "extension", {"extension_deadline": first.isoformat(), "extension_reason": "商户较多。"}),
                task_id)
    row = await task_row(task_id)
    assert (row["extension_status"], row["extension_deadline"], row["deadline"]) == ("requested", first, deadline)
    assert_conflict(await act(unit, task_id, "extension", {"extension_deadline": first.isoformat(), "extension_reason": "x"}),
                    "已有延期申请在审批中。")
    page = await office.get(f"/tasks/{task_id}")
    assert "decision-form" in forms_on(page)
    assert html(page).select_one("#decline-extension")["formaction"] == f"/tasks/{task_id}/extension/decline"
    assert "延期申请中" in html(page).select_one("#task-extension").get_text()

    # Declining needs a comment; the deadline stays.
    response = await act(office, task_id, "extension/decline", {"comment": ""})
    assert response.status_code == 400 and field_error(response, "comment") == "请填写审批意见。"
    assert [a["href"] for a in html(response).select("#error-summary a")] == ["#f-decision-comment"]
    assert_done(await act(office, task_id, "extension/decline", {"comment": "请按期完成。"}), task_id)
    row = await task_row(task_id)
    assert (row["extension_status"], row["deadline"]) == ("declined", deadline)
    assert_conflict(await act(office, task_id, "extension/approve"), "该任务没有待审批的延期申请。")
    assert await Notification.exists().where((Notification.event == "task_extension_declined") & (Notification.entity_id == task_id))

    # Asked again and approved (no comment needed): the new deadline applies.
    second = deadline + dt.timedelta(days=7)
    assert_done(await act(unit, task_id, "extension", {"extension_deadline": second.isoformat(), "extension_reason": "再申请。"}),
                task_id)
    assert_done(await act(office, task_id, "extension/approve", {}), task_id)
    row = await task_row(task_id)
    assert (row["extension_status"], row["deadline"]) == ("approved", second)
    assert f"（原期限 {cn_date(deadline)}）" in html(await unit.get(f"/tasks/{task_id}")).select_one("#task-extension").get_text()
    assert await audit_actions("task", task_id) == [
        "assign", "acknowledged", "extension_requested", "extension_declined", "extension_requested", "extension_approved"]

    # A request left pending on a task that is then cancelled can no longer move its deadline.
    assert_done(await act(unit, task_id, "extension", {"extension_deadline": (second + dt.timedelta(days=3)).isoformat(),
                                                       "extension_reason": "三申请。"}), task_id)
    assert_done(await act(office, task_id, "cancel", {"reason": "改由他单位办理。"}), task_id)
    assert "decision-form" not in forms_on(await office.get(f"/tasks/{task_id}"))
    assert_conflict(await act(office, task_id, "extension/approve"), "任务当前状态为“已撤销”，不能审批延期申请。")
    assert (await task_row(task_id))["deadline"] == second


# ---------------------------------------------------------------- scope


async def test_units_and_streets_reach_only_their_own_tasks(as_user):
    office, unit, police = await as_user("office"), await as_user("unit"), await as_user("unit_police")
    text = unique("派出所专属议定事项")
    by_unit = await new_task(POLICE, (PLANNING,), text=text)
    task_id = by_unit[POLICE]
    assert (await police.get(f"/tasks/{task_id}")).status_code == 200
    # Another unit: 404 on the page and on every action, with nothing of the task in the body.
    assert_nothing_leaks(await unit.get(f"/tasks/{task_id}"), text, POLICE)
    for action, data in (("acknowledge", {}), ("progress", {"text": "x"}), ("done", {"evidence": "x"}),
                         ("extension", {"extension_deadline": "2099-01-01", "extension_reason": "x"})):
        assert_nothing_leaks(await act(unit, task_id, action, data), text, POLICE)
    assert (await task_row(task_id))["status"] == "assigned"
    assert await listed_ids(unit, text) == []
    assert await listed_ids(police, text) == [task_id]
    # The unit's own list is all its own.
    rows = html(await unit.get("/tasks", params={"per_page": "200"})).select("table.tasks tbody tr[data-task]")
    own = {r["id"] for r in await Task.select(Task.id).where(Task.unit == await unit_id(MARKET))}
    assert rows and {int(r["data-task"]) for r in rows} <= own
    assert all(td.get_text(strip=True).startswith(MARKET) for td in html(await unit.get("/tasks")).select("td.unit"))
    assert html(await unit.get("/tasks")).find("h1").get_text(strip=True) == "我的任务"

    # Streets: the tasks of their own items only.
    street, street_lz = await as_user("street"), await as_user("street_luozhuang")
    assert (await street.get(f"/tasks/{task_id}")).status_code == 200
    assert_nothing_leaks(await street_lz.get(f"/tasks/{task_id}"), text, POLICE)
    assert await listed_ids(street_lz, text) == []
    assert set(await listed_ids(street, text)) == set(by_unit.values())
    # Offices: their conferences; the convenor of 兰山街道 reads it.
    assert (await office.get(f"/tasks/{task_id}")).status_code == 200
    assert (await (await as_user("convenor")).get(f"/tasks/{task_id}")).status_code == 200
    office_lz = await as_user("office_luozhuang")
    assert_nothing_leaks(await office_lz.get(f"/tasks/{task_id}"), text)
    assert_nothing_leaks(await act(office_lz, task_id, "cancel", {"reason": "x"}), text)
    assert await listed_ids(office_lz, text) == []
    assert (await office.get("/tasks/2147483647")).status_code == 404


async def test_luozhuang_tasks_stay_in_luozhuang(as_user):
    street_lz, office_lz, street = await as_user("street_luozhuang"), await as_user("office_luozhuang"), await as_user("street")
    meeting_id, item_id = await held_meeting("office_luozhuang", LUOZHUANG_STREET, "street_luozhuang")
    text = unique("罗庄议定事项")
    _r, by_unit = await adopt(office_lz, meeting_id, item_id, "罗庄区综合行政执法局", text=text)
    task_id = by_unit["罗庄区综合行政执法局"]
    assert (await street_lz.get(f"/tasks/{task_id}")).status_code == 200
    assert await listed_ids(street_lz, text) == [task_id]
    assert_nothing_leaks(await street.get(f"/tasks/{task_id}"), text)
    assert_nothing_leaks(await (await as_user("office")).get(f"/tasks/{task_id}"), text)


# ---------------------------------------------------------------- attachments


async def _upload(client: httpx.AsyncClient, task_id: int, action: str, data: dict[str, str],
                  files: list[tuple[str, bytes, str]]) -> httpx.Response:
    return await act(client, task_id, action, data, files=[("files", f) for f in files])


async def test_evidence_attachments_are_checked_and_downloaded_safely(as_user):
    office, unit, police = await as_user("office"), await as_user("unit"), await as_user("unit_police")
    street, street_lz = await as_user("street"), await as_user("street_luozhuang")
    task_id = (await new_task())[MARKET]
    assert_done(await act(unit, task_id, "acknowledge"), task_id)
    response = await _upload(unit, task_id, "progress", {"text": "现场检查记录见附件。"},
                             [("检查记录.pdf", PDF, "application/pdf"), ("现场照片.png", PNG, "image/png")])
    assert_done(response, task_id)
    rows = await TaskAttachment.select(TaskAttachment.id, TaskAttachment.filename, TaskAttachment.content_type,
                                       TaskAttachment.size, TaskAttachment.report).where(TaskAttachment.task == task_id).order_by(TaskAttachment.id)
    assert [(r["filename"], r["content_type"], r["size"]) for r in rows] == [
        ("检查记录.pdf", "application/pdf", len(PDF)), ("现场照片.png", "image/png", len(PNG))]
    report = await TaskReport.select().where(TaskReport.id == rows[0]["report"]).first()
    assert report is not None and (report["kind"], report["text"]) == ("progress", "现场检查记录见附件。")
    links = html(await unit.get(f"/tasks/{task_id}")).select("#task-record a[download]")
    assert [a["href"] for a in links] == [f"/task-attachments/{r['id']}" for r in rows]

    pdf_id = rows[0]["id"]
    for client in (unit, office, street):
        download = await client.get(f"/task-attachments/{pdf_id}")
        assert download.status_code == 200
        assert download.content == PDF
        assert download.headers["content-type"].startswith("application/pdf")
        assert download.headers["x-content-type-options"] == "nosniff"
        disposition = download.headers["content-disposition"]
        assert disposition.startswith("attachment;") and f"filename*=UTF-8''{urllib.parse.quote('检查记录.pdf')}" in disposition
    for client in (police, street_lz, await as_user("office_luozhuang")):
        denied = await client.get(f"/task-attachments/{pdf_id}")
        assert denied.status_code == 404 and PDF not in denied.content and "检查记录" not in denied.text
    assert (await unit.get("/task-attachments/2147483647")).status_code == 404

    # Refused files: the message beside the file field, the text kept, nothing stored.
    for name, content, mime, message in (
            ("说明.txt", b"plain text", "text/plain", "只能上传 PDF、Word、Excel 或 JPG/PNG 图片。"),
            ("伪装.pdf", b"MZ\x90\x00 not a pdf", "application/pdf", "文件内容与扩展名不符。"),
            ("空.pdf", b"", "application/pdf", "文件是空的。"),
            ("过大.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "application/pdf", "文件过大（上限 10 MB）")):
        response = await _upload(unit, task_id, "done", {"evidence": "办结说明保留。"}, [(name, content, mime)])
        assert response.status_code == 400, name
        assert field_error(response, "file") == message, name
        page = html(response)
        assert page.select_one("#f-done-evidence").get_text() == "办结说明保留。"
        assert page.select_one("#f-done-files")["aria-describedby"] == "e-file"
        assert [a["href"] for a in page.select("#error-summary a")] == ["#f-done-files"]
    response = await _upload(unit, task_id, "progress", {"text": "太多"}, [(f"{i}.png", PNG, "image/png") for i in range(11)])
    assert response.status_code == 400 and field_error(response, "file") == "每次最多上传 10 个附件。"
    assert await TaskAttachment.count().where(TaskAttachment.task == task_id) == 2
    assert (await task_row(task_id))["status"] == "in_progress"

    # Evidence with the completion report.
    assert_done(await _upload(unit, task_id, "done", {"evidence": "办结。"}, [("办结报告.pdf", PDF, "application/pdf")]), task_id)
    assert await TaskAttachment.count().where(TaskAttachment.task == task_id) == 3


# ---------------------------------------------------------------- the list


async def test_list_filters_alerts_sort_and_pages(as_user):
    office, unit = await as_user("office"), await as_user("unit")
    day = today()
    prefix = unique("清单")
    meeting = await held_meeting()
    made: dict[str, int] = {}
    for key, deadline in (("red", day + dt.timedelta(days=40)), ("yellow", day + dt.timedelta(days=40)),
                          ("unack", day + dt.timedelta(days=60)), ("calm", day + dt.timedelta(days=50)),
                          ("closed", day + dt.timedelta(days=45))):
        made[key] = (await new_task(deadline=deadline, text=f"{prefix}{key}", meeting=meeting))[MARKET]
    for key in ("red", "yellow", "calm", "closed"):
        assert_done(await act(unit, made[key], "acknowledge"), made[key])
    for client, action, data in ((unit, "done", {"evidence": "x"}), (office, "close", {})):
        assert_done(await act(client, made["closed"], action, data), made["closed"])
    # Past dates cannot be made through the services: set them directly.
    await Task.update({Task.deadline: day - dt.timedelta(days=1)}).where(Task.id == made["red"])
    await Task.update({Task.deadline: tasks.workdays_after(day, 2)}).where(Task.id == made["yellow"])
    await Task.update({Task.ack_due: day - dt.timedelta(days=1)}).where(Task.id == made["unack"])

    async def listed(client: httpx.AsyncClient, **params: str) -> list[int]:
        response = await client.get("/tasks", params={"q": prefix, **params})
        assert response.status_code == 200
        return [int(tr["data-task"]) for tr in html(response).select("table.tasks tbody tr[data-task]")]

    page = html(await office.get("/tasks", params={"q": prefix}))
    badges = {int(tr["data-task"]): (tr.select_one("[data-alert]") or {}).get("data-alert") for tr in page.select("tr[data-task]")}
    assert badges == {made["red"]: "red", made["yellow"]: "yellow", made["unack"]: "unack", made["calm"]: None,
                      made["closed"]: None}
    labels = {tr.select_one("[data-alert]").get_text() for tr in page.select("tr[data-task]") if tr.select_one("[data-alert]")}
    assert labels == {"已逾期", "即将到期", "超时未签收"}
    assert page.select_one(".count").get_text() == "共 5 条"

    assert await listed(office, alert="red") == [made["red"]]
    assert await listed(office, alert="yellow") == [made["yellow"]]
    assert await listed(office, alert="unack") == [made["unack"]]
    assert await listed(office, status="closed") == [made["closed"]]
    assert await listed(office, status="assigned") == [made["unack"]]
    assert set(await listed(office, status="open")) == set(made.values()) - {made["closed"]}
    # Sorted by deadline (the default), either way; by status in lifecycle order.
    by_deadline = [made[k] for k in ("red", "yellow", "closed", "calm", "unack")]
    assert await listed(office) == by_deadline
    assert await listed(office, sort="deadline", desc="1") == by_deadline[::-1]
    assert (await listed(office, sort="status"))[0] == made["unack"] and (await listed(office, sort="status"))[-1] == made["closed"]
    assert len(await listed(office, sort="assigned_at")) == 5
    # Deadline range, unit, conference.
    assert await listed(office, deadline_from=(day + dt.timedelta(days=45)).isoformat(),
                        deadline_to=(day + dt.timedelta(days=50)).isoformat()) == [made["closed"], made["calm"]]
    assert await listed(office, unit=str(await unit_id(POLICE))) == []
    assert len(await listed(office, unit=str(await unit_id(MARKET)))) == 5
    lanshan = (await Conference.select(Conference.id).where(Conference.name == LANSHAN_STREET).first())["id"]
    luozhuang = (await Conference.select(Conference.id).where(Conference.name == LUOZHUANG_STREET).first())["id"]
    assert len(await listed(office, conference=str(lanshan))) == 5
    assert await listed(office, conference=str(luozhuang)) == []
    # Pages of two, the filters kept in the pager's links.
    response = await office.get("/tasks", params={"q": prefix, "per_page": "2", "alert": "", "page": "2"})
    page = html(response)
    assert [int(tr["data-task"]) for tr in page.select("tr[data-task]")] == by_deadline[2:4]
    assert page.select_one(".pager").get_text(" ", strip=True).count("第 2 / 3 页") == 1
    assert "per_page=2" in page.select_one("a[rel=next]")["href"] and "q=" in page.select_one("a[rel=next]")["href"]
    # Bad parameters are ignored, never an error.
    assert len(await listed(office, status="nonsense", alert="x", unit="abc", deadline_from="2026-13-45", sort="x",
                            page="99999999")) == 5
    # The unit sees the same tasks (all its own) with the same alerts.
    assert await listed(unit) == by_deadline
    assert await listed(unit, alert="red") == [made["red"]]
    # The task page shows the alert too.
    assert html(await unit.get(f"/tasks/{made['red']}")).select_one("#task-alert").get_text() == "已逾期"
    assert html(await unit.get(f"/tasks/{made['unack']}")).select_one("#task-alert").get_text() == "超时未签收"


async def test_pages_run_a_constant_number_of_queries(as_user):
    office, unit, street = await as_user("office"), await as_user("unit"), await as_user("street")
    meeting = await held_meeting()
    first = await new_task(MARKET, (POLICE,), meeting=meeting)

    async def queries(client: httpx.AsyncClient, url: str) -> int:
        with count_queries() as seen:
            response = await client.get(url)
            assert response.status_code == 200, url
        return len(seen)

    urls = [(office, "/tasks"), (office, "/tasks?alert=yellow&sort=status"), (unit, "/tasks"), (street, "/tasks?q=议定"),
            (office, f"/meetings/{meeting[0]}"), (office, f"/tasks/{first[MARKET]}"), (street, f"/meetings/{meeting[0]}")]
    before = [await queries(client, url) for client, url in urls]
    # 20 more tasks: on the same meeting, for the same units, with reports.
    for _ in range(10):
        more = await new_task(MARKET, (POLICE,), meeting=meeting)
        assert_done(await act(unit, more[MARKET], "acknowledge"), more[MARKET])
    assert_done(await act(unit, first[MARKET], "acknowledge"), first[MARKET])
    assert_done(await act(unit, first[MARKET], "progress", {"text": "一"}), first[MARKET])
    after = [await queries(client, url) for client, url in urls]
    assert after == before
    count = html(await office.get(f"/meetings/{meeting[0]}")).select("#resolutions .numeral")
    assert len(count) == 11 and re.fullmatch("十一、", count[-1].get_text())


async def test_a_successful_action_does_not_build_the_page_around_its_form(as_user):
    """A POST from the task page or the meeting page checks the record is in scope, acts and
    redirects: the page around the form (five to ten queries) is built only when the form comes
    back with a message."""
    office, unit = await as_user("office"), await as_user("unit")
    meeting = await held_meeting()
    task_id = (await new_task(MARKET, meeting=meeting))[MARKET]

    async def counted(call: Any) -> tuple[httpx.Response, int]:
        with count_queries() as seen:
            response = await call
        return response, len(seen)

    page, page_queries = await counted(unit.get(f"/tasks/{task_id}"))
    assert page.status_code == 200
    response, action_queries = await counted(act(unit, task_id, "acknowledge"))
    assert_done(response, task_id)
    # Session, scope check and the writes: 7 here; building the task page first added its queries.
    assert action_queries <= 8, (action_queries, page_queries)
    # Bad input still shows the whole page, with the message beside the field and the task on it.
    response, error_queries = await counted(act(unit, task_id, "progress", {"text": ""}))
    assert response.status_code == 400 and field_error(response, "text") == "请填写进展情况。"
    assert str(task_id) in html(response).select_one("form[action$='/progress']")["action"]
    assert error_queries >= page_queries  # the page, built for the message

    # The meeting page: adding an invited unit to a draft meeting.
    draft = await make_meeting()
    meeting_page, meeting_queries = await counted(office.get(f"/meetings/{draft}"))
    assert meeting_page.status_code == 200
    justice = await unit_id("罗庄区司法局")  # not a member of the conference: not invited yet
    response, invite_queries = await counted(
        post_form(office, f"/meetings/{draft}/invitations", {"unit": str(justice), "role": "observer"}))
    assert response.status_code == 303 and response.headers["location"] == f"/meetings/{draft}"
    # 9 against the page's 14 (the page was built first, then thrown away).
    assert invite_queries <= 10 and invite_queries < meeting_queries, (invite_queries, meeting_queries)
    # The same unit again: refused, and the meeting page comes back around the message.
    response = await post_form(office, f"/meetings/{draft}/invitations", {"unit": str(justice), "role": "observer"})
    assert response.status_code == 400 and field_error(response, "unit") == "该单位已在受邀名单中。"
    assert html(response).select_one("h1").get_text(strip=True) == html(meeting_page).select_one("h1").get_text(strip=True)
    assert html(response).select_one("#error-summary") is not None
