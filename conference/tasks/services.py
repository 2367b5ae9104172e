"""Supervision (督办) rules: adopting a resolution creates one task per named unit; each task goes
assigned → acknowledged (签收) → in_progress → reported_done (办结) → closed (销号), may be
returned for rework, extended, cancelled, rated by the street, and reopened after a
dissatisfied rating. Every change is audited and announced through the outbox."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda.attachments import check_attachment
from conference.agenda.tables import AgendaItem, AgendaSlot
from conference.audit.services import record
from conference.errors import Conflict, Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader, safe_filename
from conference.i18n import gettext as _
from conference.meetings.tables import Meeting
from conference.notifications.services import queue
from conference.records import get_or_404, insert_audited, update_audited
from conference.registry.tables import MemberUnit
from conference.settings import get_settings
from conference.tasks import tokens
from conference.tasks.states import OPEN, RATING_LABELS, ROLE_LABELS, STATUS_LABELS, WORKING
from conference.tasks.tables import Resolution, ResolutionUnit, Task, TaskAttachment, TaskReport
from conference.tasks.visibility import visible_tasks
from conference.timefmt import cn_date, now, today
from conference.visibility import visible_row
from conference.workdays import Calendar, add_workdays, deadline_after, is_workday
from conference.workdays import refresh as refresh_calendar

TASK_NOT_FOUND = _("没有找到该任务，或您无权查看。")
ACK_WORKDAYS = 2
# After a provisional deadline in messages: counted on weekdays only, the year's holidays not entered yet.
PROVISIONAL_NOTE = _("（暂定：该年度节假日安排尚未录入，按周一至周五计算，录入后自动重算）")


def _wrong_state(status: str, doing: str) -> Conflict:
    return Conflict(_("任务当前状态为“{state}”，不能{doing}。").format(state=STATUS_LABELS.get(status, status), doing=doing))


def workdays_after(start: dt.date, n: int) -> dt.date:
    """For the system's own dates (acknowledgement due): beyond the entered holiday calendar
    weekends alone are skipped (conference.workdays)."""
    return add_workdays(start, n)


# ---------------------------------------------------------------- alerts


def alert(task: Mapping[str, Any], day: dt.date | None = None) -> str:
    """red: overdue; yellow: due within 3 working days; unack: not acknowledged within 2 working
    days of assignment; "" otherwise. Closed and cancelled tasks raise no alert."""
    day = day or today()
    if task["status"] not in OPEN:
        return ""
    if task["deadline"] < day:
        return "red"
    if task["status"] == "assigned" and task["ack_due"] < day:
        return "unack"
    remaining = sum(1 for i in range(1, (task["deadline"] - day).days + 1) if is_workday(day + dt.timedelta(days=i)))
    if remaining <= get_settings().supervision_yellow_workdays:  # SUPERVISION_YELLOW_WORKDAYS
        return "yellow"
    return ""


ALERT_LABELS = {"red": _("已逾期"), "yellow": _("即将到期"), "unack": _("超时未签收"), "": ""}


# ---------------------------------------------------------------- access


async def task_for(actor: Actor, task_id: int) -> dict[str, Any]:
    """The task if the actor may see it (visibility.visible_tasks, the rule of the lists); else 404."""
    return await visible_row(Task, task_id, await visible_tasks(actor), TASK_NOT_FOUND)


def _office(actor: Actor) -> None:
    if actor.role not in ("admin", "office"):
        raise Forbidden(_("只有联席会议办公室可以执行此操作。"))


def _own_unit(actor: Actor, task: Mapping[str, Any]) -> None:
    if actor.role != "unit" or actor.unit_id != task["unit"]:
        raise Forbidden(_("只有承办单位可以执行此操作。"))


async def _log(actor: Actor | None, task_id: int, kind: str, text: str = "") -> int:
    rows = await TaskReport.insert(TaskReport(task=task_id, kind=kind, text=text, author=actor.account_id if actor else None,
                                              author_name=actor.label if actor else "system",
                                              created_at=now())).returning(TaskReport.id)
    return int(rows[0]["id"])


async def _change(actor: Actor, task: Mapping[str, Any], values: dict[str, Any], action: str, text: str = "",
                  notify_unit: str | None = None, notify_street: str | None = None) -> None:
    await update_audited(actor, Task, "task", task, values, expected_version=None, action=action,
                         conference_id=task["conference"])
    await _log(actor, task["id"], action, text)
    link = f"{get_settings().base_url}/tasks/{task['id']}"
    if notify_unit:
        await queue("task_" + action, conference_id=task["conference"], unit_id=task["unit"], entity="task", entity_id=task["id"],
                    subject=notify_unit, body=(text + "\n" if text else "") + link)
    if notify_street and task["street"] is not None:
        await queue("task_" + action, conference_id=task["conference"], street_id=task["street"], entity="task", entity_id=task["id"],
                    subject=notify_street, body=(text + "\n" if text else "") + link)


# ---------------------------------------------------------------- resolutions


async def _resolution_values(data: Mapping[str, Any], cooperating: Sequence[str], meeting_day: dt.date,
                             form: FormReader | None = None) -> dict[str, Any]:
    """The resolution's fields, checked. Given the caller's `form`, the messages join those the caller
    found and the caller raises them all at once (`form.done()`); without it they are raised here."""
    own = form is None
    form = form or FormReader(data)
    text = form.text("text", _("议定事项内容"), required=True, max_length=2000)
    lead = form.ref("lead_unit", _("牵头单位"))
    mode = form.choice("deadline_mode", _("期限方式"), {"date": _("指定日期"), "workdays": _("工作日")})
    deadline: dt.date | None = None
    workdays: int | None = None
    provisional = False
    if mode == "date":
        deadline = form.date("deadline", _("办结期限"), required=True)
        if deadline and deadline < meeting_day:
            form.fail("deadline", _("办结期限不能早于会议日期。"))
    elif mode == "workdays":
        raw = form.text("deadline_workdays", _("工作日数"), required=True, max_length=4)
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
    _office(actor)
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
        values = await _resolution_values(data, cooperating, meeting_day, form)
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
    await _log(actor, task_id, "assigned", values["text"])
    task = await Task.select().where(Task.id == task_id).first()
    assert task is not None
    await send_unit_link(task, item["title"], values["text"])
    return task_id


async def send_unit_link(task: Mapping[str, Any], title: str, resolution_text: str, *, event: str = "task_assigned",
                         intro: str = "") -> None:
    """The task e-mail to the unit's liaison with a new personal link (conference.tasks.links: sign,
    report with files, ask for an extension, no password); an older link of the unit stops working.
    Inside the caller's transaction."""
    token = await tokens.issue(task["id"], tokens.UNIT)
    body = (intro + "\n" if intro else "") + _(
        "议定事项：{text}\n承办角色：{role}\n办结期限：{deadline}\n请在 {ack} 前签收。\n"
        "用以下专用链接可直接签收、报送进展（可附材料）、报办结或申请延期，无需登录；"
        "链接仅用于本任务，请勿转发：{url}\n已开通账号的单位也可登录系统办理：{page}").format(
        text=resolution_text, role=ROLE_LABELS.get(task["role"], task["role"]),
        deadline=cn_date(task["deadline"]) + (PROVISIONAL_NOTE if task["deadline_provisional"] else ""),
        ack=cn_date(task["ack_due"]), url=tokens.url(task["id"], token),
        page=f"{get_settings().base_url}/tasks/{task['id']}")
    await queue(event, conference_id=task["conference"], unit_id=task["unit"], entity="task", entity_id=task["id"],
                subject=_("【督办任务】{title}").format(title=title), body=body)


