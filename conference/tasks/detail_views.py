"""A task's detail page: the task with its resolution, meeting and unit, the reports and their
files, the sibling tasks of the resolution and the actions the viewer's role and the task's state
allow (five queries); and the other single-task reads (a bulk result's label, an attachment)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conference.accounts.actor import Actor
from conference.errors import NotFound
from conference.forms import safe_filename
from conference.i18n import gettext as _
from conference.roles import OFFICE_ROLES, Role
from conference.tasks.forms import PAGE_FIELDS
from conference.tasks.resolution_views import cn_numeral
from conference.tasks.services import ALERT_LABELS, alert, task_for
from conference.tasks.states import EXTENSION_LABELS, OPEN, RATING_LABELS, REPORT_LABELS, ROLE_LABELS, TASK_STATUS_LABELS, WORKING
from conference.tasks.tables import Task, TaskAttachment, TaskReport
from conference.tasks.urging import DEFAULT_MESSAGE, can_urge
from conference.tasks.visibility import can_open
from conference.timefmt import today
from conference.web.files import preview_kind


def allowed_actions(actor: Actor, task: Mapping[str, Any]) -> dict[str, bool]:
    """The actions the viewer may take now, mirroring the checks of conference.tasks.services."""
    status = task["status"]
    own = actor.role == Role.UNIT and actor.unit_id == task["unit"]
    office = actor.role in OFFICE_ROLES
    street = actor.role == Role.STREET and task["street"] is not None and task["street"] == actor.street_id
    return {
        "acknowledge": own and status == "assigned",
        "progress": own and status in WORKING,
        "done": own and status in WORKING,
        "extension": own and status in ("assigned", *WORKING) and task["extension_status"] != "requested",
        "decision": office and status in OPEN and task["extension_status"] == "requested",
        "close": office and status == "reported_done",
        "return": office and status == "reported_done",
        "cancel": office and status in OPEN,
        "reopen": office and status == "closed" and task["rating"] == "dissatisfied",
        "rate": street and status == "closed" and not task["rating"],
        "urge": can_urge(actor, task),
    }


async def task_detail(actor: Actor, task_id: int) -> dict[str, Any]:
    """Everything the task page shows (five queries); NotFound when the actor may not see it."""
    await task_for(actor, task_id)
    task = await Task.select(
        *Task.all_columns(),
        Task.resolution.text.as_alias("resolution_text"), Task.resolution.number.as_alias("resolution_number"),
        Task.resolution.deadline.as_alias("resolution_deadline"),
        Task.resolution.deadline_workdays.as_alias("deadline_workdays"),
        Task.resolution.meeting.as_alias("meeting_id"), Task.resolution._.meeting._.title.as_alias("meeting_title"),
        Task.resolution._.meeting._.starts_at.as_alias("meeting_starts_at"),
        Task.resolution.item.as_alias("item_id"), Task.resolution._.item._.title.as_alias("item_title"),
        Task.unit.name.as_alias("unit_name"), Task.street.name.as_alias("street_name"),
        Task.conference.name.as_alias("conference_name"),
    ).where(Task.id == task_id).first()
    assert task is not None
    day = today()
    task["alert"] = alert(task, day)
    task["numeral"] = cn_numeral(int(task["resolution_number"])) + "、"
    reports = await TaskReport.select(
        TaskReport.id, TaskReport.kind, TaskReport.text, TaskReport.author_name, TaskReport.created_at,
    ).where(TaskReport.task == task_id).order_by(TaskReport.created_at).order_by(TaskReport.id)
    files = await TaskAttachment.select(
        TaskAttachment.id, TaskAttachment.report, TaskAttachment.filename, TaskAttachment.content_type,
        TaskAttachment.size, TaskAttachment.created_at,
    ).where(TaskAttachment.task == task_id).order_by(TaskAttachment.id)
    by_report: dict[int, list[dict[str, Any]]] = {}
    for f in files:
        f["filename"] = safe_filename(f["filename"])  # also names stored before the rule
        f["preview"] = preview_kind(f["content_type"])  # image / pdf: shown in the browser
        by_report.setdefault(f["report"], []).append(f)
    for report in reports:
        report["label"] = REPORT_LABELS.get(report["kind"], report["kind"])
        report["files"] = by_report.get(report["id"], [])
    siblings = await Task.select(
        Task.id, Task.unit, Task.street, Task.role, Task.status, Task.unit.name.as_alias("unit_name"),
    ).where(Task.resolution == task["resolution"]).order_by(Task.id)
    for sibling in siblings:
        sibling["link"] = sibling["id"] != task_id and can_open(actor, sibling)
    siblings.sort(key=lambda s: (s["role"] != "lead", s["id"]))
    return {
        "task": task, "reports": reports, "siblings": siblings, "can": allowed_actions(actor, task),
        "status_labels": TASK_STATUS_LABELS, "role_labels": ROLE_LABELS, "rating_labels": RATING_LABELS,
        "extension_labels": EXTENSION_LABELS, "alert_labels": ALERT_LABELS, "today": day,
        "posted": "", "anchors": {}, "urge_count": sum(1 for r in reports if r["kind"] == "urge"),
        "urge_message": DEFAULT_MESSAGE, "fields": PAGE_FIELDS,  # the forms' labels and limits (conference.tasks.forms)
    }


ATTACHMENT_NOT_FOUND = _("没有找到该附件，或您无权查看。")


async def task_label(actor: Actor, task_id: int) -> str:
    """How a bulk result names a task: unit and resolution (NotFound out of scope)."""
    await task_for(actor, task_id)
    row = await Task.select(Task.unit.name.as_alias("unit_name"), Task.resolution.text.as_alias("text")).where(
        Task.id == task_id).first()
    assert row is not None
    text = row["text"] if len(row["text"]) <= 40 else row["text"][:40] + "…"
    return f"{row['unit_name']}：{text}"


async def attachment_for(actor: Actor, attachment_id: int) -> dict[str, Any]:
    """The attachment with its content, when the actor may see its task; else 404 (no data)."""
    row = await TaskAttachment.select().where(TaskAttachment.id == attachment_id).first()
    if row is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    try:
        await task_for(actor, row["task"])
    except NotFound:
        raise NotFound(ATTACHMENT_NOT_FOUND) from None
    return row
