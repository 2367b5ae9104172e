"""Agenda item rules: who sees an item, streets draft and submit, the office triages (accept /
return / merge), attachments are added. The submitting street is notified of every change of
status. An item on a meeting's agenda (scheduled, ordered, its outcome after the meeting, carried
over) is conference.agenda.scheduling; what a file may be, conference.agenda.attachments."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda.attachments import MAX_ATTACHMENTS, check_attachment, files_errors
from conference.agenda.forms import MERGE_FORM, RETURN_FORM
from conference.agenda.states import CATEGORY_LABELS, ITEM_STATUS_LABELS, URGENCY_LABELS
from conference.agenda.tables import AgendaItem, AgendaItemUnit, Attachment
from conference.agenda.visibility import visible_items
from conference.audit.services import record
from conference.errors import Conflict, Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader, safe_filename
from conference.i18n import gettext as _
from conference.meetings.services import street_conference
from conference.notifications.services import queue
from conference.records import get_or_404, insert_audited, update_audited
from conference.registry.tables import Conference, MemberUnit
from conference.roles import ITEM_SUBMITTERS, ITEM_WRITERS, OFFICE_ROLES, Role
from conference.timefmt import now
from conference.visibility import visible_row
from conference.web.formspec import FieldSpec, FormSpec

ITEM_NOT_FOUND = _("没有找到该议题，或您无权查看。")
# The item form, once for its pages, the checks and the API body (conference.web.formspec): an
# office chooses the conference (a street's is implied); the requested units are a picker of their
# own on the page; the API can submit at once.
ITEM_FORM = FormSpec((
    FieldSpec("conference", _("联席会议"), "ref", required=True),
    FieldSpec("title", _("议题名称"), required=True, max_length=120),
    FieldSpec("description", _("情况说明"), "multiline", required=True, max_length=5000,
              help=_("写明问题的由来、街道已做的工作和需要协调解决的事项。")),
    FieldSpec("category", _("类别"), "choice", required=True, choices=CATEGORY_LABELS),
    FieldSpec("urgency", _("紧急程度"), "choice", required=True, choices=URGENCY_LABELS, blank=False),
    FieldSpec("units", _("提请单位"), "ids", on="api"),
    FieldSpec("submit", _("立即提交"), "bool", on="api"),
))



def wrong_state(status: str, doing: str) -> Conflict:
    return Conflict(_("议题当前状态为“{state}”，不能{doing}。").format(state=ITEM_STATUS_LABELS.get(status, status), doing=doing))


# ---------------------------------------------------------------- access


async def item_for(actor: Actor, item_id: int) -> dict[str, Any]:
    """The item if the actor may see it (visibility.visible_items, the rule of the lists); else 404."""
    return await visible_row(AgendaItem, item_id, await visible_items(actor), ITEM_NOT_FOUND)


def require_office(actor: Actor) -> None:
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以处理议题。"))


async def _notify_street(item: Mapping[str, Any], status: str, detail: str = "") -> None:
    if item["street"] is None:
        return
    body = _("议题“{title}”的状态变为：{state}。").format(title=item["title"], state=ITEM_STATUS_LABELS[status])
    await queue("item_" + status, conference_id=item["conference"], street_id=item["street"], entity="agenda_item", entity_id=item["id"],
                subject=_("议题状态更新：{title}").format(title=item["title"]), body=body + ("\n" + detail if detail else ""))


async def change_status(actor: Actor, item: Mapping[str, Any], status: str, action: str, detail: str = "",
                  expected_version: int | None = None, **extra: Any) -> None:
    await update_audited(actor, AgendaItem, "agenda_item", item, {"status": status, **extra},
                         expected_version=expected_version, action=action, conference_id=item["conference"])
    await _notify_street(item, status, detail)


# ---------------------------------------------------------------- draft and submit


async def _item_values(data: Mapping[str, Any], unit_ids: list[str]) -> tuple[dict[str, Any], list[int], int | None]:
    form = FormReader(data)
    values = ITEM_FORM.read(form, ("title", "description", "category", "urgency"))
    units: list[int] = []
    for raw in unit_ids[:50]:
        try:
            number = int(raw)
        except (TypeError, ValueError):
            number = 0
        if 0 < number < 2**31:  # ids are 32-bit serials; a larger one would make PostgreSQL raise
            units.append(number)
        else:
            form.fail("units", _("请从列表中选择提请单位。"))
    if units:
        found = {r["id"] for r in await MemberUnit.select(MemberUnit.id).where(MemberUnit.id.is_in(units))}
        if found != set(units):
            form.fail("units", _("所选单位不存在。"))
    version = form.version()
    form.done()
    return values, sorted(set(units)), version


async def item_values(data: Mapping[str, Any], unit_ids: list[str]) -> None:
    """Check an item's fields without saving (ValidationFailed with every message)."""
    await _item_values(data, unit_ids)