async def send_rating_link(task: Mapping[str, Any], title: str, unit_name: str, *, event: str = "task_closed") -> None:
    """The street's request to rate a closed task, with a new personal rating link (no password)."""
    if task["street"] is None:
        return
    token = await tokens.issue(task["id"], tokens.STREET)
    body = _("{unit}承办的督办任务“{title}”已核实销号，请评价办理结果（满意、基本满意或不满意）。\n"
             "评价链接（无需登录，仅用于本任务）：{url}").format(unit=unit_name, title=title, url=tokens.url(task["id"], token))
    await queue(event, conference_id=task["conference"], street_id=task["street"], entity="task", entity_id=task["id"],
                subject=_("【请评价】{unit}：{title}").format(unit=unit_name, title=title), body=body)


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
            await _log(actor, task["id"], "deadline_recomputed", text)
            await queue("task_deadline_recomputed", conference_id=task["conference"], unit_id=task["unit"], entity="task",
                        entity_id=task["id"], subject=_("【督办任务】办结期限调整：{title}").format(title=resolution["item_title"]),
                        body=text + "\n" + f"{get_settings().base_url}/tasks/{task['id']}")
            moved.append(int(task["id"]))
    return moved


# ---------------------------------------------------------------- the unit's side


async def acknowledge(actor: Actor, task_id: int) -> None:
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        _own_unit(actor, task)
        if task["status"] != "assigned":
            raise _wrong_state(task["status"], _("签收"))
        await _change(actor, task, {"status": "acknowledged", "acknowledged_at": now()}, "acknowledged")


