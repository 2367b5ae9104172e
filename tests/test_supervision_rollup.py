"""The supervision rollup (task_rollup, kept by triggers on task): after random task inserts, changes
and deletions, the dashboard's figures read from the rollup equal the figures recomputed by hand from
the tasks (the rules of conference.supervision.rates, in Python), and equal the statements over
`task`, for periods with whole and partial months and several "today"s; the alert counts likewise."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import pytest

from conference.supervision import alerts as alert_lists
from conference.supervision import views
from conference.supervision.rates import OPEN_STATES, Period, months_ending
from conference.tasks.tables import Task
from tests.test_supervision import SH, Dataset, build_dataset, make_task

RATED = ("satisfied", "basically_satisfied")
PERIODS = [Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31)), Period(dt.date(2024, 2, 15), dt.date(2024, 11, 10)),
           Period(dt.date(2024, 3, 1), dt.date(2024, 3, 31)), Period(dt.date(2024, 4, 3), dt.date(2024, 4, 20)),
           Period(dt.date(2023, 12, 20), dt.date(2025, 2, 2))]
DAYS = [dt.date(2024, 1, 1), dt.date(2024, 3, 1), dt.date(2024, 4, 12), dt.date(2024, 9, 30), dt.date(2025, 6, 1)]
STATES = (*OPEN_STATES, "closed", "cancelled")


def _moment(rnd: random.Random, first: dt.date, span_days: int) -> dt.datetime:
    """A local time, often in the hour either side of midnight (the local-day boundaries)."""
    day = first + dt.timedelta(days=rnd.randrange(span_days))
    hour, minute = rnd.choice([(0, 20), (23, 40), (7, 59), (15, 59), (16, 1), (rnd.randrange(24), rnd.randrange(60))])
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


def _random_values(rnd: random.Random, ds: Dataset, streets: list[int | None]) -> dict[str, Any]:
    assigned = _moment(rnd, dt.date(2023, 11, 1), 420)
    day = assigned.date()
    ack_due = day + dt.timedelta(days=rnd.choice([0, 1, 2, 3, 5]))
    deadline = day + dt.timedelta(days=rnd.choice([-1, 5, 20, 40, 90]))
    status = rnd.choice(STATES)
    acknowledged = closed = rated = None
    rating = ""
    if status != "assigned" and rnd.random() < 0.9:
        acknowledged = _moment(rnd, ack_due - dt.timedelta(days=2), 4)
    if status == "closed" or rnd.random() < 0.1:  # a reopened task keeps its closed_at
        closed = _moment(rnd, deadline - dt.timedelta(days=3), 6)
        if rnd.random() < 0.7:
            rating = rnd.choice([*RATED, "dissatisfied"])
            rated = closed + dt.timedelta(days=rnd.randrange(3), hours=rnd.randrange(20))
    return {"unit": rnd.choice([ds.dept, ds.agency]), "street": rnd.choice(streets), "status": status, "assigned_at": assigned,
            "ack_due": ack_due, "deadline": deadline, "acknowledged_at": acknowledged, "closed_at": closed,
            "rating": rating, "rated_at": rated}


def _local(value: dt.datetime | None) -> dt.date | None:
    return None if value is None else value.astimezone(SH).date()


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), SH)


def by_hand(tasks: list[dict[str, Any]], period: Period, group: str, day: dt.date) -> dict[Any, dict[str, dict[str, int]]]:
    """The rules of conference.supervision.rates, task by task."""
    figures: dict[Any, dict[str, dict[str, int]]] = {}
    start, end = period.start, period.end

    def add(task: dict[str, Any], part: str, measure: str, value: int = 1) -> None:
        key = task[{"unit": "unit", "street": "street", "conference": "conference"}[group]]
        entry = figures.setdefault(key, {"hits": defaultdict(int), "totals": defaultdict(int), "counts": defaultdict(int)})
        entry[part][measure] += value

    for t in tasks:
        if t["status"] == "cancelled":
            continue
        closed = t["status"] == "closed"
        if start <= _local(t["assigned_at"]) <= end:
            add(t, "counts", "assigned")
        in_time = t["acknowledged_at"] is not None and t["acknowledged_at"] < _end_of(t["ack_due"])
        if in_time and start <= _local(t["acknowledged_at"]) <= end:
            add(t, "totals", "response")
            add(t, "hits", "response")
        if not in_time and start <= t["ack_due"] <= end and t["ack_due"] < day:
            add(t, "totals", "response")
        if start <= t["deadline"] <= end and (t["deadline"] < day or closed):
            for measure in ("resolution", "on_time"):
                add(t, "totals", measure)
            add(t, "hits", "resolution", int(closed))
            add(t, "hits", "on_time", int(closed and t["closed_at"] is not None and t["closed_at"] < _end_of(t["deadline"])))
        if t["closed_at"] is not None and start <= _local(t["closed_at"]) <= end:
            add(t, "counts", "closed", int(closed))
        if t["rating"] and t["rated_at"] is not None and start <= _local(t["rated_at"]) <= end:
            add(t, "totals", "satisfaction")
            add(t, "hits", "satisfaction", int(t["rating"] in RATED))
    return {k: {part: {m: n for m, n in v[part].items() if n} for part in v} for k, v in figures.items()}


def shown(rows: list[dict[str, Any]]) -> dict[Any, dict[str, dict[str, int]]]:
    return {r["key"]: {part: {m: n for m, n in r[part].items() if n} for part in ("hits", "totals", "counts")} for r in rows}


def alert_counts_by_hand(tasks: list[dict[str, Any]], day: dt.date) -> dict[str, int]:
    until = alert_lists.yellow_until(day)
    live = [t for t in tasks if t["status"] in OPEN_STATES]
    unack = [t for t in live if t["status"] == "assigned" and t["ack_due"] < day]
    return {"open_total": len(live), "overdue_total": sum(t["deadline"] < day for t in live),
            "unack_total": sum(t["deadline"] >= day for t in unack),
            "yellow_total": sum(day <= t["deadline"] < until and t not in unack for t in live)}


async def _tasks(ds: Dataset) -> list[dict[str, Any]]:
    rows = await Task.select().where(Task.conference == ds.conference)
    for row in rows:  # dates as dates (SQLite hands some back as text)
        for name in ("ack_due", "deadline"):
            if isinstance(row[name], str):
                row[name] = dt.date.fromisoformat(row[name])
    return rows


@pytest.fixture(scope="module")
async def changed(database_url: str) -> Dataset:
    """A conference of its own with 80 random tasks, then 120 random changes and 10 deletions."""
    rnd = random.Random(14)
    ds = await build_dataset()
    streets: list[int | None] = [ds.street, None]
    for i in range(80):
        values = _random_values(rnd, ds, streets)
        await make_task(ds, f"X{i}", values["unit"], rnd.choice(["R1", "R2", "R3"]), assigned=values["assigned_at"],
                        ack_due=values["ack_due"], deadline=values["deadline"], status=values["status"],
                        acknowledged=values["acknowledged_at"], closed=values["closed_at"], rating=values["rating"],
                        rated=values["rated_at"], street=values["street"] is not None)
    ids = list(ds.tasks.values())
    for _ in range(120):
        fresh = _random_values(rnd, ds, streets)
        names = rnd.sample(sorted(fresh), rnd.randint(1, 4))
        await Task.update({getattr(Task, n): fresh[n] for n in names}).where(Task.id == rnd.choice(ids))
    for task_id in rnd.sample(ids, 10):
        await Task.delete().where(Task.id == task_id)
    return ds


@pytest.mark.parametrize("group", ["unit", "street", "conference"])
async def test_rollup_figures_equal_hand_computed_and_task_statements(changed, group):
    tasks = await _tasks(changed)
    scope = {changed.conference}
    compared = 0
    for period in PERIODS:
        for day in DAYS:
            fast = await views.rate_rows(scope, period, group, day)
            expected = by_hand(tasks, period, group, day)
            assert shown(fast) == expected, (period, day)
            assert fast == await views.rate_rows(scope, period, group, day, from_rollup=False), (period, day)
            compared += sum(sum(v["totals"].values()) for v in expected.values())
    assert compared > 200  # the data set is not empty where it is compared


async def test_rollup_trend_assessment_and_alerts(changed):
    tasks = await _tasks(changed)
    scope = {changed.conference}
    for day in DAYS:
        months = months_ending(day)
        assert await views.trend(scope, months, day) == await views.trend(scope, months, day, from_rollup=False)
        for year in (2024, 2025):
            assert await views.assessment_rows(scope, year, day) == await views.assessment_rows(scope, year, day, from_rollup=False)
        fast = await alert_lists.alerts(scope, day)
        slow = await alert_lists.alerts(scope, day, from_rollup=False)
        assert fast == slow
        assert {k: fast[k] for k in ("open_total", "overdue_total", "unack_total", "yellow_total")} == \
            alert_counts_by_hand(tasks, day)


async def test_rollup_over_the_whole_database(changed):
    """Every conference at once (the demo data, back-filled by the migration, and every other test's
    tasks, kept by the triggers): the same figures both ways."""
    for group in ("unit", "street", "conference"):
        for period, day in ((PERIODS[0], DAYS[3]), (PERIODS[4], DAYS[4])):
            assert await views.rate_rows(None, period, group, day) == await views.rate_rows(None, period, group, day, from_rollup=False)
    today = dt.date.today()
    assert await alert_lists.alerts(None, today) == await alert_lists.alerts(None, today, from_rollup=False)
