"""The meeting calendar (issue 16, deliverable 8) through HTTP: holidays (休) and make-up working
days (班) from the holiday table for every role; with the toggle (tasks=1) the deadlines of the
open tasks the viewer may see, exactly those of the viewer's task list; a constant query count."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conference.holidays.tables import HolidayDay
from conference.tasks.states import OPEN
from conference.tasks.tables import Task
from tests.conftest import html
from tests.factories import actor
from tests.querycount import count_queries

ROLES = ["office", "street", "convenor", "unit", "office_luozhuang"]
HOLIDAY_YEAR = 2035  # a year chinese-calendar does not know: the test enters its own days


@pytest.fixture
async def national_day() -> None:
    """国庆节 2035-10-01..07 off, Sunday 2035-09-30 worked, entered once through the service."""
    from conference.holidays import services

    if await HolidayDay.exists().where(HolidayDay.day == dt.date(HOLIDAY_YEAR, 10, 1)):
        return
    admin = await actor("admin")
    await services.add_days(admin, "holiday", {"name": "国庆节", "start": "2035-10-01", "end": "2035-10-07"})
    await services.add_days(admin, "workday", {"name": "国庆节", "day": "2035-09-30"})


def cell(page, day: str):
    return page.select_one(f'table.calendar td[data-day="{day}"]')


def task_ids(page) -> set[int]:
    return {int(m.group(1)) for a in page.select("a.cal-deadline")
            if (m := re.fullmatch(r"/tasks/(\d+)", a["href"]))}


@pytest.mark.parametrize("username", ROLES)
async def test_holidays_and_make_up_working_days_are_marked(as_user, national_day, username):
    client = await as_user(username)
    response = await client.get("/meetings/calendar?date=2035-10-01")
    assert response.status_code == 200
    page = html(response)
    holiday = cell(page, "2035-10-03")
    assert "holiday" in holiday["class"]
    assert holiday.select_one(".cal-mark").get_text(strip=True) == "休"
    assert holiday.select_one(".cal-holiday-name").get_text(strip=True) == "国庆节"
    plain = cell(page, "2035-10-09")
    assert "holiday" not in plain["class"] and plain.select_one(".cal-mark") is None
    assert page.select("a.cal-deadline") == []  # deadlines only when asked
    # the week view too, and the make-up working day (a Sunday) in the week before
    page = html(await client.get("/meetings/calendar?view=week&date=2035-10-02"))
    assert "holiday" in cell(page, "2035-10-07")["class"]
    page = html(await client.get("/meetings/calendar?view=week&date=2035-09-30"))
    workday = cell(page, "2035-09-30")
    assert "makeup-workday" in workday["class"]
    assert workday.select_one(".cal-mark").get_text(strip=True) == "班"
    assert workday.select_one(".cal-holiday-name").get_text(strip=True) == "国庆节调休"


@pytest.mark.parametrize("username", ROLES)
async def test_task_deadlines_follow_the_task_lists_scope(as_user, username):
    client = await as_user(username)
    rows = await Task.select(Task.deadline).where(Task.status.is_in(list(OPEN))).order_by(Task.deadline)
    months = sorted({r["deadline"].replace(day=1) for r in rows})
    assert months, "the demo data has open tasks"
    seen_any = False
    for month in months:
        url = f"/meetings/calendar?date={month.isoformat()}"
        page = html(await client.get(url))
        assert page.find(id="toggle-tasks")["href"].endswith("&tasks=1") and not page.select("a.cal-deadline")
        page = html(await client.get(url + "&tasks=1"))
        assert "&tasks=1" in page.select_one(".cal-nav a[rel=next]")["href"]  # the toggle stays on while paging
        assert page.find(id="toggle-tasks").get_text(strip=True) == "隐藏督办期限"
        shown = task_ids(page)
        # The calendar shows the month grid (Monday-first weeks): compare with the task list over those days.
        days = [td["data-day"] for td in page.select("table.calendar td[data-day]")]
        listing = html(await client.get(f"/tasks?status=open&deadline_from={days[0]}&deadline_to={days[-1]}&per_page=200"))
        listed = {int(a["href"].rsplit("/", 1)[1]) for a in listing.select("a.task-link")}
        assert shown == listed, (username, month)
        for task_id in shown:  # each on its deadline's day
            deadline = (await Task.select(Task.deadline).where(Task.id == task_id).first())["deadline"]
            assert cell(page, deadline.isoformat()).select_one(f'a.cal-deadline[href="/tasks/{task_id}"]') is not None
        seen_any |= bool(shown)
    assert seen_any or username == "office_luozhuang", username


async def test_overdue_deadlines_are_marked(as_user):
    office = await as_user("office")
    row = await Task.select(Task.id, Task.deadline).where(
        Task.status.is_in(list(OPEN)) & (Task.deadline < dt.date.today())).first()
    if row is None:
        pytest.skip("no overdue task in the demo data")
    page = html(await office.get(f"/meetings/calendar?date={row['deadline'].isoformat()}&tasks=1"))
    link = page.select_one(f'a.cal-deadline[href="/tasks/{row["id"]}"]')
    assert "alert-red" in link["class"] and "已逾期" in link.get_text()


async def test_the_calendar_runs_a_constant_number_of_queries(as_user, national_day):
    office = await as_user("office")

    async def queries(url: str) -> int:
        with count_queries() as seen:
            assert (await office.get(url)).status_code == 200
        return len(seen)

    rows = await Task.select(Task.deadline).where(Task.status.is_in(list(OPEN)))
    busiest = max({r["deadline"].replace(day=1) for r in rows},
                  key=lambda m: sum(1 for r in rows if r["deadline"].replace(day=1) == m))
    quiet = await queries("/meetings/calendar?date=2040-03-01&tasks=1")  # no holiday entered, no deadline
    assert await queries(f"/meetings/calendar?date={busiest.isoformat()}&tasks=1") == quiet
    assert await queries("/meetings/calendar?date=2035-10-01&tasks=1") == quiet
    # without the toggle no task is read: fewer queries, the same for every month
    without = await queries("/meetings/calendar?date=2040-03-01")
    assert without < quiet and await queries(f"/meetings/calendar?date={busiest.isoformat()}") == without
