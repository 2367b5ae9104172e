"""The office-maintained holiday calendar (conference.holidays): the page, the API, the import, the
cache every server process keeps, and deadlines across the 2026/2027 boundary: counted on weekdays
and provisional before 2027 is entered, recomputed, audited and notified after."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conference import workdays
from conference.accounts.services import issue_api_token
from conference.accounts.tables import User
from conference.audit.tables import AuditEvent
from conference.errors import ValidationFailed
from conference.holidays import services
from conference.holidays.tables import HolidayDay
from conference.meetings.tables import Meeting
from conference.notifications.tables import Notification
from conference.settings import get_settings
from conference.tasks.tables import Resolution, Task
from tests.conftest import field_error, field_value, html, make_client, post_form
from tests.test_tasks import actor, held_meeting, unit_id

D = dt.date
MARKET, POLICE = "兰山区市场监管局", "兰山派出所"


@pytest.fixture(autouse=True)
async def calendar(database_url: str) -> AsyncIterator[None]:
    await workdays.refresh(force=True)
    yield
    # Whatever a test entered beyond the seeded years goes again, so other tests see 2026 as the last.
    admin = await actor("admin")
    for row in await HolidayDay.select(HolidayDay.id).where(HolidayDay.year >= 2027):
        await services.delete_day(admin, row["id"])


async def api_client(app: Any, username: str) -> httpx.AsyncClient:
    row = await User.select(User.id).where(User.username == username).first()
    assert row is not None
    client = make_client(app)
    client.headers["Authorization"] = f"Bearer {await issue_api_token(None, row['id'])}"
    return client


def test_twenty_five_working_days_after_10_december_2026():
    before = workdays.Calendar(days={D(2026, 10, 1): False}, years=frozenset({2026}))
    # Fri 11, 14-18, 21-25, 28-31 Dec (15), Fri 1 Jan (16), 4-8 (21), 11-14 Jan (25): weekdays only.
    assert before.deadline(D(2026, 12, 10), 25) == (D(2027, 1, 14), True)
    after = workdays.Calendar(days={D(2027, 1, 1): False, D(2027, 1, 2): False, D(2027, 1, 3): False},
                              years=frozenset({2026, 2027}))
    assert after.deadline(D(2026, 12, 10), 25) == (D(2027, 1, 15), False)  # New Year's Day is off
    assert after.deadline(D(2026, 12, 10), 10) == (D(2026, 12, 24), False)


async def test_deadlines_across_the_2026_2027_boundary(as_user):
    office = await as_user("office")
    assert await HolidayDay.count().where(HolidayDay.year == 2027) == 0
    meeting_id, item_id = await held_meeting()
    # The meeting was on Thursday 10 December 2026.
    starts = dt.datetime(2026, 12, 10, 9, 0, tzinfo=get_settings().tz)
    await Meeting.update({Meeting.starts_at: starts}).where(Meeting.id == meeting_id)
    data = {"item": str(item_id), "text": "会后 25 个工作日内完成整治。", "lead_unit": str(await unit_id(MARKET)),
            "cooperating": [str(await unit_id(POLICE))], "deadline_mode": "workdays", "deadline_workdays": "25",
            "_csrf_token": office.cookies.get("csrftoken", "")}
    response = await office.post(f"/meetings/{meeting_id}/resolutions", data=data)
    assert response.status_code == 303, response.text
    resolution = await Resolution.select().where(Resolution.meeting == meeting_id).first()
    assert resolution is not None
    assert (resolution["deadline"], resolution["deadline_provisional"]) == (D(2027, 1, 14), True)
    tasks = await Task.select().where(Task.resolution == resolution["id"]).order_by(Task.id)
    assert [(t["deadline"], t["deadline_provisional"]) for t in tasks] == [(D(2027, 1, 14), True)] * 2
    page = html(await office.get(f"/tasks/{tasks[0]['id']}"))
    assert page.select_one("#task-deadline").get_text(strip=True).startswith("2027年1月14日（暂定）")
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.select_one(".resolution-deadline").get_text() == "2027年1月14日"
    assert page.select_one(".resolution-deadline + .provisional").get_text() == "（暂定）"
    listing = html(await office.get("/tasks?q=" + "会后 25 个工作日内完成整治"))
    assert "（暂定）" in listing.select_one("td.deadline").get_text()

    # The office enters 2027's New Year holiday: the deadline moves to Friday 15 January, is final,
    # the change is audited and each unit is told.
    last_notice = await Notification.select(Notification.id).order_by(Notification.id, ascending=False).first()
    response = await post_form(office, "/holidays/holidays", {"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/holidays?year=2027"
    resolution = await Resolution.select().where(Resolution.id == resolution["id"]).first()
    assert (resolution["deadline"], resolution["deadline_provisional"]) == (D(2027, 1, 15), False)
    tasks = await Task.select().where(Task.resolution == resolution["id"]).order_by(Task.id)
    assert [(t["deadline"], t["deadline_provisional"]) for t in tasks] == [(D(2027, 1, 15), False)] * 2
    for task in tasks:
        actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
            (AuditEvent.entity == "task") & (AuditEvent.entity_id == task["id"]))]
        assert "recompute_deadline" in actions
    notices = await Notification.select().where((Notification.id > last_notice["id"])
                                                & (Notification.event == "task_deadline_recomputed")
                                                & Notification.entity_id.is_in([t["id"] for t in tasks]))
    assert sorted(n["unit"] for n in notices) == sorted([await unit_id(MARKET), await unit_id(POLICE)])
    assert all("2027年1月14日调整为2027年1月15日" in n["body"] for n in notices)
    page = html(await office.get(f"/tasks/{tasks[0]['id']}"))
    assert page.select_one("#task-deadline").get_text(strip=True).startswith("2027年1月15日")
    assert "暂定" not in page.select_one("#task-deadline").get_text()
    holidays = html(await office.get("/holidays?year=2027"))
    assert len(holidays.select("table.holidays tr[data-id]")) == 3
    assert "已录入" in holidays.select_one("#year-status").get_text()


async def test_another_process_sees_the_change_on_its_next_refresh():
    admin = await actor("admin")
    stale = await workdays.refresh()
    assert workdays.is_workday(D(2031, 3, 3))  # a Monday, year not entered
    await services.add_days(admin, "holiday", {"name": "测试假日", "start": "2031-03-03"})
    workdays.set_current(stale)  # as in a worker that served none of this
    assert workdays.is_workday(D(2031, 3, 3))
    await workdays.refresh()  # what every request does first: one row read, then the days
    assert not workdays.is_workday(D(2031, 3, 3))
    assert workdays.current().is_entered(2031)


async def test_the_forms_answer_in_chinese_beside_the_field(as_user):
    office = await as_user("office")
    response = await post_form(office, "/holidays/holidays?year=2027", {"name": "春节", "start": "2027-02-13", "end": "2027-02-06"})
    assert response.status_code == 400
    assert field_error(response, "end") == "结束日期不能早于开始日期。"
    assert field_value(response, "name") == "春节" and field_value(response, "start") == "2027-02-13"
    assert [a["href"] for a in html(response).select("#error-summary a")] == ["#f-end"]
    response = await post_form(office, "/holidays/holidays", {"name": "", "start": ""})
    assert field_error(response, "name") == "请填写节日名称。"
    assert field_error(response, "start") == "请填写放假开始日期。"
    response = await post_form(office, "/holidays/holidays", {"name": "国庆", "start": "2026-09-30", "end": "2026-10-02"})
    assert response.status_code == 400
    assert field_error(response, "start") == "2026年10月1日已登记为放假（国庆节），请先删除后再登记。"
    response = await post_form(office, "/holidays/workdays", {"name": "春节", "day": "2027-02-08"})
    assert response.status_code == 400
    assert field_error(response, "day") == "2027年2月8日是工作日，调休上班日应为周六或周日。"
    page = html(response)
    assert page.select_one("#f-workday_name")["value"] == "春节"
    assert page.select_one("#f-name").get("value") == ""  # the other form keeps nothing
    assert [a["href"] for a in page.select("#error-summary a")] == ["#f-day"]
    response = await post_form(office, "/holidays/workdays", {"name": "春节", "day": "2027-02-07"})
    assert response.status_code == 303
    row = await HolidayDay.select().where(HolidayDay.day == D(2027, 2, 7)).first()
    assert row is not None and (row["kind"], row["name"], row["year"]) == ("workday", "春节", 2027)
    assert workdays.is_workday(D(2027, 2, 7))  # a Sunday worked
    response = await post_form(office, f"/holidays/{row['id']}/delete", {})
    assert response.status_code == 303
    assert not await HolidayDay.exists().where(HolidayDay.id == row["id"])
    events = await AuditEvent.select(AuditEvent.action).where((AuditEvent.entity == "holiday_day")
                                                              & (AuditEvent.entity_id == row["id"]))
    assert [e["action"] for e in events][-2:] == ["create", "delete"]  # (SQLite may reuse a deleted id)


@pytest.mark.parametrize("username", ["unit", "street", "convenor", "office_luozhuang"])
async def test_only_the_administrator_and_district_offices_edit(as_user, app, username):
    client = await as_user(username)
    page = await client.get("/holidays?year=2026")
    assert page.status_code == 200
    assert html(page).select_one("#holiday-form") is None
    assert "2026年10月1日" in page.text
    response = await post_form(client, "/holidays/holidays", {"name": "测试", "start": "2027-05-01"})
    assert response.status_code == 403
    seeded = await HolidayDay.select(HolidayDay.id).where(HolidayDay.day == D(2026, 10, 1)).first()
    assert (await post_form(client, f"/holidays/{seeded['id']}/delete", {})).status_code == 403
    assert await HolidayDay.count().where(HolidayDay.year == 2027) == 0
    api = await api_client(app, username)
    async with api:
        assert (await api.get("/api/holidays", params={"year": 2026})).status_code == 200
        response = await api.post("/api/holidays", json={"kind": "holiday", "name": "测试", "start": "2027-05-01"})
        assert response.status_code == 403
        assert (await api.delete(f"/api/holidays/{seeded['id']}")).status_code == 403


async def test_the_office_and_admin_see_the_forms(as_user):
    for username in ("office", "admin"):
        page = html(await (await as_user(username)).get("/holidays"))
        assert page.select_one("#holiday-form") is not None and page.select_one("#workday-form") is not None
        assert page.select_one('nav a[href="/holidays"]') is not None


async def test_api(app):
    api = await api_client(app, "office")
    async with api:
        response = await api.get("/api/holidays", params={"year": 2026})
        body = response.json()
        assert body["entered"] is True and body["year"] == 2026
        assert {"day": "2026-02-14", "kind": "workday", "name": "春节", "year": 2026}.items() <= next(
            d for d in body["days"] if d["day"] == "2026-02-14").items()
        assert (await api.get("/api/holidays", params={"year": 2027})).json() == {"year": 2027, "entered": False, "days": []}
        response = await api.post("/api/holidays", json={"kind": "holiday", "name": "元旦", "start": "2027-01-01", "end": "2027-01-03"})
        assert response.status_code == 201, response.text
        created = response.json()
        assert [d["day"] for d in created] == ["2027-01-01", "2027-01-02", "2027-01-03"]
        response = await api.post("/api/holidays", json={"kind": "holiday", "name": "元旦", "start": "2027-01-03"})
        assert response.status_code == 400
        assert response.json()["errors"] == {"start": "2027年1月3日已登记为放假（元旦），请先删除后再登记。"}
        response = await api.post("/api/holidays", json={"kind": "holiday", "start": "2027-13-01"})
        assert response.status_code == 400 and "开始日期" in response.json()["errors"]["start"]
        assert (await api.get("/api/holidays", params={"year": 1900})).status_code == 400
        assert (await api.delete(f"/api/holidays/{created[0]['id']}")).status_code == 204
        assert (await api.delete(f"/api/holidays/{created[0]['id']}")).status_code == 404


async def test_import_replaces_a_year_and_seed_fills_the_missing_days():
    text = "日期,类型,名称\n2027-01-01~2027-01-03,放假,元旦\n2027-02-06..2027-02-13,holiday,春节\n2027-02-14,上班,春节\n"
    entries = services.parse_csv(text)
    assert len(entries) == 3 + 8 + 1 and entries[-1] == (D(2027, 2, 14), "workday", "春节")
    assert await services.import_year(None, 2027, entries) == 12
    assert await services.import_year(None, 2027, entries[:3]) == 3  # replaces, does not add
    assert await HolidayDay.count().where(HolidayDay.year == 2027) == 3
    with pytest.raises(ValidationFailed) as caught:
        services.parse_csv("2027-02-30,放假,春节\n")
    assert caught.value.errors["file"] == "第1行的日期“2027-02-30”无效，请按 2027-01-01 的格式填写。"
    with pytest.raises(ValidationFailed) as caught:
        await services.import_year(None, 2028, entries)
    assert caught.value.errors["file"] == "2027年1月1日不属于2028年。"
    seeded = await HolidayDay.select().where(HolidayDay.day == D(2026, 5, 9)).first()
    await services.delete_day(None, seeded["id"])
    assert workdays.current().is_workday(D(2026, 5, 9)) is False  # a Saturday, no longer a make-up day
    assert await services.seed() == 1
    assert workdays.current().is_workday(D(2026, 5, 9)) is True
