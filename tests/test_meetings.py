"""Meetings through HTTP: creation with default invitations, every lifecycle transition (allowed
and forbidden), re-notification after a change, invitations and sign-in, conflicts, scope, and
a query count that does not grow with the number of meetings."""

from __future__ import annotations

import datetime as dt

from conference.audit.tables import AuditEvent
from conference.meetings.tables import Invitation, Meeting
from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit
from tests.conftest import field_error, field_value, html, post_form, send_notice
from tests.factories import LANSHAN_STREET, actor, conference_id, make_meeting, make_past_meeting, meeting_form, unique
from tests.querycount import count_queries


async def audit_actions(meeting_id: int) -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "meeting") & (AuditEvent.entity_id == meeting_id)).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


async def test_create_meeting_invites_active_members(as_user):
    office = await as_user("office")
    conf = await conference_id(LANSHAN_STREET)
    form = meeting_form(conference=conf)
    response = await post_form(office, "/meetings/new", form)
    assert response.status_code == 303
    meeting_id = int(response.headers["location"].rsplit("/", 1)[1])
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.find("h1").get_text(" ", strip=True).startswith(form["title"])
    invited = {row["data-unit"] for row in page.select("table.invitations tr[data-unit]")}
    assert "兰山区市场监管局" in invited and "兰山派出所" in invited
    assert "柳青派出所" not in invited  # its membership ended on 2025-12-31
    assert "罗庄区市场监管局" not in invited
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    assert meeting["status"] == "draft" and meeting["presiding"] is not None  # the street's convenor
    assert await audit_actions(meeting_id) == ["create"]


async def test_create_meeting_validation_keeps_input(as_user):
    office = await as_user("office")
    conf = await conference_id(LANSHAN_STREET)
    form = meeting_form(conference=conf, start_time="11:00", end_time="10:00", location="")
    response = await post_form(office, "/meetings/new", form)
    assert response.status_code == 400
    assert field_error(response, "end_time") == "结束时间必须晚于开始时间。"
    assert field_error(response, "location") == "请填写会议地点。"
    assert field_value(response, "title") == form["title"]
    assert field_value(response, "start_time") == "11:00"
    assert html(response).find(id="error-summary") is not None


async def test_bad_dates_and_types_are_400_not_500(as_user):
    office = await as_user("office")
    conf = await conference_id(LANSHAN_STREET)
    for bad in ({"date": "2026-13-45"}, {"start_time": "25:99"}, {"kind": "nonsense"}, {"title": "长" * 500}):
        response = await post_form(office, "/meetings/new", meeting_form(conference=conf, **bad))
        assert response.status_code == 400, bad
    response = await post_form(office, "/meetings/new", meeting_form(conference="abc"))
    assert response.status_code == 400 and field_error(response, "conference")


async def test_lifecycle_notify_reschedule_hold(as_user):
    office = await as_user("office")
    meeting_id = await make_meeting()
    # draft: cannot be held (a message on the page, not a bare 409)
    assert (await post_form(office, f"/meetings/{meeting_id}/hold", {})).status_code == 303
    assert "不能标记为已召开" in html(await office.get(f"/meetings/{meeting_id}")).select_one(".flash").get_text()
    response = await send_notice(office, meeting_id)
    assert response.status_code == 303
    invited = await Invitation.count().where(Invitation.meeting == meeting_id)
    queued = await Notification.select(Notification.event).where(
        (Notification.entity == "invitation") & Notification.entity_id.is_in(
            [r["id"] for r in await Invitation.select(Invitation.id).where(Invitation.meeting == meeting_id)]))
    assert len(queued) == invited and {q["event"] for q in queued} == {"meeting_notified"}
    # nothing left to notify
    response = await send_notice(office, meeting_id)
    assert response.status_code == 303 and response.headers["location"] == f"/meetings/{meeting_id}"
    assert "所有受邀单位都已收到最新通知" in html(await office.get(f"/meetings/{meeting_id}")).select_one(".flash").get_text()
    # a change of place after notification: SEQUENCE+1, every invitation needs re-notification
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    edit = await office.get(f"/meetings/{meeting_id}/edit")
    form = {f: field_value(edit, f) or "" for f in ("kind", "title", "date", "start_time", "end_time", "location", "presiding", "notes")}
    form.update(location="区委党校报告厅", version=str(meeting["version"]))
    assert (await post_form(office, f"/meetings/{meeting_id}/edit", form)).status_code == 303
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    assert meeting["sequence"] == 1 and meeting["location"] == "区委党校报告厅"
    page = html(await office.get(f"/meetings/{meeting_id}"))  # the change notice went out with the save
    assert page.select_one(".flash").get_text(strip=True) == f"会议已保存，已向 {invited} 个单位发送变更通知。"
    assert page.find(id="notify") is None
    updated = await Notification.count().where((Notification.event == "meeting_updated") & Notification.entity_id.is_in(
        [r["id"] for r in await Invitation.select(Invitation.id).where(Invitation.meeting == meeting_id)]))
    assert updated == invited
    # the meeting has not started: it cannot be marked held
    assert (await post_form(office, f"/meetings/{meeting_id}/hold", {})).status_code == 303
    assert "会议尚未开始" in html(await office.get(f"/meetings/{meeting_id}")).select_one(".flash").get_text()
    assert await audit_actions(meeting_id) == ["create", "notify", "reschedule", "renotify"]