async def _attach(report_id: int, task_id: int, files: Sequence[tuple[str, bytes]]) -> None:
    for filename, content in files[:10]:
        content_type = check_attachment(filename, content)
        await TaskAttachment.insert(TaskAttachment(
            report=report_id, task=task_id, filename=safe_filename(filename),
            content_type=content_type, size=len(content), sha256=hashlib.sha256(content).hexdigest(), data=content,
            created_at=now()))


async def _report(actor: Actor, task_id: int, text: str, files: Sequence[tuple[str, bytes]], *, kind: str,
                  doing: str, values: dict[str, Any]) -> None:
    """A dated report by the unit (progress or completion) with its evidence files."""
    for filename, content in files:
        check_attachment(filename, content)  # all files are checked before anything is written
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        _own_unit(actor, task)
        if task["status"] not in WORKING:
            raise _wrong_state(task["status"], doing)
        await update_audited(actor, Task, "task", task, values, expected_version=None, action=kind,
                             conference_id=task["conference"])
        report_id = await _log(actor, task_id, kind, text)
        await _attach(report_id, task_id, files)


def _check_files(form: FormReader, files: Sequence[tuple[str, bytes]]) -> None:
    """The files' messages with the text's, so that one submission reports both."""
    with form.collecting():
        for filename, content in files:
            check_attachment(filename, content)


