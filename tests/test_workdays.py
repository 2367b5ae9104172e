"""Working days as Chinese offices count them (conference.workdays): weekends and official holidays
off, make-up working days (调休) on, across the 2026 Spring Festival and the 2025/2026 National Day
holidays; a date beyond the entered years counts weekdays only and is provisional, also on the
resolution form.

The calendar is the holiday_day table, seeded from chinese_calendar; the holiday facts are first
checked against chinese_calendar itself, so that a wrong expectation here cannot pass unnoticed."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from conference.tasks import services as tasks
from conference.tasks.tables import Resolution
from conference.workdays import add_workdays, deadline_after, is_workday, last_known_year, refresh, workdays_between
from tests import conftest
from tests.conftest import post_form

D = dt.date

# (first day off, last day off, make-up working days) as published by the State Council.
SPRING_FESTIVAL_2026 = (D(2026, 2, 15), D(2026, 2, 23), [D(2026, 2, 14), D(2026, 2, 28)])
NATIONAL_DAY_2026 = (D(2026, 10, 1), D(2026, 10, 7), [D(2026, 9, 20), D(2026, 10, 10)])
NATIONAL_DAY_2025 = (D(2025, 10, 1), D(2025, 10, 8), [D(2025, 9, 28), D(2025, 10, 11)])


@pytest.fixture(autouse=True)
async def calendar(database_url):
    """The holiday table of the test database (seeded from chinese-calendar by the migration)."""
    await refresh(force=True)


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


@pytest.mark.parametrize(("holiday", "name"), [(SPRING_FESTIVAL_2026, "Spring Festival"), (NATIONAL_DAY_2026, "National Day"),
                                               (NATIONAL_DAY_2025, "National Day")])
def test_the_calendar_facts_relied_on(holiday, name):
    first, last, make_up = holiday
    for day in days(first, last):
        # 2025: Mid-Autumn (6 Oct) fell inside the National Day break and is named so.
        assert chinese_calendar.get_holiday_detail(day) in ((True, name), (True, "Mid-autumn Festival")), day
    for day in make_up:
        assert day.weekday() >= 5, day  # a weekend day ...
        assert chinese_calendar.get_holiday_detail(day) == (False, name), day  # ... worked in exchange
    assert chinese_calendar.get_holiday_detail(first - dt.timedelta(days=1))[0] is False
    assert chinese_calendar.get_holiday_detail(last + dt.timedelta(days=1)) == (False, None)


@pytest.mark.parametrize("holiday", [SPRING_FESTIVAL_2026, NATIONAL_DAY_2026, NATIONAL_DAY_2025])
def test_is_workday_skips_holidays_and_counts_make_up_days(holiday):
    first, last, make_up = holiday
    assert not any(is_workday(day) for day in days(first, last))
    assert all(is_workday(day) for day in make_up)
    assert is_workday(last + dt.timedelta(days=1))


def test_spring_festival_2026():
    # Fri 13 Feb -> Sat 14 Feb is a make-up working day, then nine days off until Mon 23 Feb.
    assert D(2026, 2, 14).weekday() == 5 and D(2026, 2, 28).weekday() == 5
    assert add_workdays(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert add_workdays(D(2026, 2, 13), 2) == D(2026, 2, 24)
    assert add_workdays(D(2026, 2, 14), 1) == D(2026, 2, 24)
    assert add_workdays(D(2026, 2, 15), 1) == D(2026, 2, 24)  # from inside the holiday
    # 24-27 Feb (Tue-Fri) and the make-up Saturday 28 Feb; Sunday 1 March is off.
    assert add_workdays(D(2026, 2, 13), 6) == D(2026, 2, 28)
    assert add_workdays(D(2026, 2, 13), 7) == D(2026, 3, 2)
    assert workdays_between(D(2026, 2, 13), D(2026, 2, 28)) == 6
    assert workdays_between(D(2026, 2, 14), D(2026, 2, 23)) == 0
    assert workdays_between(D(2026, 2, 13), D(2026, 3, 1)) == 6
    # 10 working days from the Friday before: without the holiday this would be 27 Feb.
    assert add_workdays(D(2026, 2, 13), 10) == D(2026, 3, 5)


def test_national_day_2026():
    assert D(2026, 9, 20).weekday() == 6 and D(2026, 10, 10).weekday() == 5
    assert add_workdays(D(2026, 9, 18), 1) == D(2026, 9, 20)  # Sunday worked in exchange
    assert add_workdays(D(2026, 9, 19), 1) == D(2026, 9, 20)
    assert add_workdays(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert add_workdays(D(2026, 9, 30), 3) == D(2026, 10, 10)  # the make-up Saturday
    assert add_workdays(D(2026, 9, 30), 4) == D(2026, 10, 12)
    assert workdays_between(D(2026, 9, 30), D(2026, 10, 11)) == 3
    # Sun 20 (make-up), 21-24, not Fri 25 (Mid-Autumn Festival, off 25-27 Sep), 28-30.
    assert workdays_between(D(2026, 9, 18), D(2026, 9, 30)) == 8
    assert chinese_calendar.get_holiday_detail(D(2026, 9, 25)) == (True, "Mid-autumn Festival")


def test_national_day_2025():
    assert D(2025, 9, 28).weekday() == 6 and D(2025, 10, 11).weekday() == 5
    assert add_workdays(D(2025, 9, 26), 1) == D(2025, 9, 28)
    assert add_workdays(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert add_workdays(D(2025, 9, 30), 3) == D(2025, 10, 11)
    assert add_workdays(D(2025, 9, 30), 4) == D(2025, 10, 13)
    assert workdays_between(D(2025, 9, 30), D(2025, 10, 12)) == 3


def test_ordinary_weeks_and_edge_cases():
    assert add_workdays(D(2026, 3, 6), 1) == D(2026, 3, 9)  # Friday -> Monday
    assert add_workdays(D(2026, 3, 7), 5) == D(2026, 3, 13)  # from a Saturday
    assert workdays_between(D(2026, 3, 9), D(2026, 3, 9)) == 0
    assert workdays_between(D(2026, 3, 13), D(2026, 3, 9)) == 0  # end before start
    for n in range(1, 30):
        assert workdays_between(D(2026, 9, 1), add_workdays(D(2026, 9, 1), n)) == n
    with pytest.raises(ValueError):
        add_workdays(D(2026, 3, 6), 0)


async def test_a_date_beyond_the_entered_years_counts_weekdays_and_is_provisional():
    last = last_known_year()
    assert last is not None and last >= 2026
    beyond = last + 1
    # No day of the next year is entered: weekends off, nothing refused.
    assert is_workday(D(beyond, 1, 1)) is (D(beyond, 1, 1).weekday() < 5)
    end, provisional = deadline_after(D(last, 12, 30), 5)
    assert provisional and end.year == beyond and end.weekday() < 5
    assert workdays_between(D(last, 12, 1), D(last, 12, 31)) > 15
    assert deadline_after(D(last, 11, 2), 3)[1] is False  # within the entered years: final
    # The system's own dates (acknowledgement due) and alerts use the same rule.
    assert tasks.workdays_after(D(last, 12, 30), 3).weekday() < 5
    assert tasks.alert({"status": "in_progress", "deadline": D(beyond, 3, 1), "ack_due": D(last, 12, 31)}, D(last, 12, 30)) == ""


async def test_a_working_day_deadline_beyond_the_entered_years_is_accepted_as_provisional(as_user):
    from tests.test_tasks import held_meeting, meeting_day, unit_id

    office = await as_user("office")
    meeting_id, item_id = await held_meeting()
    day = await meeting_day(meeting_id)
    expected, provisional = deadline_after(day, 365)  # well over a year: beyond any entered schedule
    assert provisional
    form = {"item": str(item_id), "text": "由规划局牵头论证停车场选址。", "lead_unit": str(await unit_id("兰山区自然资源和规划局")),
            "deadline_mode": "workdays", "deadline_workdays": "365"}
    response = await post_form(office, f"/meetings/{meeting_id}/resolutions", form)
    assert response.status_code == 303, response.text
    row = await Resolution.select().where(Resolution.meeting == meeting_id).first()
    assert row is not None
    assert (row["deadline"], row["deadline_provisional"], row["deadline_workdays"]) == (expected, True, 365)
    page = conftest.html(await office.get(f"/meetings/{meeting_id}"))
    assert page.select_one(".resolution-deadline + .provisional").get_text() == "（暂定）"