async def test_hold_then_edit_or_cancel_is_refused(as_user):
    office = await as_user("office")
    meeting_id = await make_past_meeting()
    assert (await post_form(office, f"/meetings/{meeting_id}/hold", {})).status_code == 303
    assert (await Meeting.select(Meeting.status).where(Meeting.id == meeting_id).first())["status"] == "held"
    response = await post_form(office, f"/meetings/{meeting_id}/cancel", {"reason": "测试"})
    assert response.status_code == 409
    assert "已召开" in html(response).find("h1").get_text()
    assert (await office.get(f"/meetings/{meeting_id}/edit")).status_code == 200
    response = await post_form(office, f"/meetings/{meeting_id}/edit", meeting_form())
    assert response.status_code == 409
    assert (await post_form(office, f"/meetings/{meeting_id}/hold", {})).status_code == 303  # refused, with a message
    assert await audit_actions(meeting_id) == ["create", "notify", "hold"]


async def test_cancel_requires_reason_and_notifies(as_user):
    office = await as_user("office")
    meeting_id = await make_meeting()
    await send_notice(office, meeting_id)
    response = await post_form(office, f"/meetings/{meeting_id}/cancel", {"reason": ""})
    assert response.status_code == 400 and field_error(response, "reason") == "请填写取消原因。"
    assert (await post_form(office, f"/meetings/{meeting_id}/cancel", {"reason": "与区委全会时间冲突"})).status_code == 303
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    assert meeting["status"] == "cancelled" and meeting["cancel_reason"] == "与区委全会时间冲突"
    ids = [r["id"] for r in await Invitation.select(Invitation.id).where(Invitation.meeting == meeting_id)]
    assert await Notification.count().where((Notification.event == "meeting_cancelled") & Notification.entity_id.is_in(ids)) == len(ids)
    assert (await send_notice(office, meeting_id)).status_code == 303  # refused, with a message
    assert (await post_form(office, f"/meetings/{meeting_id}/cancel", {"reason": "x"})).status_code == 409
    assert await audit_actions(meeting_id) == ["create", "notify", "cancel"]