async def report_progress(actor: Actor, task_id: int, data: Mapping[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> None:
    form = FormReader(data)
    text = form.text("text", _("进展情况"), required=True, max_length=5000)
    _check_files(form, files)
    form.done()
    await _report(actor, task_id, text, files, kind="progress", doing=_("报送进展"), values={"status": "in_progress"})


async def report_done(actor: Actor, task_id: int, data: Mapping[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> None:
    form = FormReader(data)
    evidence = form.text("evidence", _("办结情况及佐证"), required=True, max_length=5000)
    _check_files(form, files)
    form.done()
    await _report(actor, task_id, evidence, files, kind="done", doing=_("报办结"),
                  values={"status": "reported_done", "reported_done_at": now(), "evidence": evidence})


async def request_extension(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    form = FormReader(data)
    new_deadline = form.date("extension_deadline", _("申请延期至"), required=True)
    reason = form.text("extension_reason", _("延期理由"), required=True, max_length=2000)
    form.done()
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        _own_unit(actor, task)
        if task["status"] not in ("assigned", *WORKING):
            raise _wrong_state(task["status"], _("申请延期"))
        if task["extension_status"] == "requested":
            raise Conflict(_("已有延期申请在审批中。"))
        if new_deadline is None or new_deadline <= task["deadline"]:
            raise ValidationFailed({"extension_deadline": _("延期后的期限应晚于现期限（{d}）。").format(d=cn_date(task["deadline"]))})
        await _change(actor, task, {"extension_status": "requested", "extension_deadline": new_deadline, "extension_reason": reason},
                      "extension_requested", _("申请延期至{d}：{r}").format(d=cn_date(new_deadline), r=reason))


# ---------------------------------------------------------------- the office's side


async def decide_extension(actor: Actor, task_id: int, approve: bool, data: Mapping[str, Any]) -> None:
    _office(actor)
    form = FormReader(data)
    comment = form.text("comment", _("审批意见"), required=not approve, max_length=1000)
    form.done()
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if task["extension_status"] != "requested":
            raise Conflict(_("该任务没有待审批的延期申请。"))
        if task["status"] not in OPEN:  # a closed or cancelled task's deadline no longer moves
            raise _wrong_state(task["status"], _("审批延期申请"))
        if approve:
            values = {"extension_status": "approved", "deadline": task["extension_deadline"]}
            text = _("同意延期至{d}。{c}").format(d=cn_date(task["extension_deadline"]), c=comment)
        else:
            values = {"extension_status": "declined"}
            text = _("不同意延期：{c}").format(c=comment)
        await _change(actor, task, values, "extension_approved" if approve else "extension_declined", text,
                      notify_unit=_("延期申请审批结果"))


async def close_task(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    """销号: the office verifies the completion; the street is asked to rate it."""
    _office(actor)
    form = FormReader(data)
    comment = form.text("comment", _("销号意见"), max_length=1000)
    form.done()
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if task["status"] != "reported_done":
            raise _wrong_state(task["status"], _("销号"))
        await _change(actor, task, {"status": "closed", "closed_at": now()}, "closed", comment,
                      notify_unit=_("督办任务已销号"))
        names = await Task.select(Task.resolution._.item._.title.as_alias("title"), Task.unit.name.as_alias("unit_name")).where(
            Task.id == task_id).first()
        assert names is not None
        await send_rating_link(task, names["title"], names["unit_name"])


async def return_task(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    _office(actor)
    form = FormReader(data)
    reason = form.text("reason", _("退回理由"), required=True, max_length=1000)
    form.done()
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if task["status"] != "reported_done":
            raise _wrong_state(task["status"], _("退回重办"))
        await _change(actor, task, {"status": "returned"}, "returned", reason, notify_unit=_("督办任务被退回重办"))


async def cancel_task(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    _office(actor)
    form = FormReader(data)
    reason = form.text("reason", _("撤销理由"), required=True, max_length=1000)
    form.done()
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if task["status"] not in OPEN:
            raise _wrong_state(task["status"], _("撤销"))
        await _change(actor, task, {"status": "cancelled"}, "cancelled", reason, notify_unit=_("督办任务已撤销"))


async def reopen_task(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    """After a dissatisfied rating the office can send the task back to the unit."""
    _office(actor)
    form = FormReader(data)
    reason = form.text("reason", _("重新办理的要求"), required=True, max_length=1000)
    deadline = form.date("deadline", _("新的办结期限"), required=True)
    if deadline is not None and deadline < today():
        form.fail("deadline", _("新的办结期限不能早于今天。"))
    form.done()
    assert deadline is not None
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if task["status"] != "closed" or task["rating"] != "dissatisfied":
            raise Conflict(_("只有街道评价为“不满意”的已销号任务才能重新办理。"))
        await _change(actor, task, {"status": "in_progress", "closed_at": None, "reported_done_at": None,
                                    "rating": "", "rating_comment": "", "rated_at": None, "reopened": task["reopened"] + 1,
                                    "deadline": deadline, "deadline_provisional": False},
                      "reopened", _("{reason}（新的办结期限：{d}）").format(reason=reason, d=cn_date(deadline)),
                      notify_unit=_("督办任务需重新办理"))


# ---------------------------------------------------------------- the street's side


async def rate_task(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    form = FormReader(data)
    rating = form.choice("rating", _("评价"), RATING_LABELS)
    comment = form.text("rating_comment", _("评价意见"), required=rating == "dissatisfied", max_length=1000)
    form.done()
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if actor.role != "street" or task["street"] != actor.street_id:
            raise Forbidden(_("由提请议题的街道评价。"))
        if task["status"] != "closed":
            raise _wrong_state(task["status"], _("评价"))
        if task["rating"]:
            raise Conflict(_("该任务已经评价过了。"))
        await _change(actor, task, {"rating": rating, "rating_comment": comment, "rated_at": now()}, "rated",
                      f"{RATING_LABELS[rating]}：{comment}" if comment else RATING_LABELS[rating])
