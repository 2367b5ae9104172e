"""Supervision (督办) rules for a task: each goes assigned → acknowledged (签收) → in_progress →
reported_done (办结) → closed (销号), may be returned for rework, extended, cancelled, rated by the
street, and reopened after a dissatisfied rating; its alerts; the messages carrying a unit's or a
street's personal link. Every change is audited and announced through the outbox. Adopting a
resolution, which creates one task per named unit, is conference.tasks.resolutions."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.agenda.attachments import check_attachment
from conference.errors import Conflict, Forbidden, ValidationFailed
from conference.forms import FormReader, safe_filename
from conference.i18n import gettext as _
from conference.notifications.services import queue
from conference.records import update_audited
from conference.roles import OFFICE_ROLES, Role
from conference.settings import get_settings
from conference.tasks import tokens
from conference.tasks.forms import (
    CANCEL_FORM,
    CLOSE_FORM,
    DECISION_FORM,
    DONE_FORM,
    EXTENSION_FORM,
    PROGRESS_FORM,
    RATING_FORM,
    REOPEN_FORM,
    RETURN_FORM,
)
from conference.tasks.states import OPEN, RATING_LABELS, ROLE_LABELS, TASK_STATUS_LABELS, WORKING
from conference.tasks.tables import Task, TaskAttachment, TaskReport
from conference.tasks.visibility import visible_tasks
from conference.timefmt import cn_date, now, today
from conference.visibility import visible_row
from conference.workdays import add_workdays

TASK_NOT_FOUND = _("没有找到该任务，或您无权查看。")
ACK_WORKDAYS = 2
# After a provisional deadline in messages: counted on weekdays only, the year's holidays not entered yet.
PROVISIONAL_NOTE = _("（暂定：该年度节假日安排尚未录入，按周一至周五计算，录入后自动重算）")


def _wrong_state(status: str, doing: str) -> Conflict:
    return Conflict(_("任务当前状态为“{state}”，不能{doing}。").format(state=TASK_STATUS_LABELS.get(status, status), doing=doing))


def workdays_after(start: dt.date, n: int) -> dt.date:
    """For the system's own dates (acknowledgement due): beyond the entered holiday calendar
    weekends alone are skipped (conference.workdays)."""
    return add_workdays(start, n)


# ---------------------------------------------------------------- alerts


def yellow_until(day: dt.date) -> dt.date:
    """The first deadline that is no longer "due soon" (yellow) on `day`: due within N working days
    (SUPERVISION_YELLOW_WORKDAYS, 0-60) means before the (N+1)th working day after `day`."""
    return workdays_after(day, get_settings().supervision_yellow_workdays + 1)


def alert(task: Mapping[str, Any], day: dt.date | None = None, until: dt.date | None = None) -> str:
    """red: overdue; yellow: due within 3 working days; unack: not acknowledged within 2 working
    days of assignment; "" otherwise. Closed and cancelled tasks raise no alert. `until`:
    yellow_until(day), for a caller that classifies many tasks on the same day."""
    day = day or today()
    if task["status"] not in OPEN:
        return ""
    if task["deadline"] < day:
        return "red"
    if task["status"] == "assigned" and task["ack_due"] < day:
        return "unack"
    # At most N working days from the day after `day` to the deadline: the deadline comes before the
    # (N+1)th working day. One walk of N+1 working days, not one look-up per day up to the deadline.
    return "yellow" if task["deadline"] < (until or yellow_until(day)) else ""


ALERT_LABELS = {"red": _("已逾期"), "yellow": _("即将到期"), "unack": _("超时未签收"), "": ""}


# ---------------------------------------------------------------- access


async def task_for(actor: Actor, task_id: int) -> dict[str, Any]:
    """The task if the actor may see it (visibility.visible_tasks, the rule of the lists); else 404."""
    return await visible_row(Task, task_id, await visible_tasks(actor), TASK_NOT_FOUND)


def require_office(actor: Actor) -> None:
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以执行此操作。"))


def _own_unit(actor: Actor, task: Mapping[str, Any]) -> None:
    if actor.role != Role.UNIT or actor.unit_id != task["unit"]:
        raise Forbidden(_("只有承办单位可以执行此操作。"))


async def log_report(actor: Actor | None, task_id: int, kind: str, text: str = "") -> int:
    rows = await TaskReport.insert(TaskReport(task=task_id, kind=kind, text=text, author=actor.account_id if actor else None,
                                              author_name=actor.label if actor else "system",
                                              created_at=now())).returning(TaskReport.id)
    return int(rows[0]["id"])


async def _change(actor: Actor, task: Mapping[str, Any], values: dict[str, Any], action: str, text: str = "",
                  notify_unit: str | None = None, notify_street: str | None = None) -> None:
    await update_audited(actor, Task, "task", task, values, expected_version=None, action=action,
                         conference_id=task["conference"])
    await log_report(actor, task["id"], action, text)
    link = f"{get_settings().base_url}/tasks/{task['id']}"
    if notify_unit:
        await queue("task_" + action, conference_id=task["conference"], unit_id=task["unit"], entity="task", entity_id=task["id"],
                    subject=notify_unit, body=(text + "\n" if text else "") + link)
    if notify_street and task["street"] is not None:
        await queue("task_" + action, conference_id=task["conference"], street_id=task["street"], entity="task", entity_id=task["id"],
                    subject=notify_street, body=(text + "\n" if text else "") + link)


# ---------------------------------------------------------------- messages with a personal link


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
        report_id = await log_report(actor, task_id, kind, text)
        await _attach(report_id, task_id, files)


def _check_files(form: FormReader, files: Sequence[tuple[str, bytes]]) -> None:
    """The files' messages with the text's, so that one submission reports both."""
    with form.collecting():
        for filename, content in files:
            check_attachment(filename, content)


async def report_progress(actor: Actor, task_id: int, data: Mapping[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> None:
    form = FormReader(data)
    text = PROGRESS_FORM.read(form)["text"]
    _check_files(form, files)
    form.done()
    await _report(actor, task_id, text, files, kind="progress", doing=_("报送进展"), values={"status": "in_progress"})


async def report_done(actor: Actor, task_id: int, data: Mapping[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> None:
    form = FormReader(data)
    evidence = DONE_FORM.read(form)["evidence"]
    _check_files(form, files)
    form.done()
    await _report(actor, task_id, evidence, files, kind="done", doing=_("报办结"),
                  values={"status": "reported_done", "reported_done_at": now(), "evidence": evidence})


async def request_extension(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    form = FormReader(data)
    values = EXTENSION_FORM.read(form)
    new_deadline, reason = values["extension_deadline"], values["extension_reason"]
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
    require_office(actor)
    form = FormReader(data)
    comment = replace(DECISION_FORM["comment"], required=not approve).read(form)  # a refusal says why
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
    require_office(actor)
    form = FormReader(data)
    comment = CLOSE_FORM.read(form)["comment"]
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
    require_office(actor)
    form = FormReader(data)
    reason = RETURN_FORM.read(form)["reason"]
    form.done()
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if task["status"] != "reported_done":
            raise _wrong_state(task["status"], _("退回重办"))
        await _change(actor, task, {"status": "returned"}, "returned", reason, notify_unit=_("督办任务被退回重办"))


async def cancel_task(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    require_office(actor)
    form = FormReader(data)
    reason = CANCEL_FORM.read(form)["reason"]
    form.done()
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if task["status"] not in OPEN:
            raise _wrong_state(task["status"], _("撤销"))
        await _change(actor, task, {"status": "cancelled"}, "cancelled", reason, notify_unit=_("督办任务已撤销"))


async def reopen_task(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    """After a dissatisfied rating the office can send the task back to the unit."""
    require_office(actor)
    form = FormReader(data)
    values = REOPEN_FORM.read(form)
    reason, deadline = values["reason"], values["deadline"]
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
    rating = RATING_FORM["rating"].read(form)
    comment = replace(RATING_FORM["rating_comment"], required=rating == "dissatisfied").read(form)
    form.done()
    async with db.atomic(Task, task_id):
        task = await task_for(actor, task_id)
        if actor.role != Role.STREET or task["street"] != actor.street_id:
            raise Forbidden(_("由提请议题的街道评价。"))
        if task["status"] != "closed":
            raise _wrong_state(task["status"], _("评价"))
        if task["rating"]:
            raise Conflict(_("该任务已经评价过了。"))
        await _change(actor, task, {"rating": rating, "rating_comment": comment, "rated_at": now()}, "rated",
                      f"{RATING_LABELS[rating]}：{comment}" if comment else RATING_LABELS[rating])
