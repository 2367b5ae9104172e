"""A change of a notified meeting through HTTP (issue 16, deliverable 6): the change notice goes
out with the save (or, with "不通知", not, for an audited reason); a save posted twice sends one
notice; a meeting whose units hold an older notice cannot be marked held; only the office edits."""

from __future__ import annotations

import json

import pytest

from conference.audit.tables import AuditEvent
from conference.meetings.tables import Invitation, Meeting
from conference.notifications.tables import Notification
from tests.conftest import field_error, field_value, html, post_form, send_notice
from tests.factories import actor, make_meeting, make_past_meeting

FIELDS = ("kind", "title", "date", "start_time", "end_time", "location", "presiding", "notes", "notice", "notice_reason")


async def notified_meeting() -> int:
    from conference.meetings.lifecycle import notify_meeting

    meeting_id = await make_meeting()
    await notify_meeting(await actor("office"), meeting_id)
    return meeting_id


async def edit_form(client, meeting_id: int) -> dict[str, str]:
    """The edit form as the browser would post it back, version included."""
    page = await client.get(f"/meetings/{meeting_id}/edit")
    assert page.status_code == 200
    form = {f: field_value(page, f) or "" for f in FIELDS}
    form["version"] = html(page).find("input", attrs={"name": "version"})["value"]
    return form


async def invitation_ids(meeting_id: int) -> list[int]:
    return [r["id"] for r in await Invitation.select(Invitation.id).where(Invitation.meeting == meeting_id)]


async def change_notices(meeting_id: int) -> int:
    return await Notification.count().where((Notification.event == "meeting_updated") & (Notification.entity == "invitation")
                                            & Notification.entity_id.is_in(await invitation_ids(meeting_id) or [0]))


async def audit_actions(meeting_id: int) -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "meeting") & (AuditEvent.entity_id == meeting_id)).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


async def test_the_edit_form_of_a_notified_meeting_offers_the_notice_choice(as_user):
    office = await as_user("office")
    draft = await make_meeting()
    page = html(await office.get(f"/meetings/{draft}/edit"))
    assert page.find(id="f-notice") is None  # nothing was sent yet: nothing to choose
    meeting_id = await notified_meeting()
    page = html(await office.get(f"/meetings/{meeting_id}/edit"))
    options = [(o["value"], o.get_text(strip=True)) for o in page.find(id="f-notice").find_all("option")]
    assert options == [("send", "发送变更通知"), ("skip", "不通知")]
    assert page.find(id="f-notice").find("option", selected=True)["value"] == "send"  # the default
    assert page.find(id="f-notice_reason").name == "textarea"
    assert "保存时将向全部受邀单位发送变更通知" in page.select_one("p.notice").get_text()


async def test_a_change_of_place_sends_the_change_notice_with_the_save(as_user):
    office = await as_user("office")
    meeting_id = await notified_meeting()
    invited = len(await invitation_ids(meeting_id))
    form = await edit_form(office, meeting_id)
    response = await post_form(office, f"/meetings/{meeting_id}/edit", {**form, "location": "区委党校报告厅"})
    assert response.status_code == 303
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.select_one(".flash").get_text(strip=True) == f"会议已保存，已向 {invited} 个单位发送变更通知。"
    assert page.find(id="notify") is None  # nothing left to send by hand
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    assert meeting["sequence"] == 1 and meeting["location"] == "区委党校报告厅"
    assert await change_notices(meeting_id) == invited
    notice = await Notification.select(Notification.subject, Notification.body).where(
        (Notification.event == "meeting_updated") & Notification.entity_id.is_in(await invitation_ids(meeting_id))).first()
    assert notice["subject"].startswith("【会议变更】") and "区委党校报告厅" in notice["body"]
    assert await Invitation.count().where((Invitation.meeting == meeting_id) & (Invitation.notified_sequence == 1)) == invited
    assert await audit_actions(meeting_id) == ["create", "notify", "reschedule", "renotify"]

    # Notes are not in the notice: saved, nothing sent.
    form = await edit_form(office, meeting_id)
    assert (await post_form(office, f"/meetings/{meeting_id}/edit", {**form, "notes": "会前材料已备齐"})).status_code == 303
    assert html(await office.get(f"/meetings/{meeting_id}")).select_one(".flash").get_text(strip=True) == "会议已保存。"
    assert await change_notices(meeting_id) == invited


