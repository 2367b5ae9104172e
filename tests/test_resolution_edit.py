"""Correcting a resolution on the meeting page (issue 12 item 2), through HTTP: text, lead and
cooperating units and deadline change and the tasks follow (new unit: task and notice; removed unit:
task cancelled with the reason; new deadline: open tasks moved and told), the number stays, a stale
version is refused, after sign-off the change points to the minutes correction, units and streets
cannot edit, note and attachments, the extended deadline on the meeting page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from conference.meetings.tables import Meeting
from conference.notifications.tables import Notification
from conference.tasks.tables import Resolution, ResolutionAttachment, Task, TaskReport
from conference.timefmt import cn_date, today
from tests.conftest import field_error, post_form
from tests.test_tasks import (
    ENFORCEMENT,
    MARKET,
    PDF,
    PLANNING,
    POLICE,
    adopt,
    audit_actions,
    held_meeting,
    html,
    summary,
    task_row,
    unit_id,
)


async def edit_form(resolution_id: int, **changes: Any) -> dict[str, Any]:
    """The correction form as the page fills it, with `changes` applied."""
    row = await Resolution.select().where(Resolution.id == resolution_id).first()
    assert row is not None
    tasks = await Task.select(Task.unit, Task.role, Task.status).where(Task.resolution == resolution_id)
    form: dict[str, Any] = {
        "version": str(row["version"]), "text": row["text"], "lead_unit": str(row["lead_unit"]), "deadline_mode": "date",
        "deadline": row["deadline"].isoformat(), "deadline_workdays": "", "note": row["note"], "reason": "召集人审签时要求调整",
        "cooperating": [str(t["unit"]) for t in tasks if t["role"] == "cooperate" and t["status"] != "cancelled"],
    }
    form.update(changes)
    return form


async def edit(client: httpx.AsyncClient, resolution_id: int, form: dict[str, Any]) -> httpx.Response:
    return await post_form(client, f"/resolutions/{resolution_id}/edit", form)


async def notices(event: str, task_id: int) -> list[dict[str, Any]]:
    return await Notification.select(Notification.subject, Notification.body).where(
        (Notification.event == event) & (Notification.entity == "task") & (Notification.entity_id == task_id))


async def test_correction_moves_units_and_deadline_and_the_tasks_follow(as_user):
    office = await as_user("office")
    meeting_id, item_id = await held_meeting()
    first_id, _first = await adopt(office, meeting_id, item_id, PLANNING)
    resolution_id, tasks = await adopt(office, meeting_id, item_id, MARKET, (POLICE,))
    number = (await Resolution.select(Resolution.number).where(Resolution.id == resolution_id).first())["number"]
    assert number == 2

    # The page offers the correction form with checkboxes (phone first), filled with the current values.
    page = html(await office.get(f"/meetings/{meeting_id}"))
    form_node = page.select_one(f"#resolution-edit-{resolution_id}")
    assert form_node is not None and form_node["data-confirm"]
    assert [i["value"] for i in form_node.select("input[name=cooperating][checked]")] == [str(await unit_id(POLICE))]
    assert form_node.select("select[multiple]") == []

    # Reason required; the input stays beside the messages.
    response = await edit(office, resolution_id, await edit_form(resolution_id, reason="", text="新的内容"))
    assert response.status_code == 400 and field_error(response, f"r{resolution_id}-reason") == "请填写修改原因。"
    assert html(response).select_one(f"#f-r{resolution_id}-text").get_text() == "新的内容"
    assert "open" in html(response).select_one(f"#resolution-{resolution_id} details.resolution-edit").attrs

    # Police out, enforcement in, new deadline and text, note.
    new_deadline = today() + dt.timedelta(days=45)
    form = await edit_form(resolution_id, text="修改后的议定事项", deadline=new_deadline.isoformat(), note="按召集人意见修改",
                           cooperating=[str(await unit_id(ENFORCEMENT))], reason="召集人要求增加综合执法局配合")
    response = await edit(office, resolution_id, form)
    assert response.status_code == 303, summary(response) or response.text[:1000]
    assert response.headers["location"] == f"/meetings/{meeting_id}#resolution-{resolution_id}"

    row = await Resolution.select().where(Resolution.id == resolution_id).first()
    assert (row["text"], row["deadline"], row["note"], row["number"]) == ("修改后的议定事项", new_deadline, "按召集人意见修改", 2)
    police = await task_row(tasks[POLICE])
    assert police["status"] == "cancelled"
    cancelled = await notices("task_cancelled", tasks[POLICE])
    assert len(cancelled) == 1 and "召集人要求增加综合执法局配合" in cancelled[0]["body"]
    market = await task_row(tasks[MARKET])
    assert (market["status"], market["deadline"]) == ("assigned", new_deadline)
    amended = await notices("task_amended", tasks[MARKET])
    assert len(amended) == 1 and cn_date(new_deadline) in amended[0]["body"] and "修改后的议定事项" in amended[0]["body"]
    added = await Task.select().where((Task.resolution == resolution_id) & (Task.unit == await unit_id(ENFORCEMENT))).first()
    assert added is not None and (added["role"], added["deadline"], added["status"]) == ("cooperate", new_deadline, "assigned")
    assert len(await notices("task_assigned", added["id"])) == 1
    assert "amended" in [r["kind"] for r in await TaskReport.select(TaskReport.kind).where(TaskReport.task == tasks[MARKET])]
    assert await audit_actions("resolution", resolution_id) == ["create", "amend", "amend_units"]
    # The other resolution keeps its number.
    assert (await Resolution.select(Resolution.number).where(Resolution.id == first_id).first())["number"] == 1

    page = html(await office.get(f"/meetings/{meeting_id}"))
    item = page.select_one(f"#resolution-{resolution_id}")
    assert item.select_one(".numeral").get_text() == "二、"
    assert item.select_one(".resolution-cooperating").get_text(strip=True) == ENFORCEMENT
    assert item.select_one(".resolution-deadline").get_text(strip=True) == cn_date(new_deadline)
    assert "按召集人意见修改" in item.select_one(".resolution-note").get_text()

    # The lead moves to the cooperating unit: roles swap, no task is cancelled.
    form = await edit_form(resolution_id, lead_unit=str(await unit_id(ENFORCEMENT)),
                           cooperating=[str(await unit_id(MARKET))], reason="牵头单位调整")
    assert (await edit(office, resolution_id, form)).status_code == 303
    assert (await task_row(tasks[MARKET]))["role"] == "cooperate"
    assert (await task_row(added["id"]))["role"] == "lead"

    # A stale version (someone saved in between) is refused, nothing changes.
    stale = await edit_form(resolution_id, text="旧页面上的修改")
    stale["version"] = "1"
    response = await edit(office, resolution_id, stale)
    assert response.status_code == 409 and "已被他人修改" in summary(response)
    assert (await Resolution.select(Resolution.text).where(Resolution.id == resolution_id).first())["text"] == "修改后的议定事项"


async def test_extended_deadline_stands_and_shows_on_the_meeting_page(as_user):
    office, unit = await as_user("office"), await as_user("unit")
    meeting_id, item_id = await held_meeting()
    resolution_id, tasks = await adopt(office, meeting_id, item_id, MARKET, (PLANNING,))
    task_id = tasks[MARKET]
    extended = today() + dt.timedelta(days=60)
    assert (await post_form(unit, f"/tasks/{task_id}/extension", {"extension_deadline": extended.isoformat(),
                                                                     "extension_reason": "需要协调"})).status_code == 303
    assert (await post_form(office, f"/tasks/{task_id}/extension/approve", {"comment": ""})).status_code == 303
    page = html(await office.get(f"/meetings/{meeting_id}"))
    line = page.select_one(f'li[data-task="{task_id}"] .task-deadline').get_text()
    assert cn_date(extended) in line and "已延期" in line
    # A new resolution deadline earlier than the extension leaves the extended task alone.
    new_deadline = today() + dt.timedelta(days=40)
    assert (await edit(office, resolution_id, await edit_form(resolution_id, deadline=new_deadline.isoformat()))).status_code == 303
    assert (await task_row(task_id))["deadline"] == extended
    assert (await task_row(tasks[PLANNING]))["deadline"] == new_deadline


async def test_working_day_deadline_on_correction(as_user):
    office = await as_user("office")
    meeting_id, item_id = await held_meeting()
    resolution_id, tasks = await adopt(office, meeting_id, item_id, MARKET)
    response = await edit(office, resolution_id, await edit_form(resolution_id, deadline_mode="workdays", deadline_workdays="0"))
    assert response.status_code == 400 and field_error(response, f"r{resolution_id}-deadline_workdays")
    assert (await edit(office, resolution_id, await edit_form(resolution_id, deadline_mode="workdays",
                                                             deadline_workdays="25"))).status_code == 303
    row = await Resolution.select().where(Resolution.id == resolution_id).first()
    assert row["deadline_workdays"] == 25 and (await task_row(tasks[MARKET]))["deadline"] == row["deadline"]


async def test_after_sign_off_the_change_points_to_the_minutes_correction(as_user):
    office = await as_user("office")
    meeting_id, item_id = await held_meeting()
    resolution_id, _tasks = await adopt(office, meeting_id, item_id, MARKET)
    await Meeting.update({Meeting.status: "minutes_published"}).where(Meeting.id == meeting_id)
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.select_one(f"#resolution-edit-{resolution_id}") is None
    assert "更正" in page.select_one("#resolutions-signed").get_text()
    response = await edit(office, resolution_id, await edit_form(resolution_id, text="签发后修改"))
    assert response.status_code == 409 and "更正" in summary(response)
    assert (await Resolution.select(Resolution.text).where(Resolution.id == resolution_id).first())["text"] != "签发后修改"


async def test_units_streets_and_convenors_cannot_edit(as_user):
    office = await as_user("office")
    meeting_id, item_id = await held_meeting()
    resolution_id, _tasks = await adopt(office, meeting_id, item_id, MARKET)
    form = await edit_form(resolution_id, text="越权修改")
    for username in ("unit", "street", "convenor"):
        client = await as_user(username)
        assert (await edit(client, resolution_id, form)).status_code == 403, username
        assert (await post_form(client, f"/resolutions/{resolution_id}/attachments", {},
                                files={"files": ("a.pdf", PDF, "application/pdf")})).status_code == 403
        page = await client.get(f"/meetings/{meeting_id}")
        assert page.status_code != 200 or html(page).select_one(f"#resolution-edit-{resolution_id}") is None
    # An office of another conference does not even see it.
    assert (await edit(await as_user("office_luozhuang"), resolution_id, form)).status_code == 404
    assert (await Resolution.select(Resolution.text).where(Resolution.id == resolution_id).first())["text"] != "越权修改"


async def test_attachments_upload_download_remove(as_user):
    office, unit, police = await as_user("office"), await as_user("unit"), await as_user("unit_police")
    meeting_id, item_id = await held_meeting()
    resolution_id, _tasks = await adopt(office, meeting_id, item_id, MARKET)
    response = await post_form(office, f"/resolutions/{resolution_id}/attachments", {},
                               files={"files": ("会议材料.exe", b"MZ", "application/octet-stream")})
    assert response.status_code == 400 and field_error(response, f"r{resolution_id}-file")
    response = await post_form(office, f"/resolutions/{resolution_id}/attachments", {},
                               files={"files": ("会议材料.pdf", PDF, "application/pdf")})
    assert response.status_code == 303, summary(response)
    attachment = await ResolutionAttachment.select(ResolutionAttachment.id).where(
        ResolutionAttachment.resolution == resolution_id).first()
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.select_one(f'#resolution-{resolution_id} a[href="/resolution-attachments/{attachment["id"]}"]')
    assert (await unit.get(f"/resolution-attachments/{attachment['id']}")).content == PDF  # its task's resolution
    assert (await police.get(f"/resolution-attachments/{attachment['id']}")).status_code == 404
    assert (await post_form(unit, f"/resolution-attachments/{attachment['id']}/remove", {})).status_code == 403
    assert (await post_form(office, f"/resolution-attachments/{attachment['id']}/remove", {})).status_code == 303
    assert not await ResolutionAttachment.exists().where(ResolutionAttachment.id == attachment["id"])


async def test_a_unit_whose_task_is_closed_is_not_given_a_second_one(as_user):
    office, unit = await as_user("office"), await as_user("unit")
    meeting_id, item_id = await held_meeting()
    resolution_id, tasks = await adopt(office, meeting_id, item_id, MARKET)
    task_id = tasks[MARKET]
    for action, data in (("acknowledge", {}), ("done", {"evidence": "已完成整治。"})):
        response = await post_form(unit, f"/tasks/{task_id}/{action}", data)
        assert response.status_code == 303, summary(response)
    response = await post_form(office, f"/tasks/{task_id}/close", {"comment": "同意销号。"})
    assert response.status_code == 303, summary(response)
    assert (await task_row(task_id))["status"] == "closed"

    response = await edit(office, resolution_id, await edit_form(resolution_id, note="只改备注"))

    assert response.status_code == 303, summary(response)
    rows = await Task.select(Task.id, Task.status).where(Task.resolution == resolution_id)
    assert rows == [{"id": task_id, "status": "closed"}]  # no second task, hence no second assignment notice
