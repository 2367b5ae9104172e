"""Bulk actions (issue 12 item 8), through HTTP: accept or schedule several items from the list with a
per-item result; the sign-in sheet (rest all present, exceptions, attendee names) from the meeting's
day only; closing several tasks from the task list; 标记为已召开 only after the start; wrong states
come back to the page as a message; units and streets cannot bulk-act."""

from __future__ import annotations

import datetime as dt

from conference.agenda import services as agenda
from conference.agenda.tables import AgendaItem
from conference.meetings.tables import Invitation, Meeting
from conference.tasks.tables import Task
from conference.timefmt import now
from tests.conftest import post_form, send_notice
from tests.factories import actor, make_meeting, make_past_meeting, unique
from tests.test_tasks import MARKET, PLANNING, adopt, audit_actions, held_meeting, html


async def new_item(street: str = "street") -> int:
    return await agenda.create_item(await actor(street), {
        "title": unique("议题"), "description": "背街小巷路灯长期不亮，居民夜间出行不便。", "category": "urban_management",
        "urgency": "normal"}, [], submit=True)


async def test_bulk_accept_then_schedule_with_per_item_results(as_user):
    office = await as_user("office")
    first, second, luozhuang = await new_item(), await new_item(), await new_item("street_luozhuang")
    page = html(await office.get("/items?status=submitted"))
    assert page.select_one(f'input[name=item][value="{first}"]')["form"] == "items-bulk"
    response = await post_form(office, "/items/bulk", {"action": "accept", "item": [str(first), str(second), str(luozhuang)]})
    assert response.status_code == 200
    results = {int(li["data-id"]): li for li in html(response).select(".bulk-results li")}
    assert "ok" in results[first]["class"] and "ok" in results[second]["class"]
    assert "failed" in results[luozhuang]["class"]  # not this office's conference: refused, named, the rest done
    statuses = {r["id"]: r["status"] for r in await AgendaItem.select(AgendaItem.id, AgendaItem.status).where(
        AgendaItem.id.is_in([first, second, luozhuang]))}
    assert statuses == {first: "accepted", second: "accepted", luozhuang: "submitted"}
    assert (await audit_actions("agenda_item", first))[-1] == "accept"
    # Accepting again: each one fails with the reason of its state.
    response = await post_form(office, "/items/bulk", {"action": "accept", "item": [str(first)]})
    assert "不能受理" in html(response).select_one(".bulk-results li.failed").get_text()

    meeting_id = await make_meeting()
    response = await post_form(office, "/items/bulk", {"action": "schedule", "meeting": str(meeting_id),
                                                      "item": [str(first), str(second)]})
    assert len(html(response).select(".bulk-results li.ok")) == 2
    rows = await AgendaItem.select(AgendaItem.status, AgendaItem.meeting).where(AgendaItem.id.is_in([first, second]))
    assert {(r["status"], r["meeting"]) for r in rows} == {("scheduled", meeting_id)}


async def test_units_and_streets_cannot_bulk_act(as_user):
    item_id = await new_item()
    for username in ("street", "unit", "convenor"):
        client = await as_user(username)
        assert (await post_form(client, "/items/bulk", {"action": "accept", "item": [str(item_id)]})).status_code == 403
        assert (await post_form(client, "/tasks/bulk-close", {"task": ["1"]})).status_code == 403
    assert (await AgendaItem.select(AgendaItem.status).where(AgendaItem.id == item_id).first())["status"] == "submitted"