async def test_a_save_posted_twice_sends_one_notice(as_user):
    office = await as_user("office")
    meeting_id = await notified_meeting()
    invited = len(await invitation_ids(meeting_id))
    form = {**await edit_form(office, meeting_id), "start_time": "14:30", "end_time": "16:00"}
    first = await post_form(office, f"/meetings/{meeting_id}/edit", form)
    second = await post_form(office, f"/meetings/{meeting_id}/edit", form)  # the double click
    assert first.status_code == 303
    assert second.status_code == 409
    assert "已被他人修改" in html(second).find(id="error-summary").get_text()
    assert await change_notices(meeting_id) == invited  # one per unit, not two
    assert (await Meeting.select(Meeting.sequence).where(Meeting.id == meeting_id).first())["sequence"] == 1
    assert (await audit_actions(meeting_id)).count("renotify") == 1


async def test_no_notice_needs_a_reason_which_is_audited(as_user):
    office = await as_user("office")
    meeting_id = await notified_meeting()
    form = {**await edit_form(office, meeting_id), "location": "街道办事处3楼会议室", "notice": "skip", "notice_reason": ""}
    response = await post_form(office, f"/meetings/{meeting_id}/edit", {**form, "title": ""})
    assert response.status_code == 400  # every message at once, input kept
    assert field_error(response, "notice_reason") == "请填写不通知的理由。"
    assert field_error(response, "title") == "请填写会议名称。"
    assert field_value(response, "notice") == "skip" and field_value(response, "location") == "街道办事处3楼会议室"
    response = await post_form(office, f"/meetings/{meeting_id}/edit", {**form, "notice": "bogus"})
    assert response.status_code == 400 and field_error(response, "notice") == "请从列表中选择变更通知。"
    assert await change_notices(meeting_id) == 0

    reason = "只是把“三楼”写成“3楼”，地点没有变"
    response = await post_form(office, f"/meetings/{meeting_id}/edit", {**form, "notice_reason": reason})
    assert response.status_code == 303
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    assert meeting["location"] == "街道办事处3楼会议室" and meeting["sequence"] == 0  # units keep a current notice
    assert await change_notices(meeting_id) == 0
    event = await AuditEvent.select().where((AuditEvent.entity == "meeting") & (AuditEvent.entity_id == meeting_id)
                                            & (AuditEvent.action == "skip_notice")).first()
    after = event["after"] if isinstance(event["after"], dict) else json.loads(event["after"])
    assert after == {"fields": ["location"], "reason": reason} and event["actor_name"]
    assert await audit_actions(meeting_id) == ["create", "notify", "reschedule", "skip_notice"]
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.find(id="notify") is None


async def test_a_meeting_cannot_be_held_while_units_hold_an_older_notice(as_user):
    office = await as_user("office")
    meeting_id = await make_past_meeting()
    invited = len(await invitation_ids(meeting_id))
    # A change saved without its notice (as before this rule, or a notice that failed to go out).
    await Meeting.update({Meeting.sequence: 1}).where(Meeting.id == meeting_id)
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.find(id="hold") is None
    assert f"还有 {invited} 个受邀单位收到的是变更前的会议通知" in page.find(id="hold-blocked").get_text()
    response = await post_form(office, f"/meetings/{meeting_id}/hold", {})
    assert response.status_code == 303
    flash = html(await office.get(f"/meetings/{meeting_id}")).select_one(".flash").get_text(strip=True)
    assert flash == f"还有 {invited} 个受邀单位收到的是变更前的会议通知，请先发送变更通知，再标记为已召开。"
    assert (await Meeting.select(Meeting.status).where(Meeting.id == meeting_id).first())["status"] == "notified"

    assert (await send_notice(office, meeting_id)).status_code == 303
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.find(id="hold-blocked") is None and page.find(id="hold") is not None
    assert (await post_form(office, f"/meetings/{meeting_id}/hold", {})).status_code == 303
    assert (await Meeting.select(Meeting.status).where(Meeting.id == meeting_id).first())["status"] == "held"


@pytest.mark.parametrize("username", ["street", "convenor", "unit"])
async def test_only_the_office_edits(as_user, username):
    meeting_id = await notified_meeting()
    office_form = await edit_form(await as_user("office"), meeting_id)
    client = await as_user(username)
    assert (await client.get(f"/meetings/{meeting_id}/edit")).status_code == 403
    response = await post_form(client, f"/meetings/{meeting_id}/edit", {**office_form, "location": "别处"})
    assert response.status_code == 403
    assert await change_notices(meeting_id) == 0
