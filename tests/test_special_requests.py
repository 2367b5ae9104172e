"""Special-meeting requests through HTTP: a street asks, the convenor approves (a draft special
meeting with the conference's active members invited) or declines with a comment; who may see and
decide what; the audit trail and the street's notification."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from conference.accounts.services import create_user
from conference.accounts.tables import User
from conference.audit.tables import AuditEvent
from conference.demo import DEMO_PASSWORD
from conference.meetings.services import active_member_ids
from conference.meetings.tables import Invitation, Meeting, SpecialMeetingRequest
from conference.notifications.tables import Notification
from conference.registry.tables import Conference, MemberUnit, Person, Street
from conference.timefmt import today
from tests.conftest import field_error, field_value, html, post_form

LANSHAN_CONFERENCE = "兰山街道城市基层党建联席会议"
OTHER_CONVENOR = "convenor_luozhuang_t"  # 李红梅, convenor of 罗庄街道's conference (created below)


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def conference_id(name: str = LANSHAN_CONFERENCE) -> int:
    return int((await Conference.select(Conference.id).where(Conference.name == name).first())["id"])


async def street_id(name: str) -> int:
    return int((await Street.select(Street.id).where(Street.name == name).first())["id"])


def proposed(days: int = 30) -> str:
    return (today() + dt.timedelta(days=days)).isoformat()


async def accepted_item(street: str = "street", units: tuple[str, ...] = ("兰山区综合行政执法局",)) -> int:
    """An item the street submitted and the office accepted (not on a meeting): what a request names."""
    from conference.agenda import services as agenda
    from tests.factories import actor

    office = "office_luozhuang" if street == "street_luozhuang" else "office"
    unit_ids = [str((await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == u).first())["id"]) for u in units]
    item_id = await agenda.create_item(await actor(street), {
        "title": f"背街小巷路灯维修 {tag()}", "description": "路灯长期损坏，夜间通行不便。", "category": "services",
        "urgency": "normal"}, unit_ids, submit=True)
    await agenda.accept_item(await actor(office), item_id)
    return item_id


async def file_request(client, reason: str, items: str = "请区执法局主要负责同志参会", item_ids: list[int] | None = None,
                       title: str = "") -> int:
    if item_ids is None:
        item_ids = [await accepted_item()]
    response = await post_form(client, "/special-requests/new", {
        "title": title or f"关于{reason[:20]}的专题会议", "reason": reason, "proposed_items": items,
        "proposed_date": proposed(), "items": [str(i) for i in item_ids]})
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/special-requests/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def stored(request_id: int) -> dict:
    return await SpecialMeetingRequest.select().where(SpecialMeetingRequest.id == request_id).first()


@pytest.fixture
async def other_convenor(app, as_user):
    """A convenor of another conference (罗庄街道's), logged in."""
    if not await User.exists().where(User.username == OTHER_CONVENOR):
        person = (await Person.select(Person.id).where(Person.name == "李红梅").first())["id"]
        await create_user(None, {"username": OTHER_CONVENOR, "display_name": "李红梅", "password": DEMO_PASSWORD,
                                 "role": "convenor", "person": str(person)})
    return await as_user(OTHER_CONVENOR)


async def test_street_files_a_request_and_sees_it(as_user):
    street = await as_user("street")
    page = html(await street.get("/special-requests/new"))
    assert page.find("h1").get_text(strip=True) == "提请召开专题会议"
    reason = f"老旧小区加装电梯协调难 {tag()}"
    request_id = await file_request(street, reason)

    response = await street.get(f"/special-requests/{request_id}")
    assert response.status_code == 200
    page = html(response)
    assert page.select_one(".flash").get_text(strip=True) == "提请已提交，等待召集人审批。"
    assert page.find(id="request-status").get_text(strip=True) == "待审批"
    assert reason in page.get_text()
    assert not page.find("form", id="approve-form") and not page.find("form", id="decline-form")  # a street cannot decide

    row = await stored(request_id)
    assert row["status"] == "requested"
    assert row["street"] == await street_id("兰山街道")
    assert row["conference"] == await conference_id()
    assert await AuditEvent.exists().where((AuditEvent.entity == "special_request") & (AuditEvent.entity_id == request_id)
                                           & (AuditEvent.action == "create"))

    listing = html(await street.get("/special-requests"))
    assert f"/special-requests/{request_id}" in [a["href"] for a in listing.select("table.special-requests tbody a")]


async def test_request_form_errors_are_shown_beside_fields_and_input_is_kept(as_user):
    street = await as_user("street")
    before = await SpecialMeetingRequest.count()
    items = f"拟议事项 {tag()}"
    response = await post_form(street, "/special-requests/new",
                               {"reason": "", "proposed_items": items, "proposed_date": "2000-01-01"})
    assert response.status_code == 400
    assert field_error(response, "reason") == "请填写提请事由。"
    assert field_error(response, "title") == "请填写会议名称。"
    assert field_error(response, "items") == "请选择至少一项提请会议研究的议题。"
    assert field_error(response, "proposed_date") == "建议日期不能早于今天。"
    assert field_value(response, "proposed_items") == items
    assert field_value(response, "proposed_date") == "2000-01-01"
    assert await SpecialMeetingRequest.count() == before


@pytest.mark.parametrize("username", ["unit", "unit_police"])
async def test_units_have_no_special_request_pages(as_user, username):
    client = await as_user(username)
    for url in ("/special-requests", "/special-requests/new"):
        assert (await client.get(url)).status_code == 403
    assert (await post_form(client, "/special-requests/new", {"reason": "x", "proposed_date": proposed()})).status_code == 403


@pytest.mark.parametrize("username", ["office", "convenor"])
async def test_only_streets_file_requests(as_user, username):
    client = await as_user(username)
    assert (await client.get("/special-requests/new")).status_code == 403


async def test_convenor_approves_and_a_draft_special_meeting_is_created(as_user):
    street, convenor = await as_user("street"), await as_user("convenor")
    request_id = await file_request(street, f"主干道积水点整治需多部门会商 {tag()}")
    conference = await conference_id()

    listing = html(await convenor.get("/special-requests?status=requested"))
    assert f"/special-requests/{request_id}" in [a["href"] for a in listing.select("table.special-requests tbody a")]
    page = html(await convenor.get(f"/special-requests/{request_id}"))
    assert page.find("form", id="approve-form")["action"] == f"/special-requests/{request_id}/approve"
    assert page.find("form", id="decline-form")["action"] == f"/special-requests/{request_id}/decline"
    assert len(page.select("form textarea[name=comment]")) == 2

    response = await post_form(convenor, f"/special-requests/{request_id}/approve", {"comment": "同意，请办公室尽快安排。"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/special-requests/{request_id}"

    row = await stored(request_id)
    assert row["status"] == "approved"
    assert row["decision_comment"] == "同意，请办公室尽快安排。"
    assert row["decided_by"] == (await User.select(User.id).where(User.username == "convenor").first())["id"]
    meeting = await Meeting.select().where(Meeting.id == row["meeting"]).first()
    assert meeting["kind"] == "special" and meeting["status"] == "draft" and meeting["conference"] == conference
    assert meeting["title"] == row["title"]  # named as the street asked, not after the date
    invited = {r["unit"] for r in await Invitation.select(Invitation.unit).where(Invitation.meeting == meeting["id"])}
    members = set(await active_member_ids(conference, row["proposed_date"]))
    named = (await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == "兰山区综合行政执法局").first())["id"]
    assert invited == {named} and named in members  # the unit the item names, not every member

    page = html(await convenor.get(f"/special-requests/{request_id}"))
    assert page.find(id="request-status").get_text(strip=True) == "已同意"
    assert page.find(id="meeting-link")["href"] == f"/meetings/{meeting['id']}"
    assert not page.find("form", id="approve-form")
    # the street sees the outcome and the meeting too
    page = html(await street.get(f"/special-requests/{request_id}"))
    assert page.find(id="meeting-link")["href"] == f"/meetings/{meeting['id']}"

    actions = {(e["entity"], e["action"]) for e in await AuditEvent.select(AuditEvent.entity, AuditEvent.action).where(
        ((AuditEvent.entity == "special_request") & (AuditEvent.entity_id == request_id))
        | ((AuditEvent.entity == "meeting") & (AuditEvent.entity_id == meeting["id"])))}
    assert {("special_request", "create"), ("special_request", "approve"), ("meeting", "create")} <= actions

    notice = await Notification.select().where((Notification.entity == "special_request")
                                               & (Notification.entity_id == request_id)).first()
    assert notice["street"] == await street_id("兰山街道") and notice["unit"] is None
    assert notice["event"] == "special_request_decided" and notice["subject"] == "专题会议提请已同意"


async def test_decline_needs_a_comment(as_user):
    street, convenor = await as_user("street"), await as_user("convenor")
    reason = f"夜市噪音扰民投诉集中 {tag()}"
    request_id = await file_request(street, reason)

    response = await post_form(convenor, f"/special-requests/{request_id}/decline", {"comment": "  "})
    assert response.status_code == 400
    assert field_error(response, "comment") == "请填写审批意见。"
    assert html(response).find(id="decline-form").find(id="f-comment") is not None  # the error sits in the decline form
    assert (await stored(request_id))["status"] == "requested"

    long_comment = "理" * 1001
    response = await post_form(convenor, f"/special-requests/{request_id}/approve", {"comment": long_comment})
    assert response.status_code == 400
    assert field_error(response, "comment") == "审批意见不能超过1000个字。"
    assert html(response).find(id="approve-form").find(id="f-comment").get_text() == long_comment
    assert (await stored(request_id))["status"] == "requested"

    comment = "可在下次全体会议上研究，暂不单独召开。"
    response = await post_form(convenor, f"/special-requests/{request_id}/decline", {"comment": comment})
    assert response.status_code == 303
    row = await stored(request_id)
    assert row["status"] == "declined" and row["meeting"] is None and row["decision_comment"] == comment
    page = html(await street.get(f"/special-requests/{request_id}"))
    assert page.find(id="request-status").get_text(strip=True) == "未同意"
    assert page.find(id="decision-comment").get_text(strip=True) == comment
    assert await AuditEvent.exists().where((AuditEvent.entity == "special_request") & (AuditEvent.entity_id == request_id)
                                           & (AuditEvent.action == "decline"))
    notice = await Notification.select().where((Notification.entity == "special_request")
                                               & (Notification.entity_id == request_id)).first()
    assert notice["subject"] == "专题会议提请未获同意" and comment in notice["body"]

    listing = html(await street.get("/special-requests?status=declined"))
    assert f"/special-requests/{request_id}" in [a["href"] for a in listing.select("table.special-requests tbody a")]
    listing = html(await street.get("/special-requests?status=approved"))
    assert f"/special-requests/{request_id}" not in [a["href"] for a in listing.select("table.special-requests tbody a")]


async def test_deciding_twice_is_a_conflict(as_user):
    street, convenor = await as_user("street"), await as_user("convenor")
    request_id = await file_request(street, f"学校周边交通秩序 {tag()}")
    assert (await post_form(convenor, f"/special-requests/{request_id}/approve", {})).status_code == 303
    meetings = await Meeting.count()
    for kind in ("approve", "decline"):
        response = await post_form(convenor, f"/special-requests/{request_id}/{kind}", {"comment": "再次审批"})
        assert response.status_code == 409
        assert html(response).select_one(".error-summary h2").get_text(strip=True) == "该提请已经审批过了。"
    assert await Meeting.count() == meetings
    assert (await stored(request_id))["status"] == "approved"


@pytest.mark.parametrize("username", ["street", "office"])
async def test_only_the_convenor_decides(as_user, username):
    street = await as_user("street")
    request_id = await file_request(street, f"菜市场改造 {tag()}")
    client = await as_user(username)
    for kind in ("approve", "decline"):
        response = await post_form(client, f"/special-requests/{request_id}/{kind}", {"comment": "自己批"})
        assert response.status_code == 403
    assert (await stored(request_id))["status"] == "requested"
    if username == "office":  # the office of the district sees it, but cannot decide
        page = html(await client.get(f"/special-requests/{request_id}"))
        assert not page.find("form", id="approve-form")


async def test_admin_may_decide(as_user):
    request_id = await file_request(await as_user("street"), f"停车难 {tag()}")
    response = await post_form(await as_user("admin"), f"/special-requests/{request_id}/approve", {})
    assert response.status_code == 303
    row = await stored(request_id)
    meeting = await Meeting.select().where(Meeting.id == row["meeting"]).first()
    convenor = (await Person.select(Person.id).where(Person.name == "王建国").first())["id"]
    assert meeting["presiding"] == convenor  # the conference's convenor presides, not the admin


async def test_other_scopes_cannot_see_the_request(as_user, other_convenor):
    reason = f"违建拆除遇阻 {tag()}"
    request_id = await file_request(await as_user("street"), reason)
    for client in (other_convenor, await as_user("street_luozhuang"), await as_user("office_luozhuang")):
        response = await client.get(f"/special-requests/{request_id}")
        assert response.status_code == 404
        assert reason not in response.text
        assert reason not in (await client.get("/special-requests")).text
    response = await post_form(other_convenor, f"/special-requests/{request_id}/approve", {})
    assert response.status_code == 404
    response = await post_form(other_convenor, f"/special-requests/{request_id}/decline", {"comment": "不同意"})
    assert response.status_code == 404
    assert (await stored(request_id))["status"] == "requested"
    # the office of 兰山区 sees the requests of the street conferences below it
    assert reason in (await (await as_user("office")).get("/special-requests")).text


async def test_missing_request_is_404(as_user):
    response = await (await as_user("convenor")).get("/special-requests/999999")
    assert response.status_code == 404
    assert html(response).find("h1").get_text(strip=True) == "没有找到该提请，或您无权查看。"


async def test_list_is_newest_first_and_paginated(as_user):
    street = await as_user("street")
    ids = [await file_request(street, f"分页测试 {tag()}") for _ in range(3)]
    page = html(await street.get("/special-requests?per_page=2"))
    hrefs = [a["href"] for a in page.select("table.special-requests tbody a")]
    assert hrefs == [f"/special-requests/{ids[2]}", f"/special-requests/{ids[1]}"]
    assert page.select_one(".pager a[rel=next]") is not None
