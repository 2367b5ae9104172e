"""Manual supervision (人工催办): the office urges one task or a selection of tasks with a message.

Each urge is, in one transaction per request: a task report of kind "urge" (the task's record, and the
count of urges shown on the task page and list), an audit event ("urge" on the task) and a message
to the unit through the outbox. Only tasks waiting on the unit can be urged (待签收, 已签收, 办理中,
退回重办): a task reported done waits on the office, a closed or cancelled one on nobody. The
automatic reminders (conference.tasks.reminders) are separate and are not counted here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.audit.services import record
from conference.errors import Conflict, Forbidden, ValidationFailed
from conference.i18n import gettext as _
from conference.notifications.services import queue
from conference.roles import OFFICE_ROLES
from conference.settings import get_settings
from conference.tasks.forms import URGE_FORM
from conference.tasks.services import ALERT_LABELS, PROVISIONAL_NOTE, alert, task_for
from conference.tasks.states import TASK_STATUS_LABELS
from conference.tasks.tables import TaskReport
from conference.timefmt import cn_date, now, today

URGEABLE = ("assigned", "acknowledged", "in_progress", "returned")
MAX_SELECTION = 200
DEFAULT_MESSAGE = _("请抓紧办理，按期办结，并及时在系统中报送进展。")


def can_urge(actor: Actor, task: Mapping[str, Any]) -> bool:
    return actor.role in OFFICE_ROLES and task["status"] in URGEABLE


def _message(data: Mapping[str, Any]) -> str:
    return str(URGE_FORM.read(data)["message"])


async def _urge_one(actor: Actor, task: Mapping[str, Any], message: str) -> None:
    """Inside the caller's transaction, for a task `task_for` returned."""
    info = (await db.fetch(
        """SELECT a.title AS item_title, r.text AS resolution_text FROM resolution r JOIN agenda_item a ON a.id = r.item
           WHERE r.id = {}""", task["resolution"]))[0]
    count = await TaskReport.count().where((TaskReport.task == task["id"]) & (TaskReport.kind == "urge")) + 1
    await TaskReport.insert(TaskReport(task=task["id"], kind="urge", text=message, author=actor.id,
                                       author_name=actor.label, created_at=now()))
    await record(actor, "urge", "task", int(task["id"]), after={"message": message, "urge_count": count,
                                                                 "status": task["status"]},
                 conference_id=task["conference"])
    flag = alert(task, today())
    deadline = cn_date(task["deadline"]) + (PROVISIONAL_NOTE if task["deadline_provisional"] else "")
    body = _("催办意见：{message}\n议定事项：{text}\n办结期限：{deadline}\n当前状态：{status}{alert}\n这是第 {n} 次催办。请及时办理：{url}").format(
        message=message, text=info["resolution_text"], deadline=deadline,
        status=TASK_STATUS_LABELS.get(task["status"], task["status"]),
        alert=f"（{ALERT_LABELS[flag]}）" if flag else "", n=count,
        url=f"{get_settings().base_url}/tasks/{task['id']}")
    await queue("task_urge", conference_id=task["conference"], unit_id=task["unit"], entity="task", entity_id=task["id"],
                subject=_("【催办】{title}").format(title=info["item_title"]), body=body)


async def urge_task(actor: Actor, task_id: int, data: Mapping[str, Any]) -> None:
    """催办 one task (404 outside the actor's scope, 403 for anyone but the office, 409 in a state
    that waits on nobody or on the office)."""
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以催办。"))
    message = _message(data)
    async with db.atomic():
        task = await task_for(actor, task_id)
        if task["status"] not in URGEABLE:
            raise Conflict(_("任务当前状态为“{state}”，不需要催办承办单位。").format(
                state=TASK_STATUS_LABELS.get(task["status"], task["status"])))
        await _urge_one(actor, task, message)


async def urge_tasks(actor: Actor, task_ids: Sequence[str], data: Mapping[str, Any]) -> tuple[int, int]:
    """催办 the selected tasks with one message; returns (urged, skipped): tasks in a state that
    waits on nobody or on the office are skipped. Any id outside the actor's scope is a 404 for the
    whole request (nothing is sent)."""
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以催办。"))
    ids: list[int] = []
    for value in task_ids:
        if not str(value).isdecimal() or len(str(value)) > 9:
            raise ValidationFailed({"task": _("请从列表中勾选任务。")})
        ids.append(int(value))
    ids = sorted(set(ids))
    if not ids:
        raise ValidationFailed({"task": _("请先勾选要催办的任务。")})
    if len(ids) > MAX_SELECTION:
        raise ValidationFailed({"task": _("一次最多催办 {n} 项任务。").format(n=MAX_SELECTION)})
    message = _message(data)
    urged = skipped = 0
    async with db.atomic():
        for task_id in ids:
            task = await task_for(actor, task_id)
            if task["status"] not in URGEABLE:
                skipped += 1
                continue
            await _urge_one(actor, task, message)
            urged += 1
    return urged, skipped


async def urge_counts(task_ids: Iterable[int]) -> dict[int, int]:
    """Number of manual urges per task (one statement)."""
    ids = list(task_ids)
    if not ids:
        return {}
    rows = await db.fetch("SELECT task, COUNT(*) AS n FROM task_report WHERE kind = 'urge' AND task IN ({}) GROUP BY task",
                          db.ids(ids))
    return {int(r["task"]): int(r["n"]) for r in rows}
