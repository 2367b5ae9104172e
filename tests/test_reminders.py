"""The reminder job (催办): each task is reminded once per rule per day, never twice — when the job
runs again the same day, and when two OS processes (`conference remind`) run it at the same moment
against the same database; a new day reminds again. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re

from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit
from conference.tasks import resolutions as task_resolutions
from conference.tasks import services as tasks
from conference.tasks.reminders import run_reminders
from conference.tasks.tables import Task
from conference.timefmt import today
from tests.browser import ROOT, conference_command
from tests.factories import actor, unique
from tests.test_tasks import ENFORCEMENT, MARKET, PLANNING, POLICE, held_meeting, new_task


async def overdue_tasks(day: dt.date) -> dict[str, list[int]]:
    """Tasks that `day` finds overdue (red), not acknowledged in time (unack) and due soon (yellow).
    The services stamp today's dates, so the deadlines are set directly."""
    meeting = await held_meeting()
    red = list((await new_task(MARKET, (POLICE, PLANNING, ENFORCEMENT), meeting=meeting)).values())
    unack = list((await new_task(POLICE, meeting=meeting)).values())
    yellow = list((await new_task(PLANNING, meeting=meeting)).values())
    await Task.update({Task.deadline: day - dt.timedelta(days=1)}).where(Task.id.is_in(red))
    await Task.update({Task.deadline: day + dt.timedelta(days=30), Task.ack_due: day - dt.timedelta(days=1)}).where(
        Task.id.is_in(unack))
    await Task.update({Task.deadline: tasks.workdays_after(day, 1), Task.ack_due: day}).where(Task.id.is_in(yellow))
    return {"red": red, "unack": unack, "yellow": yellow}


async def many_overdue_tasks(day: dt.date, resolutions: int) -> list[int]:
    """Every member unit on each of several resolutions, all overdue on `day`: enough reminders for
    two processes' insert loops to run at the same time."""
    meeting_id, item_id = await held_meeting()
    office = await actor("office")
    units = [str(r["id"]) for r in await MemberUnit.select(MemberUnit.id).where(MemberUnit.ended_on.is_null())]
    made: list[int] = []
    for _ in range(resolutions):
        resolution_id = await task_resolutions.adopt_resolution(office, meeting_id, {
            "item": str(item_id), "text": unique("催办并发"), "lead_unit": units[0], "deadline_mode": "date",
            "deadline": (today() + dt.timedelta(days=30)).isoformat()}, units[1:])
        made += [r["id"] for r in await Task.select(Task.id).where(Task.resolution == resolution_id)]
    await Task.update({Task.deadline: day - dt.timedelta(days=1)}).where(Task.id.is_in(made))
    return made


async def reminders(task_ids: list[int]) -> list[tuple[int, str, str]]:
    rows = await Notification.select(Notification.entity_id, Notification.event, Notification.dedupe_key).where(
        (Notification.entity == "task") & Notification.entity_id.is_in(task_ids) & Notification.event.like("reminder_%")
    ).order_by(Notification.id)
    return [(r["entity_id"], r["event"], r["dedupe_key"]) for r in rows]


def expected(made: dict[str, list[int]], day: dt.date) -> list[tuple[int, str, str]]:
    return sorted((task_id, f"reminder_{rule}", f"remind:{task_id}:{rule}:{day.isoformat()}")
                  for rule, ids in made.items() for task_id in ids)


async def test_running_twice_a_day_reminds_once_and_a_new_day_again(database_url):
    day = today()
    made = await overdue_tasks(day)
    ids = [t for group in made.values() for t in group]
    assert await reminders(ids) == []
    queued = await run_reminders(day)
    assert queued >= len(ids)
    assert sorted(await reminders(ids)) == expected(made, day)
    rows = await Notification.select(Notification.unit, Notification.subject, Notification.body).where(
        Notification.dedupe_key == f"remind:{made['red'][0]}:red:{day.isoformat()}")
    assert len(rows) == 1 and "已逾期" in rows[0]["subject"] and f"/tasks/{made['red'][0]}" in rows[0]["body"]

    # The same day again: nothing new at all.
    assert await run_reminders(day) == 0
    assert sorted(await reminders(ids)) == expected(made, day)

    # The next day: every task is reminded again, once.
    later = day + dt.timedelta(days=1)
    await run_reminders(later)
    await run_reminders(later)
    rows = await reminders(ids)
    assert len(rows) == 2 * len(ids)
    for task_id in ids:
        keys = [key for tid, _event, key in rows if tid == task_id]
        assert len(keys) == 2 and keys[0].endswith(day.isoformat()) and keys[1].endswith(later.isoformat())
    # A closed or cancelled task is not reminded.
    await Task.update({Task.status: "cancelled"}).where(Task.id == made["red"][0])
    await run_reminders(day + dt.timedelta(days=2))
    assert len([r for r in await reminders([made["red"][0]])]) == 2


async def test_two_processes_at_once_remind_exactly_once(database_url):
    # A day of its own, so that only these runs queue reminders for it.
    day = today() + dt.timedelta(days=20)
    made = await overdue_tasks(day)
    made["red"] += await many_overdue_tasks(day, 4)
    ids = [t for group in made.values() for t in group]
    env = {**os.environ, "DATABASE_URL": database_url, "REMINDER_INTERVAL": "0"}
    command = [conference_command(), "remind", "--date", day.isoformat()]

    async def run_all(count: int) -> list[int]:
        processes = [await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                          stderr=asyncio.subprocess.PIPE) for _ in range(count)]
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), timeout=120)
        counts = []
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err.decode()
            match = re.search(r"新排队催办 (\d+) 条。", out.decode())
            assert match, out.decode() + err.decode()
            counts.append(int(match.group(1)))
        return counts

    counts = await run_all(2)
    assert sorted(await reminders(ids)) == expected(made, day)
    # Between them the two processes queued each of the day's reminders exactly once.
    total = await Notification.count().where(Notification.dedupe_key.like(f"remind:%:{day.isoformat()}"))
    assert sum(counts) == total >= len(ids)
    # Once more from both: nothing new.
    assert await run_all(2) == [0, 0]
    assert sorted(await reminders(ids)) == expected(made, day)