async def test_sign_in_sheet_from_the_meeting_day(as_user):
    office = await as_user("office")
    future = await make_meeting()
    assert (await send_notice(office, future)).status_code == 303
    page = html(await office.get(f"/meetings/{future}"))
    assert page.select_one("#signin-form") is None and page.select_one("#signin-later")
    invitations = await Invitation.select(Invitation.id).where(Invitation.meeting == future)
    response = await post_form(office, f"/meetings/{future}/sign-in", {"fill": "present"})
    assert response.status_code == 303
    assert "会议当天" in html(await office.get(f"/meetings/{future}")).select_one(".flash").get_text()
    assert not await Invitation.exists().where((Invitation.meeting == future) & Invitation.attendance.is_not_null()
                                               & (Invitation.attendance != ""))
    # A refused single sign-in comes back to the page as a message, not a bare 409.
    response = await post_form(office, f"/invitations/{invitations[0]['id']}/attendance", {"attendance": "present"})
    assert response.status_code == 303 and response.headers["location"] == f"/meetings/{future}#sign-in"

    meeting_id = await make_past_meeting()
    invitations = await Invitation.select(Invitation.id).where(Invitation.meeting == meeting_id).order_by(Invitation.id)
    assert len(invitations) >= 3
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.select_one("#signin-form") is not None and page.select_one("#signin-all")
    leave, absent = invitations[0]["id"], invitations[1]["id"]
    response = await post_form(office, f"/meetings/{meeting_id}/sign-in", {
        "fill": "present", f"att-{leave}": "leave", f"att-{absent}": "absent", f"name-{invitations[2]['id']}": "李明"})
    assert response.status_code == 303 and response.headers["location"] == f"/meetings/{meeting_id}#sign-in"
    rows = {r["id"]: r for r in await Invitation.select().where(Invitation.meeting == meeting_id)}
    assert rows[leave]["attendance"] == "leave" and rows[absent]["attendance"] == "absent"
    assert rows[invitations[2]["id"]]["attendance"] == "present" and rows[invitations[2]["id"]]["attendee_name"] == "李明"
    assert all(r["attendance"] == "present" for i, r in rows.items() if i not in (leave, absent))
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.select_one(f'input[name="att-{leave}"][value="leave"]').has_attr("checked")


async def test_hold_only_after_the_start_and_wrong_state_is_a_message(as_user):
    office = await as_user("office")
    meeting_id = await make_meeting(date=dt.date.today().isoformat(), start_time="23:58", end_time="23:59")
    await send_notice(office, meeting_id)
    starts = (await Meeting.select(Meeting.starts_at).where(Meeting.id == meeting_id).first())["starts_at"]
    if starts > now():
        page = html(await office.get(f"/meetings/{meeting_id}"))
        assert page.find(id="hold") is None and page.find(id="hold-later") is not None
        response = await post_form(office, f"/meetings/{meeting_id}/hold", {})
        assert response.status_code == 303 and response.headers["location"] == f"/meetings/{meeting_id}"
        follow = await office.get(f"/meetings/{meeting_id}")
        assert "会议尚未开始" in html(follow).select_one(".flash").get_text()
    past = await make_past_meeting()
    assert html(await office.get(f"/meetings/{past}")).find(id="hold") is not None
    assert (await post_form(office, f"/meetings/{past}/hold", {})).status_code == 303
    response = await post_form(office, f"/meetings/{past}/hold", {})  # already held
    assert response.status_code == 303
    assert "不能标记为已召开" in html(await office.get(f"/meetings/{past}")).select_one(".flash").get_text()


async def test_bulk_close_from_the_task_list(as_user):
    office, unit = await as_user("office"), await as_user("unit")
    meeting_id, item_id = await held_meeting()
    _r1, first = await adopt(office, meeting_id, item_id, MARKET)
    _r2, second = await adopt(office, meeting_id, item_id, MARKET, (PLANNING,))
    done = [first[MARKET], second[MARKET]]
    for task_id in done:
        await post_form(unit, f"/tasks/{task_id}/acknowledge", {})
        assert (await post_form(unit, f"/tasks/{task_id}/done", {"evidence": "已办结"})).status_code == 303
    page = html(await office.get("/tasks?status=reported_done"))
    assert page.select_one("#bulk-close")["formaction"] == "/tasks/bulk-close"
    assert page.select_one("#bulk-close")["data-confirm"]
    response = await post_form(office, "/tasks/bulk-close", {"task": [*map(str, done), str(second[PLANNING])]})
    assert response.status_code == 200
    items = {int(li["data-id"]): li for li in html(response).select(".bulk-results li")}
    assert all("ok" in items[t]["class"] for t in done)
    assert "failed" in items[second[PLANNING]]["class"] and "不能销号" in items[second[PLANNING]].get_text()
    statuses = {r["id"]: r["status"] for r in await Task.select(Task.id, Task.status).where(
        Task.id.is_in([*done, second[PLANNING]]))}
    assert statuses == {done[0]: "closed", done[1]: "closed", second[PLANNING]: "assigned"}
    assert "closed" in await audit_actions("task", done[0])