async def _office_conference(actor: Actor, data: Mapping[str, Any]) -> tuple[int, dict[str, str]]:
    form = FormReader(data)
    conference_id = ITEM_FORM["conference"].read(form) or 0
    if not form.errors:
        visible = await visible_conference_ids(actor)
        if (visible is not None and conference_id not in visible) or not await Conference.exists().where(
                Conference.id == conference_id):
            form.fail("conference", _("所选联席会议不存在。"))
    return conference_id, form.errors


async def create_item(actor: Actor, data: Mapping[str, Any], unit_ids: list[str], submit: bool = False,
                      external: Mapping[str, str] | None = None, files: Sequence[tuple[str, bytes]] = ()) -> int:
    """A street raises an item in its own street conference; an office in its own conference; an
    intake account (another system feeding one street, conference.agenda.intake) like its street,
    with `external` = {"external_ref", "external_source"} naming the ticket the item came from.
    `files` (name, content) are attached in the same transaction: all of them or, on a refusal, none
    and no item."""
    errors: dict[str, str] = {}
    if actor.role in ITEM_SUBMITTERS:
        conference_id, street_id = await street_conference(actor.street_id), actor.street_id
    elif actor.role in OFFICE_ROLES:
        conference_id, errors = await _office_conference(actor, data)
        street_id = None
    else:
        raise Forbidden(_("议题由街道或联席会议办公室提出。"))
    errors = {**errors, **files_errors(files, 0)}
    try:
        values, units, _v = await _item_values(data, unit_ids)
    except ValidationFailed as exc:
        raise ValidationFailed({**errors, **exc.errors}) from None
    if errors:  # every message at once, beside its field
        raise ValidationFailed(errors)
    async with db.atomic():
        item_id = await insert_audited(actor, AgendaItem, "agenda_item", {
            **values, **(external or {}), "conference": conference_id, "street": street_id, "submitted_by": actor.id,
            "status": "submitted" if submit else "draft", "submitted_at": now() if submit else None, "created_at": now(),
        }, conference_id=conference_id)
        for unit_id in units:
            await AgendaItemUnit.insert(AgendaItemUnit(item=item_id, unit=unit_id))
        for filename, content in files:
            await add_attachment(actor, item_id, filename, content)
        if submit:
            await _notify_street({**values, "id": item_id, "street": street_id, "conference": conference_id}, "submitted")
    return item_id


def check_editable(actor: Actor, item: Mapping[str, Any]) -> None:
    """Drafts and returned items are edited by whoever raised them; the office may also correct a
    submitted item before it is accepted."""
    if actor.role not in ITEM_WRITERS:
        raise Forbidden(_("您无权修改议题。"))
    if item["status"] not in ("draft", "returned", "submitted"):
        raise wrong_state(item["status"], _("修改"))
    if actor.role == Role.STREET and item["status"] == "submitted":
        raise wrong_state(item["status"], _("修改（已提交的议题由办公室处理）"))


async def update_item(actor: Actor, item_id: int, data: Mapping[str, Any], unit_ids: list[str],
                      files: Sequence[tuple[str, bytes]] = ()) -> None:
    """Save the form; `files` are added in the same transaction (all or, on a refusal, nothing saved)."""
    item = await item_for(actor, item_id)
    check_editable(actor, item)
    file_errors = files_errors(files, await Attachment.count().where(Attachment.item == item_id))
    try:
        values, units, version = await _item_values(data, unit_ids)
    except ValidationFailed as exc:
        raise ValidationFailed({**file_errors, **exc.errors}) from None
    if file_errors:
        raise ValidationFailed(file_errors)
    async with db.atomic(AgendaItem, item_id):
        current = await get_or_404(AgendaItem, item_id, ITEM_NOT_FOUND)
        check_editable(actor, current)  # again inside the transaction: the office may have just acted on it
        await update_audited(actor, AgendaItem, "agenda_item", current, values, expected_version=version,
                             conference_id=current["conference"])
        old = sorted(r["unit"] for r in await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item == item_id))
        if old != units:
            await AgendaItemUnit.delete().where(AgendaItemUnit.item == item_id)
            for unit_id in units:
                await AgendaItemUnit.insert(AgendaItemUnit(item=item_id, unit=unit_id))
            await record(actor, "update", "agenda_item", item_id, before={"units": old}, after={"units": units},
                         conference_id=current["conference"])
        for filename, content in files:
            await add_attachment(actor, item_id, filename, content)