async def test_invitations_add_remove_and_sign_in(as_user):
    office = await as_user("office")
    meeting_id = await make_meeting()
    unit = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == "罗庄区司法局").first()
    response = await post_form(office, f"/meetings/{meeting_id}/invitations", {"unit": unit["id"], "role": "observer"})
    assert response.status_code == 303
    response = await post_form(office, f"/meetings/{meeting_id}/invitations", {"unit": unit["id"], "role": "observer"})
    assert response.status_code == 400 and field_error(response, "unit") == "该单位已在受邀名单中。"
    inv = await Invitation.select().where((Invitation.meeting == meeting_id) & (Invitation.unit == unit["id"])).first()
    assert inv["role"] == "observer"
    # sign-in is for the day of the meeting, not a draft (refused with a message on the page)
    assert (await post_form(office, f"/invitations/{inv['id']}/attendance", {"attendance": "present"})).status_code == 303
    await send_notice(office, meeting_id)
    assert (await post_form(office, f"/invitations/{inv['id']}/attendance", {"attendance": "present"})).status_code == 303
    assert not (await Invitation.select(Invitation.attendance).where(Invitation.id == inv["id"]).first())["attendance"]
    # from the meeting's day on it is recorded
    meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
    await Meeting.update({Meeting.starts_at: meeting["starts_at"] - dt.timedelta(days=30),
                          Meeting.ends_at: meeting["ends_at"] - dt.timedelta(days=30)}).where(Meeting.id == meeting_id)
    assert (await post_form(office, f"/invitations/{inv['id']}/attendance", {"attendance": "present"})).status_code == 303
    assert (await post_form(office, f"/invitations/{inv['id']}/attendance", {"attendance": "bogus"})).status_code == 400
    page = html(await office.get(f"/meetings/{meeting_id}"))
    row = page.select_one('table.invitations tr[data-unit="罗庄区司法局"]')
    assert row.select_one("td.attendance").get_text(strip=True) == "出席"
    assert "签到出席 1 /" in page.find(id="attendance-summary").get_text()
    assert (await post_form(office, f"/invitations/{inv['id']}/remove", {})).status_code == 303
    assert not await Invitation.exists().where(Invitation.id == inv["id"])
    events = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "invitation") & (AuditEvent.entity_id == inv["id"])).order_by(AuditEvent.id)
    assert [e["action"] for e in events] == ["invite", "sign_in", "uninvite"]


async def test_concurrent_edits_conflict(as_user, app):
    from tests.conftest import login, make_client

    office = await as_user("office")
    meeting_id = await make_meeting()
    other = make_client(app)
    await login(other, "admin")
    first = await office.get(f"/meetings/{meeting_id}/edit")
    second = await other.get(f"/meetings/{meeting_id}/edit")
    fields = ("kind", "title", "date", "start_time", "end_time", "location", "presiding", "notes")
    form_a = {f: field_value(first, f) or "" for f in fields}
    form_b = {f: field_value(second, f) or "" for f in fields}
    version = html(first).find("input", attrs={"name": "version"})["value"]
    assert html(second).find("input", attrs={"name": "version"})["value"] == version
    assert (await post_form(office, f"/meetings/{meeting_id}/edit", {**form_a, "location": "甲会议室", "version": version})).status_code == 303
    response = await post_form(other, f"/meetings/{meeting_id}/edit", {**form_b, "location": "乙会议室", "version": version})
    assert response.status_code == 409
    assert "已被他人修改" in html(response).find(id="error-summary").get_text()
    assert field_value(response, "location") == "乙会议室"  # what the second person typed is kept
    assert (await Meeting.select(Meeting.location).where(Meeting.id == meeting_id).first())["location"] == "甲会议室"
    await other.aclose()


async def test_scope_of_meetings(as_user):
    meeting_id = await make_meeting(title=unique("兰山会议"))
    office_lz = await as_user("office_luozhuang")
    response = await office_lz.get(f"/meetings/{meeting_id}")
    assert response.status_code == 404
    assert "兰山会议" not in response.text
    assert (await send_notice(office_lz, meeting_id)).status_code == 404
    titles = [a.get_text() for a in html(await office_lz.get("/meetings?q=兰山会议")).select("table.meetings td a")]
    assert titles == []
    # the police unit is invited (member of 兰山街道) but sees the meeting only once notified
    unit = await as_user("unit_police")
    assert (await unit.get(f"/meetings/{meeting_id}")).status_code == 404
    await send_notice(await as_user("office"), meeting_id)
    page = html(await unit.get(f"/meetings/{meeting_id}"))
    assert [r["data-unit"] for r in page.select("table.invitations tr[data-unit]")] == ["兰山派出所"]
    street_lz = await as_user("street_luozhuang")
    assert (await street_lz.get(f"/meetings/{meeting_id}")).status_code == 404
    street = await as_user("street")
    assert (await street.get(f"/meetings/{meeting_id}")).status_code == 200
    assert html(await street.get(f"/meetings/{meeting_id}")).select("table.invitations tr[data-unit]") == []
    for role in ("street", "unit", "convenor"):
        client = await as_user(role)
        assert (await send_notice(client, meeting_id)).status_code == 403
        assert (await client.get("/meetings/new")).status_code == 403


