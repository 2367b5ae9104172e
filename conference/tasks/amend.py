"""Correcting a resolution (议定事项) where it lives, on the meeting page, until the minutes are signed:
its text, lead and cooperating units, deadline and note (备注) change and the tasks follow. A unit
added gets a task and a notice; a unit removed has its open task cancelled with a notice and the
reason; a new deadline or text reaches the open tasks with a notice. The number never changes.
After sign-off (纪要已印发) a change goes through the minutes correction (更正): while the office
drafts a correction (started with its reason, not yet sent for signature) the same edit is open
again, the tasks follow in the same way, and the corrected minutes, re-signed by the convenor, print
the new resolution with the correction's reason.

Also the resolution's attachments, and bulk closure of tasks (each task in its own transaction)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.agenda.attachments import MAX_ATTACHMENTS, check_attachment
from conference.agenda.tables import AgendaItem
from conference.audit.services import record
from conference.errors import Conflict, Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader, safe_filename
from conference.i18n import gettext as _
from conference.meetings.tables import Meeting
from conference.minutes.tables import Minutes
from conference.notifications.services import queue
from conference.records import get_or_404, update_audited
from conference.roles import OFFICE_ROLES
from conference.settings import get_settings
from conference.tasks.forms import RESOLUTION_EDIT_FORM
from conference.tasks.resolutions import assign_task, resolution_values
from conference.tasks.services import PROVISIONAL_NOTE, log_report
from conference.tasks.states import OPEN, ROLE_LABELS
from conference.tasks.tables import Resolution, ResolutionAttachment, ResolutionUnit, Task
from conference.tasks.visibility import visible_resolutions
from conference.timefmt import cn_date, now
from conference.visibility import visible_row
from conference.workdays import refresh as refresh_calendar

EDITABLE_MEETING = ("held", "minutes_in_review")
RESOLUTION_NOT_FOUND = _("没有找到该议定事项，或您无权查看。")
SIGNED = _("会议纪要已签发印发，议定事项不能再直接修改。如需变更，请在会议纪要页面发起“更正”并写明更正原因。")
ATTACHMENT_NOT_FOUND = _("没有找到该附件，或您无权查看。")


def _office(actor: Actor) -> None:
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以修改议定事项。"))


async def resolution_for(actor: Actor, resolution_id: int) -> dict[str, Any]:
    """The resolution if the actor may see it (visibility.visible_resolutions, the rule of the
    meeting page's list); else 404."""
    return await visible_row(Resolution, resolution_id, await visible_resolutions(actor), RESOLUTION_NOT_FOUND)


CORRECTION_DRAFTED = ("draft", "returned")  # a correction being written, not with the convenor


async def check_editable(meeting: Mapping[str, Any]) -> str:
    """Before the minutes are signed (the meeting held or its minutes in review, nothing published),
    or after, while a correction of them is being drafted. Returns that correction's reason ("" before
    sign-off); refuses otherwise."""
    minutes = await Minutes.select(Minutes.status, Minutes.published_version, Minutes.correction_reason).where(
        Minutes.meeting == meeting["id"]).first()
    if meeting["status"] == "minutes_published" or (minutes is not None and minutes["published_version"] is not None):
        if minutes is not None and minutes["status"] in CORRECTION_DRAFTED and minutes["correction_reason"]:
            return str(minutes["correction_reason"])
        if minutes is not None and minutes["status"] == "submitted" and minutes["correction_reason"]:
            raise Conflict(_("纪要更正稿已送召集人审签，议定事项暂不能修改；如需修改，请召集人退回更正稿。"))
        raise Conflict(SIGNED)
    if meeting["status"] not in EDITABLE_MEETING:
        raise Conflict(_("会议召开后、纪要签发前才能修改议定事项。"))
    return ""


async def editable_state(meeting: Mapping[str, Any]) -> tuple[bool, str]:
    """For the meeting page: whether the office may correct the resolutions now, and the reason of
    the minutes correction that allows it ("" before sign-off)."""
    try:
        return True, await check_editable(meeting)
    except Conflict:
        return False, ""


async def _editable(actor: Actor, resolution_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    _office(actor)
    resolution = await resolution_for(actor, resolution_id)
    meeting = await get_or_404(Meeting, resolution["meeting"], RESOLUTION_NOT_FOUND)
    await check_editable(meeting)
    return resolution, meeting


def _deadline_text(deadline: Any, provisional: bool) -> str:
    return cn_date(deadline) + (PROVISIONAL_NOTE if provisional else "")


async def update_resolution(actor: Actor, resolution_id: int, data: Mapping[str, Any], cooperating: Sequence[str]) -> None:
    """The office's correction of a resolution, with a required reason and the version it read."""
    _office(actor)
    await refresh_calendar()
    resolution = await resolution_for(actor, resolution_id)
    meeting = await get_or_404(Meeting, resolution["meeting"], RESOLUTION_NOT_FOUND)
    await check_editable(meeting)
    form = FormReader(data)
    version = form.version()
    reason, note = (RESOLUTION_EDIT_FORM[name].read(form) for name in ("reason", "note"))
    meeting_day = meeting["starts_at"].astimezone(get_settings().tz).date()
    try:
        values = await resolution_values(data, cooperating, meeting_day)
    except ValidationFailed as exc:
        raise ValidationFailed({**exc.errors, **form.errors}) from None
    form.done()
    async with db.atomic(Resolution, resolution_id):
        current = await get_or_404(Resolution, resolution_id, RESOLUTION_NOT_FOUND)
        meeting = await get_or_404(Meeting, current["meeting"], RESOLUTION_NOT_FOUND)
        correction = await check_editable(meeting)
        if correction:  # after sign-off: the change is part of the minutes correction, and says so
            reason = _("会议纪要更正（{correction}）：{reason}").format(correction=correction, reason=reason)
        item = await get_or_404(AgendaItem, current["item"])
        old_units = {r["unit"]: r["role"] for r in await ResolutionUnit.select(ResolutionUnit.unit, ResolutionUnit.role).where(
            ResolutionUnit.resolution == resolution_id)}
        new_units = {values["lead_unit"]: "lead"} | {u: "cooperate" for u in values["cooperating"]}
        fields = {k: values[k] for k in ("text", "lead_unit", "deadline", "deadline_workdays", "deadline_provisional")}
        fields["note"] = note
        await update_audited(actor, Resolution, "resolution", current, fields, expected_version=version, action="amend",
                             conference_id=current["conference"])
        await record(actor, "amend_units", "resolution", resolution_id,
                     before={"units": {str(k): v for k, v in sorted(old_units.items())}},
                     after={"units": {str(k): v for k, v in sorted(new_units.items())}, "reason": reason},
                     conference_id=current["conference"])
        if old_units != new_units:
            await ResolutionUnit.delete().where(ResolutionUnit.resolution == resolution_id)
            for unit_id, role in new_units.items():
                await ResolutionUnit.insert(ResolutionUnit(resolution=resolution_id, unit=unit_id, role=role))
        open_tasks = {t["unit"]: t for t in await Task.select().where(
            (Task.resolution == resolution_id) & Task.status.is_in(list(OPEN))).order_by(Task.id)}
        link = get_settings().base_url + "/tasks/{id}"
        title = item["title"]
        deadline_moved = (values["deadline"], values["deadline_provisional"]) != (current["deadline"], current["deadline_provisional"])
        for unit_id, task in open_tasks.items():
            if unit_id in new_units:
                continue
            text = _("议定事项已修改，贵单位不再承办此事项，任务撤销。修改原因：{reason}").format(reason=reason)
            await update_audited(actor, Task, "task", task, {"status": "cancelled"}, expected_version=None,
                                 action="cancelled", conference_id=task["conference"])
            await log_report(actor, task["id"], "cancelled", text)
            await queue("task_cancelled", conference_id=task["conference"], unit_id=unit_id, entity="task", entity_id=task["id"],
                        subject=_("【督办任务】任务撤销：{title}").format(title=title), body=text + "\n" + link.format(id=task["id"]))
        # A unit whose task is already finished (closed) keeps it as it is: only a unit with no task
        # that still counts (none, or only cancelled ones) is given a new one.
        finished = {t["unit"] for t in await Task.select(Task.unit).where(
            (Task.resolution == resolution_id) & Task.status.not_in([*OPEN, "cancelled"]))}
        for unit_id, role in new_units.items():
            if unit_id in finished:
                continue
            if unit_id not in open_tasks:
                await assign_task(actor, resolution_id, current["conference"], item, unit_id, role, values)
                continue
            task = open_tasks[unit_id]
            changes: dict[str, Any] = {}
            lines = []
            if values["text"] != current["text"]:
                lines.append(_("议定事项内容改为：{text}").format(text=values["text"]))
            if role != task["role"]:
                changes["role"] = role
                lines.append(_("承办角色改为：{role}").format(role=ROLE_LABELS[role]))
            # The resolution's deadline reaches the tasks still on it; an approved extension stands
            # unless the new deadline is later still.
            on_resolution_deadline = task["deadline"] == current["deadline"]
            if deadline_moved and (on_resolution_deadline or values["deadline"] > task["deadline"]):
                changes.update(deadline=values["deadline"], deadline_provisional=values["deadline_provisional"])
                lines.append(_("办结期限由{old}调整为{new}").format(
                    old=cn_date(task["deadline"]), new=_deadline_text(values["deadline"], values["deadline_provisional"])))
            if not lines:
                continue
            text = "\n".join(lines) + "\n" + _("修改原因：{reason}").format(reason=reason)
            if changes:
                await update_audited(actor, Task, "task", task, changes, expected_version=None, action="amended",
                                     conference_id=task["conference"])
            await log_report(actor, task["id"], "amended", text)
            await queue("task_amended", conference_id=task["conference"], unit_id=unit_id, entity="task", entity_id=task["id"],
                        subject=_("【督办任务】议定事项已修改：{title}").format(title=title),
                        body=text + "\n" + link.format(id=task["id"]))


# ---------------------------------------------------------------- attachments


async def add_attachments(actor: Actor, resolution_id: int, files: Sequence[tuple[str, bytes]]) -> None:
    if not files:
        raise ValidationFailed({"file": _("请选择要上传的文件。")})
    for filename, content in files:
        check_attachment(filename, content)  # every file checked before anything is written
    async with db.atomic(Resolution, resolution_id):
        resolution, _meeting = await _editable(actor, resolution_id)
        have = await ResolutionAttachment.count().where(ResolutionAttachment.resolution == resolution_id)
        if have + len(files) > MAX_ATTACHMENTS:
            raise ValidationFailed({"file": _("每个议定事项最多 {n} 个附件。").format(n=MAX_ATTACHMENTS)})
        for filename, content in files:
            content_type = check_attachment(filename, content)
            name = safe_filename(filename)
            rows = await ResolutionAttachment.insert(ResolutionAttachment(
                resolution=resolution_id, filename=name, content_type=content_type, size=len(content),
                sha256=hashlib.sha256(content).hexdigest(), data=content, uploaded_by=actor.id,
                uploaded_by_name=actor.label[:60], created_at=now())).returning(ResolutionAttachment.id)
            await record(actor, "attach", "resolution", resolution_id,
                         after={"attachment": int(rows[0]["id"]), "filename": name, "size": len(content)},
                         conference_id=resolution["conference"])


async def remove_attachment(actor: Actor, attachment_id: int) -> int:
    """Removes an attachment while the resolution can still be corrected; returns the meeting id."""
    row = await ResolutionAttachment.select(ResolutionAttachment.id, ResolutionAttachment.resolution,
                                            ResolutionAttachment.filename).where(ResolutionAttachment.id == attachment_id).first()
    if row is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    async with db.atomic(Resolution, row["resolution"]):
        resolution, meeting = await _editable(actor, row["resolution"])
        await ResolutionAttachment.delete().where(ResolutionAttachment.id == attachment_id)
        await record(actor, "detach", "resolution", resolution["id"], before={"attachment": attachment_id,
                                                                             "filename": row["filename"]},
                     conference_id=resolution["conference"])
        return int(meeting["id"])


async def attachment_for(actor: Actor, attachment_id: int) -> dict[str, Any]:
    row = await ResolutionAttachment.select().where(ResolutionAttachment.id == attachment_id).first()
    if row is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    try:
        await resolution_for(actor, row["resolution"])
    except NotFound:
        raise NotFound(ATTACHMENT_NOT_FOUND) from None
    return row
