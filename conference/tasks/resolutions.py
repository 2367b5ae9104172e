"""Resolutions (议定事项): adopting one after a held meeting creates one task per named unit (the
lead and the cooperating units), each sent its personal link; deadlines given in working days are
recomputed when the year's holiday calendar is entered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda.tables import AgendaItem, AgendaSlot
from conference.audit.services import record
from conference.errors import Conflict, NotFound
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.meetings.tables import Meeting
from conference.notifications.services import queue
from conference.records import get_or_404, insert_audited, update_audited
from conference.registry.tables import MemberUnit
from conference.settings import get_settings
from conference.tasks.forms import RESOLUTION_FORM
from conference.tasks.services import ACK_WORKDAYS, PROVISIONAL_NOTE, log_report, require_office, send_unit_link, workdays_after
from conference.tasks.states import OPEN
from conference.tasks.tables import Resolution, ResolutionUnit, Task
from conference.timefmt import cn_date, now, today
from conference.workdays import Calendar, deadline_after
from conference.workdays import refresh as refresh_calendar


async def resolution_values(data: Mapping[str, Any], cooperating: Sequence[str], meeting_day: dt.date,
                             form: FormReader | None = None) -> dict[str, Any]:
    """The resolution's fields, checked. Given the caller's `form`, the messages join those the caller
    found and the caller raises them all at once (`form.done()`); without it they are raised here."""
    own = form is None
    form = form or FormReader(data)
    spec = RESOLUTION_FORM
    text, lead, mode = (spec[name].read(form) for name in ("text", "lead_unit", "deadline_mode"))
    deadline: dt.date | None = None
    workdays: int | None = None
    provisional = False
    if mode == "date":
        deadline = replace(spec["deadline"], required=True).read(form)
        if deadline and deadline < meeting_day:
            form.fail("deadline", _("办结期限不能早于会议日期。"))
    elif mode == "workdays":
        workdays_field = spec["deadline_workdays"]
        raw = form.text(workdays_field.name, workdays_field.label, required=True, max_length=workdays_field.max_length or 4)
        if raw and (not raw.isdecimal() or not 1 <= int(raw) <= 365):
            form.fail("deadline_workdays", _("工作日数应为 1 到 365 之间的整数。"))
        elif raw:
            workdays = int(raw)
            # Beyond the years whose holidays are entered: weekdays only, marked 暂定 (provisional).
            deadline, provisional = deadline_after(meeting_day, workdays)
    units: list[int] = []
    for value in list(cooperating)[:50]:
        if not str(value).isdecimal() or len(str(value)) > 9:
            form.fail("cooperating", _("请从列表中选择配合单位。"))
            continue
        units.append(int(value))
    coop = sorted(set(units) - {lead})
    known = {r["id"] for r in await MemberUnit.select(MemberUnit.id).where(MemberUnit.id.is_in([*coop, lead or 0]))}
    if lead and lead not in known:
        form.fail("lead_unit", _("所选牵头单位不存在。"))
    if set(coop) - known:
        form.fail("cooperating", _("所选配合单位不存在。"))
    if own:
        form.done()
    return {"text": text, "lead_unit": lead, "cooperating": coop, "deadline": deadline, "deadline_workdays": workdays,
            "deadline_provisional": provisional}


async def adopt_resolution(actor: Actor, meeting_id: int, data: Mapping[str, Any], cooperating: Sequence[str]) -> int:
    """Records the resolution for an item discussed at a held meeting and assigns one task to the
    lead unit and one to each cooperating unit."""
    require_office(actor)
    await refresh_calendar()  # the holiday calendar as the office last left it
    form = FormReader(data)
    item_id = form.ref("item", _("议题"))
    async with db.atomic(Meeting, meeting_id):
        meeting = await get_or_404(Meeting, meeting_id, _("没有找到该会议，或您无权查看。"))
        visible = await visible_conference_ids(actor)
        if visible is not None and meeting["conference"] not in visible:
            raise NotFound(_("没有找到该会议，或您无权查看。"))
        if meeting["status"] not in ("held", "minutes_in_review"):
            raise Conflict(_("会议召开后、纪要印发前才能记录议定事项。"))
        if item_id is not None and not await AgendaSlot.exists().where(
                (AgendaSlot.meeting == meeting_id) & (AgendaSlot.item == item_id)):
            form.fail("item", _("该议题不在本次会议的议程上。"))
        meeting_day = meeting["starts_at"].astimezone(get_settings().tz).date()
        # Every field is checked before anything is reported: an empty form lists all its messages.
        values = await resolution_values(data, cooperating, meeting_day, form)
        form.done()
        item = await get_or_404(AgendaItem, item_id or 0)
        number = await Resolution.count().where(Resolution.meeting == meeting_id) + 1
        resolution_id = await insert_audited(actor, Resolution, "resolution", {
            "meeting": meeting_id, "item": item_id, "conference": meeting["conference"], "number": number,
            "text": values["text"], "lead_unit": values["lead_unit"], "deadline": values["deadline"],
            "deadline_workdays": values["deadline_workdays"], "deadline_provisional": values["deadline_provisional"],
            "adopted_by": actor.id, "adopted_at": now(),
        }, conference_id=meeting["conference"])
        assigned = [(values["lead_unit"], "lead")] + [(u, "cooperate") for u in values["cooperating"]]
        for unit_id, role in assigned:
            await ResolutionUnit.insert(ResolutionUnit(resolution=resolution_id, unit=unit_id, role=role))
            await assign_task(actor, resolution_id, meeting["conference"], item, unit_id, role, values)
        return resolution_id


async def assign_task(actor: Actor, resolution_id: int, conference_id: int, item: Mapping[str, Any], unit_id: int, role: str,
                      values: Mapping[str, Any]) -> int:
    """One task for a unit named in a resolution (on adoption, or added by a correction): audited,
    logged and announced to the unit through the outbox (task_assigned). Inside the caller's
    transaction."""
    day = today()
    rows = await Task.insert(Task(
        resolution=resolution_id, unit=unit_id, conference=conference_id, street=item["street"], role=role,
        status="assigned", assigned_at=now(), deadline=values["deadline"], ack_due=workdays_after(day, ACK_WORKDAYS),
        deadline_provisional=values["deadline_provisional"],
    )).returning(Task.id)
    task_id = int(rows[0]["id"])
    await record(actor, "assign", "task", task_id, after={"unit": unit_id, "role": role,
                                                          "deadline": values["deadline"].isoformat()},
                 conference_id=conference_id)
    await log_report(actor, task_id, "assigned", values["text"])
    task = await Task.select().where(Task.id == task_id).first()
    assert task is not None
    await send_unit_link(task, item["title"], values["text"])
    return task_id


async def recompute_workday_deadlines(actor: Actor | None, calendar: Calendar, since: dt.date) -> list[int]:
    """After the holiday calendar changed (on days from `since`): the deadlines set as "N working
    days after the meeting" that are provisional or reach `since`, recomputed on `calendar`, for
    resolutions that still have open tasks. The resolution and its open tasks still on the
    resolution's deadline (not extended) take the new date and flag, audited; each unit whose
    deadline moved is told through the outbox. Runs inside the caller's transaction; returns the
    ids of the tasks whose deadline moved."""
    rows = await Resolution.select(
        *Resolution.all_columns(), Resolution.meeting.starts_at.as_alias("meeting_starts_at"),
        Resolution.item.title.as_alias("item_title"),
    ).where(Resolution.deadline_workdays.is_not_null()
            & ((Resolution.deadline_provisional == True) | (Resolution.deadline >= since)))  # noqa: E712 - SQL
    moved: list[int] = []
    tz = get_settings().tz
    for resolution in rows:
        meeting_day = resolution["meeting_starts_at"].astimezone(tz).date()
        new, provisional = calendar.deadline(meeting_day, int(resolution["deadline_workdays"]))
        old = resolution["deadline"]
        if (new, provisional) == (old, resolution["deadline_provisional"]):
            continue
        tasks = await Task.select().where((Task.resolution == resolution["id"]) & Task.status.is_in(list(OPEN)))
        if not tasks:
            continue
        values = {"deadline": new, "deadline_provisional": provisional}
        await update_audited(actor, Resolution, "resolution", resolution, values, expected_version=None,
                             action="recompute_deadline", conference_id=resolution["conference"])
        for task in tasks:
            if task["deadline"] != old:  # extended: the approved date stands
                continue
            await update_audited(actor, Task, "task", task, values, expected_version=None, action="recompute_deadline",
                                 conference_id=task["conference"])
            if new == old:
                continue
            text = _("节假日安排已录入，办结期限（会后{n}个工作日）由{old}调整为{new}。").format(
                n=resolution["deadline_workdays"], old=cn_date(old), new=cn_date(new) + (PROVISIONAL_NOTE if provisional else ""))
            await log_report(actor, task["id"], "deadline_recomputed", text)
            await queue("task_deadline_recomputed", conference_id=task["conference"], unit_id=task["unit"], entity="task",
                        entity_id=task["id"], subject=_("【督办任务】办结期限调整：{title}").format(title=resolution["item_title"]),
                        body=text + "\n" + f"{get_settings().base_url}/tasks/{task['id']}")
            moved.append(int(task["id"]))
    return moved
