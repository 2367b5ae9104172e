"""The reminder job (催办): once per task per rule per day, never twice.

Safe to run from cron any number of times a day and from several server processes at once:
each reminder is queued with the key remind:<task>:<rule>:<date>, and the outbox's unique key
makes the database keep exactly one of any concurrent inserts."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from conference.i18n import gettext as _
from conference.notifications.services import queue
from conference.settings import get_settings
from conference.tasks.services import ALERT_LABELS, alert
from conference.tasks.states import OPEN
from conference.tasks.tables import Task
from conference.timefmt import cn_date, today
from conference.workdays import refresh as refresh_calendar

log = logging.getLogger("conference.reminders")


async def run_reminders(day: dt.date | None = None) -> int:
    """Queues today's reminders; returns how many were new."""
    day = day or today()
    await refresh_calendar()  # alerts count working days on the office's holiday calendar
    rows = await Task.select(Task.id, Task.unit, Task.conference, Task.status, Task.deadline, Task.ack_due,
                             Task.resolution.text.as_alias("text")).where(Task.status.is_in(list(OPEN)))
    base = get_settings().base_url
    queued = 0
    for task in rows:
        rule = alert(task, day)
        if not rule:
            continue
        subject = _("【催办·{alert}】督办任务（期限{deadline}）").format(alert=ALERT_LABELS[rule], deadline=cn_date(task["deadline"]))
        body = _("议定事项：{text}\n请及时办理：{url}").format(text=task["text"], url=f"{base}/tasks/{task['id']}")
        new_id = await queue("reminder_" + rule, conference_id=task["conference"], unit_id=task["unit"], entity="task", entity_id=task["id"], subject=subject,
                             body=body, dedupe_key=f"remind:{task['id']}:{rule}:{day.isoformat()}")
        queued += new_id is not None
    return queued


async def reminder_loop(interval_seconds: float) -> None:
    """Run by the server in the background; a failure is logged and retried at the next tick."""
    while True:
        try:
            count = await run_reminders()
            if count:
                log.info("queued %d reminders", count)
        except Exception:  # the loop must survive a bad tick (database restart, ...)
            log.exception("reminder run failed")
        await asyncio.sleep(interval_seconds)