async def test_list_and_calendar_filters(as_user):
    office = await as_user("office")
    title = unique("筛选会议")
    day = dt.date.today() + dt.timedelta(days=40)
    meeting_id = await make_meeting(title=title, date=day.isoformat(), kind="special")
    page = html(await office.get(f"/meetings?q={title}&kind=special"))
    assert [a.get_text() for a in page.select("table.meetings td a")] == [title]
    page = html(await office.get(f"/meetings?q={title}&kind=plenary"))
    assert page.select("table.meetings td a") == []
    page = html(await office.get(f"/meetings/calendar?date={day.isoformat()}"))
    assert any(a["href"] == f"/meetings/{meeting_id}" for a in page.select("a.cal-event"))
    page = html(await office.get(f"/meetings/calendar?view=week&date={day.isoformat()}"))
    assert any(a["href"] == f"/meetings/{meeting_id}" for a in page.select("a.cal-event"))
    for junk in ("?page=abc&sort=x&desc=7", "?start=2026-99-99&conference=999999999999", "?q=" + "%" * 300):
        assert (await office.get("/meetings" + junk)).status_code == 200
    assert (await office.get("/meetings/calendar?date=garbage&view=year")).status_code == 200


async def test_plenary_overview_prefills_next(as_user):
    office = await as_user("office")
    page = html(await office.get("/meetings/plenaries"))
    conf = await conference_id("银雀山街道城市基层党建联席会议")
    row = page.select_one(f'tr[data-conference="{conf}"]')
    assert row is not None
    link = row.find("a", class_="button")
    assert link is not None and "kind=plenary" in link["href"]
    form_page = await office.get(link["href"])
    assert field_value(form_page, "conference") == str(conf)
    assert field_value(form_page, "kind") == "plenary"
    assert field_value(form_page, "title").endswith("次全体会议")


async def test_meeting_pages_run_a_constant_number_of_queries(as_user):
    office = await as_user("office")

    async def queries(url: str) -> int:
        with count_queries() as seen:
            assert (await office.get(url)).status_code == 200
        return len(seen)

    before = {u: await queries(u) for u in ("/meetings", "/meetings/calendar", "/meetings/plenaries")}
    for _ in range(12):
        meeting_id = await make_meeting()
    before_detail = await queries(f"/meetings/{meeting_id}")
    after = {u: await queries(u) for u in before}
    assert after == before
    await make_meeting()
    assert await queries(f"/meetings/{meeting_id}") == before_detail


async def test_cancelling_gives_the_agenda_back(as_user):
    from conference.agenda import scheduling
    from conference.agenda import services as agenda
    from conference.agenda.tables import AgendaItem, AgendaSlot

    office = await as_user("office")
    meeting_id = await make_meeting()
    street = await actor("street")
    item_id = await agenda.create_item(street, {"title": unique("取消测试议题"), "description": "说明", "category": "other",
                                                "urgency": "normal"}, [], submit=True)
    await agenda.accept_item(await actor("office"), item_id)
    await scheduling.schedule_item(await actor("office"), item_id, {"meeting": str(meeting_id)})
    assert (await post_form(office, f"/meetings/{meeting_id}/cancel", {"reason": "改期"})).status_code == 303
    item = await AgendaItem.select().where(AgendaItem.id == item_id).first()
    assert item["status"] == "accepted" and item["meeting"] is None
    slot = await AgendaSlot.select().where(AgendaSlot.item == item_id).first()
    assert slot["meeting"] == meeting_id and slot["outcome"] == "not_discussed"
    # it can go on another meeting
    other = await make_meeting()
    await scheduling.schedule_item(await actor("office"), item_id, {"meeting": str(other)})


async def test_extreme_dates_in_filters_are_not_errors(as_user):
    office = await as_user("office")
    for url in ("/meetings?end=9999-12-31", "/meetings?start=0001-01-01", "/meetings/calendar?date=9999-12-20",
                "/meetings/calendar?date=0001-01-01&view=week", "/audit?end=9999-12-31", "/tasks?deadline_to=9999-12-31"):
        assert (await office.get(url)).status_code == 200, url
    from conference.accounts.services import issue_api_token

    token = await issue_api_token(None, (await actor("office")).id)
    response = await office.get("/api/meetings?end=9999-12-31&start=0001-01-01", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