async def submit_item(actor: Actor, item_id: int) -> None:
    """Draft or returned → submitted. The first submission starts the item's age; a resubmission
    after a return keeps it."""
    if actor.role not in ITEM_WRITERS:
        raise Forbidden(_("议题由街道或联席会议办公室提交。"))
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] not in ("draft", "returned"):
            raise wrong_state(item["status"], _("提交"))
        await change_status(actor, item, "submitted", "submit", submitted_at=item["submitted_at"] or now(), return_reason="")


# ---------------------------------------------------------------- triage


async def accept_item(actor: Actor, item_id: int) -> None:
    require_office(actor)
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] != "submitted":
            raise wrong_state(item["status"], _("受理"))
        await change_status(actor, item, "accepted", "accept")


async def return_item(actor: Actor, item_id: int, data: Mapping[str, Any]) -> None:
    require_office(actor)
    reason = RETURN_FORM.read(data)["reason"]
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] not in ("submitted", "accepted"):
            raise wrong_state(item["status"], _("退回"))
        await change_status(actor, item, "returned", "return", _("退回理由：{reason}").format(reason=reason), return_reason=reason)


async def merge_item(actor: Actor, item_id: int, data: Mapping[str, Any]) -> int:
    """Folds a duplicate into another open item of the same conference; its requested units join."""
    require_office(actor)
    target_id = MERGE_FORM.read(data)["into"]
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] not in ("submitted", "accepted"):
            raise wrong_state(item["status"], _("合并"))
        target = await AgendaItem.select().where(AgendaItem.id == target_id).first()
        if target is None or target["conference"] != item["conference"] or target_id == item_id:
            raise ValidationFailed({"into": _("只能合并到本联席会议的另一个议题。")})
        if target["status"] not in ("submitted", "accepted", "scheduled", "deferred"):
            raise ValidationFailed({"into": _("目标议题已办结或已合并，不能再合并。")})
        have = {r["unit"] for r in await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item == target_id)}
        for row in await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item == item_id):
            if row["unit"] not in have:
                await AgendaItemUnit.insert(AgendaItemUnit(item=target_id, unit=row["unit"]))
        await change_status(actor, item, "merged", "merge", _("已并入议题“{title}”。").format(title=target["title"]),
                      merged_into=target_id)
        return int(target_id or 0)


# ---------------------------------------------------------------- attachments


async def add_attachment(actor: Actor, item_id: int, filename: str, content: bytes) -> int:
    item = await item_for(actor, item_id)
    if actor.role == Role.STREET and item["status"] not in ("draft", "submitted", "returned"):
        raise wrong_state(item["status"], _("上传附件"))
    if actor.role not in ITEM_WRITERS:
        raise Forbidden(_("您无权上传附件。"))
    content_type = check_attachment(filename, content)
    safe_name = safe_filename(filename)
    async with db.atomic(AgendaItem, item_id):
        if await Attachment.count().where(Attachment.item == item_id) >= MAX_ATTACHMENTS:
            raise ValidationFailed({"file": _("每个议题最多 10 个附件。")})
        rows = await Attachment.insert(Attachment(
            item=item_id, filename=safe_name, content_type=content_type, size=len(content),
            sha256=hashlib.sha256(content).hexdigest(), data=content, uploaded_by=actor.id, created_at=now(),
        )).returning(Attachment.id)
        attachment_id = int(rows[0]["id"])
        await record(actor, "attach", "agenda_item", item_id, after={"attachment": attachment_id, "filename": safe_name,
                                                                     "size": len(content)}, conference_id=item["conference"])
        return attachment_id


async def attachment_for(actor: Actor, attachment_id: int) -> dict[str, Any]:
    row = await Attachment.select().where(Attachment.id == attachment_id).first()
    if row is None:
        raise NotFound(_("没有找到该附件，或您无权查看。"))
    await item_for(actor, row["item"])
    return row
