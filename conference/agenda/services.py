"""Agenda item rules: streets submit, the office triages (accept / return / merge / schedule),
items are ordered on a meeting's agenda, and after the meeting each is discussed → resolved or
deferred and carried over, keeping its history of meetings. The submitting street is notified of
every change of status."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.scope import visible_conference_ids
from conference.agenda.states import CATEGORY_LABELS, OUTCOME_LABELS, STATUS_LABELS, URGENCY_LABELS
from conference.agenda.tables import AgendaItem, AgendaItemUnit, AgendaSlot, Attachment
from conference.agenda.visibility import visible_items
from conference.audit.services import record
from conference.errors import Conflict, Forbidden, NotFound, ValidationFailed
from conference.forms import FormReader, safe_filename
from conference.i18n import gettext as _
from conference.meetings.services import street_conference
from conference.meetings.tables import Meeting
from conference.notifications.services import queue
from conference.records import get_or_404, insert_audited, update_audited
from conference.registry.tables import Conference, MemberUnit
from conference.timefmt import now
from conference.visibility import visible_row

ITEM_NOT_FOUND = _("没有找到该议题，或您无权查看。")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
TOO_LARGE = _("文件过大（上限 {n} MB）").format(n=MAX_ATTACHMENT_BYTES // (1024 * 1024))
# Allowed attachment types, recognised by their first bytes, not by what the browser claims.
SIGNATURES = {
    ".pdf": (b"%PDF-", "application/pdf"),
    ".png": (b"\x89PNG\r\n\x1a\n", "image/png"),
    ".jpg": (b"\xff\xd8\xff", "image/jpeg"),
    ".jpeg": (b"\xff\xd8\xff", "image/jpeg"),
    ".docx": (b"PK\x03\x04", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".xlsx": (b"PK\x03\x04", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".doc": (b"\xd0\xcf\x11\xe0", "application/msword"),
    ".xls": (b"\xd0\xcf\x11\xe0", "application/vnd.ms-excel"),
}


def _wrong_state(status: str, doing: str) -> Conflict:
    return Conflict(_("议题当前状态为“{state}”，不能{doing}。").format(state=STATUS_LABELS.get(status, status), doing=doing))


# ---------------------------------------------------------------- access


async def item_for(actor: Actor, item_id: int) -> dict[str, Any]:
    """The item if the actor may see it (visibility.visible_items, the rule of the lists); else 404."""
    return await visible_row(AgendaItem, item_id, await visible_items(actor), ITEM_NOT_FOUND)


def _office(actor: Actor) -> None:
    if actor.role not in ("admin", "office"):
        raise Forbidden(_("只有联席会议办公室可以处理议题。"))


async def _notify_street(item: Mapping[str, Any], status: str, detail: str = "") -> None:
    if item["street"] is None:
        return
    body = _("议题“{title}”的状态变为：{state}。").format(title=item["title"], state=STATUS_LABELS[status])
    await queue("item_" + status, conference_id=item["conference"], street_id=item["street"], entity="agenda_item", entity_id=item["id"],
                subject=_("议题状态更新：{title}").format(title=item["title"]), body=body + ("\n" + detail if detail else ""))


async def _change(actor: Actor, item: Mapping[str, Any], status: str, action: str, detail: str = "",
                  expected_version: int | None = None, **extra: Any) -> None:
    await update_audited(actor, AgendaItem, "agenda_item", item, {"status": status, **extra},
                         expected_version=expected_version, action=action, conference_id=item["conference"])
    await _notify_street(item, status, detail)


# ---------------------------------------------------------------- draft and submit


async def _item_values(data: Mapping[str, Any], unit_ids: list[str]) -> tuple[dict[str, Any], list[int], int | None]:
    form = FormReader(data)
    values = {
        "title": form.text("title", _("议题名称"), required=True, max_length=120),
        "description": form.text("description", _("情况说明"), required=True, max_length=5000),
        "category": form.choice("category", _("类别"), CATEGORY_LABELS),
        "urgency": form.choice("urgency", _("紧急程度"), URGENCY_LABELS),
    }
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
    conference_id = form.ref("conference", _("联席会议")) or 0
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
    if actor.role in ("street", "intake"):
        conference_id, street_id = await street_conference(actor.street_id), actor.street_id
    elif actor.role in ("office", "admin"):
        conference_id, errors = await _office_conference(actor, data)
        street_id = None
    else:
        raise Forbidden(_("议题由街道或联席会议办公室提出。"))
    errors = {**errors, **_files_errors(files, 0)}
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
    if actor.role not in ("street", "office", "admin"):
        raise Forbidden(_("您无权修改议题。"))
    if item["status"] not in ("draft", "returned", "submitted"):
        raise _wrong_state(item["status"], _("修改"))
    if actor.role == "street" and item["status"] == "submitted":
        raise _wrong_state(item["status"], _("修改（已提交的议题由办公室处理）"))


async def update_item(actor: Actor, item_id: int, data: Mapping[str, Any], unit_ids: list[str],
                      files: Sequence[tuple[str, bytes]] = ()) -> None:
    """Save the form; `files` are added in the same transaction (all or, on a refusal, nothing saved)."""
    item = await item_for(actor, item_id)
    check_editable(actor, item)
    file_errors = _files_errors(files, await Attachment.count().where(Attachment.item == item_id))
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
    if actor.role not in ("street", "office", "admin"):
        raise Forbidden(_("议题由街道或联席会议办公室提交。"))
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] not in ("draft", "returned"):
            raise _wrong_state(item["status"], _("提交"))
        await _change(actor, item, "submitted", "submit", submitted_at=item["submitted_at"] or now(), return_reason="")


# ---------------------------------------------------------------- triage


async def accept_item(actor: Actor, item_id: int) -> None:
    _office(actor)
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] != "submitted":
            raise _wrong_state(item["status"], _("受理"))
        await _change(actor, item, "accepted", "accept")


async def return_item(actor: Actor, item_id: int, data: Mapping[str, Any]) -> None:
    _office(actor)
    form = FormReader(data)
    reason = form.text("reason", _("退回理由"), required=True, max_length=1000)
    form.done()
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] not in ("submitted", "accepted"):
            raise _wrong_state(item["status"], _("退回"))
        await _change(actor, item, "returned", "return", _("退回理由：{reason}").format(reason=reason), return_reason=reason)


async def merge_item(actor: Actor, item_id: int, data: Mapping[str, Any]) -> int:
    """Folds a duplicate into another open item of the same conference; its requested units join."""
    _office(actor)
    form = FormReader(data)
    target_id = form.ref("into", _("合并到的议题"))
    form.done()
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] not in ("submitted", "accepted"):
            raise _wrong_state(item["status"], _("合并"))
        target = await AgendaItem.select().where(AgendaItem.id == target_id).first()
        if target is None or target["conference"] != item["conference"] or target_id == item_id:
            raise ValidationFailed({"into": _("只能合并到本联席会议的另一个议题。")})
        if target["status"] not in ("submitted", "accepted", "scheduled", "deferred"):
            raise ValidationFailed({"into": _("目标议题已办结或已合并，不能再合并。")})
        have = {r["unit"] for r in await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item == target_id)}
        for row in await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item == item_id):
            if row["unit"] not in have:
                await AgendaItemUnit.insert(AgendaItemUnit(item=target_id, unit=row["unit"]))
        await _change(actor, item, "merged", "merge", _("已并入议题“{title}”。").format(title=target["title"]),
                      merged_into=target_id)
        return int(target_id or 0)


async def schedule_item(actor: Actor, item_id: int, data: Mapping[str, Any]) -> int:
    """Puts an accepted item, or a deferred one (carry-over), on a coming meeting's agenda."""
    _office(actor)
    form = FormReader(data)
    meeting_id = form.ref("meeting", _("会议"))
    form.done()
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] not in ("accepted", "deferred"):
            raise _wrong_state(item["status"], _("列入议程"))
        await db.lock_row(Meeting, meeting_id)  # positions run 1, 2, 3 per meeting: one scheduler at a time
        meeting = await Meeting.select().where(Meeting.id == meeting_id).first()
        if meeting is None or meeting["conference"] != item["conference"]:
            raise ValidationFailed({"meeting": _("只能列入本联席会议的会议。")})
        if meeting["status"] not in ("draft", "notified"):
            raise ValidationFailed({"meeting": _("只能列入尚未召开的会议。")})
        await _put_on_agenda(actor, item, meeting)
        return int(meeting["id"])


async def _put_on_agenda(actor: Actor, item: Mapping[str, Any], meeting: Mapping[str, Any]) -> None:
    """The item goes last on the meeting's agenda (the caller holds the meeting's row lock, so
    positions run 1, 2, 3 without a gap or a repeat) and gets a slot in its history."""
    last = await AgendaItem.select(AgendaItem.position).where(AgendaItem.meeting == meeting["id"]).order_by(
        AgendaItem.position, ascending=False).first()
    await AgendaSlot.insert(AgendaSlot(item=item["id"], meeting=meeting["id"], outcome="pending"))
    await _change(actor, item, "scheduled", "schedule", _("列入会议：{title}").format(title=meeting["title"]),
                  meeting=meeting["id"], position=(last["position"] + 1) if last else 1)


# ---------------------------------------------------------------- special-meeting requests


async def requestable_items(street_id: int | None, conference_id: int) -> list[dict[str, Any]]:
    """The street's items a special-meeting request may put forward: accepted by the office, not on
    a meeting, and not already named in another request still waiting for the convenor."""
    return await db.fetch(
        """SELECT a.id, a.title, a.urgency, a.submitted_at FROM agenda_item a
           WHERE a.street = {} AND a.conference = {} AND a.status = 'accepted' AND a.meeting IS NULL
             AND NOT EXISTS (SELECT 1 FROM special_meeting_request_item ri
                             JOIN special_meeting_request r ON r.id = ri.request
                             WHERE ri.item = a.id AND r.status = 'requested')
           ORDER BY a.submitted_at, a.id""", int(street_id or 0), conference_id)


async def request_items(request_id: int) -> list[dict[str, Any]]:
    """The items a special-meeting request names, with their state now."""
    return await db.fetch(
        """SELECT a.id, a.title, a.status, a.urgency, a.meeting FROM special_meeting_request_item ri
           JOIN agenda_item a ON a.id = ri.item WHERE ri.request = {} ORDER BY ri.id""", request_id)


async def request_item_ids(request_ids: list[int]) -> dict[int, list[int]]:
    """For each special-meeting request, the ids of the items it names (one query for all)."""
    rows = await db.fetch(f"""SELECT request, item FROM special_meeting_request_item
                              WHERE request IN ({db.int_list(request_ids)}) ORDER BY id""")  # noqa: S608 - ints only
    result: dict[int, list[int]] = {}
    for row in rows:
        result.setdefault(int(row["request"]), []).append(int(row["item"]))
    return result


async def schedule_request_items(actor: Actor, request_id: int, meeting: Mapping[str, Any]) -> list[int]:
    """On approval (inside the caller's transaction): the request's items still accepted go on the
    new meeting's agenda in the order the street chose them; returns the member units they name
    (requested units), for the invitations. An item the office put on another meeting meanwhile
    stays there."""
    await db.lock_row(Meeting, int(meeting["id"]))
    scheduled = []
    for row in await request_items(request_id):
        await db.lock_row(AgendaItem, int(row["id"]))
        item = await get_or_404(AgendaItem, int(row["id"]), ITEM_NOT_FOUND)
        if item["status"] != "accepted" or item["meeting"] is not None or item["conference"] != meeting["conference"]:
            continue
        await _put_on_agenda(actor, item, meeting)
        scheduled.append(int(item["id"]))
    if not scheduled:
        return []
    units = await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item.is_in(scheduled)).order_by(
        AgendaItemUnit.id)
    return list(dict.fromkeys(int(u["unit"]) for u in units))


async def move_item(actor: Actor, item_id: int, direction: str) -> int:
    """Swaps the item with its neighbour on the agenda (direction up or down)."""
    _office(actor)
    if direction not in ("up", "down"):
        raise ValidationFailed({"direction": _("请选择上移或下移。")})
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] != "scheduled" or item["meeting"] is None:
            raise _wrong_state(item["status"], _("调整顺序"))
        await db.lock_row(Meeting, item["meeting"])
        rows = await AgendaItem.select(AgendaItem.id, AgendaItem.position).where(
            (AgendaItem.meeting == item["meeting"]) & (AgendaItem.status == "scheduled")
        ).order_by(AgendaItem.position).order_by(AgendaItem.id)
        ids = [r["id"] for r in rows]
        index = ids.index(item_id)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(ids):
            mine, theirs = rows[index]["position"], rows[other]["position"]
            # A position is unique per meeting (a database constraint), so the swap parks this item
            # on a free negative position first.
            await AgendaItem.update({AgendaItem.position: -item_id}).where(AgendaItem.id == item_id)
            await AgendaItem.update({AgendaItem.position: mine}).where(AgendaItem.id == ids[other])
            await AgendaItem.update({AgendaItem.position: theirs}).where(AgendaItem.id == item_id)
            await record(actor, "move", "agenda_item", item_id, before={"position": mine},
                         after={"position": theirs}, conference_id=item["conference"])
        return int(item["meeting"])


# ---------------------------------------------------------------- after the meeting


async def _current_slot(item: Mapping[str, Any]) -> dict[str, Any]:
    slot = await AgendaSlot.select().where((AgendaSlot.item == item["id"]) & (AgendaSlot.meeting == item["meeting"])).order_by(
        AgendaSlot.id, ascending=False).first()
    if slot is None:
        raise Conflict(_("议题不在会议议程上。"))
    return slot


async def record_outcome(actor: Actor, item_id: int, data: Mapping[str, Any]) -> int:
    """After the meeting is held: discussed, resolved, deferred, or not discussed (also deferred)."""
    _office(actor)
    form = FormReader(data)
    outcome = form.choice("outcome", _("研究结果"), {k: v for k, v in OUTCOME_LABELS.items() if k != "pending"})
    note = form.text("note", _("说明"), max_length=1000)
    form.done()
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        allowed = {"scheduled": ("discussed", "resolved", "deferred", "not_discussed"), "discussed": ("resolved", "deferred")}
        if outcome not in allowed.get(item["status"], ()):
            raise _wrong_state(item["status"], _("记为“{outcome}”").format(outcome=OUTCOME_LABELS[outcome]))
        meeting = await get_or_404(Meeting, item["meeting"])
        if meeting["status"] in ("draft", "notified", "cancelled"):
            raise Conflict(_("会议召开后才能记录议题的研究结果。"))
        slot = await _current_slot(item)
        await AgendaSlot.update({AgendaSlot.outcome: outcome, AgendaSlot.note: note, AgendaSlot.decided_at: now()}).where(
            AgendaSlot.id == slot["id"])
        status = "deferred" if outcome == "not_discussed" else outcome
        extra: dict[str, Any] = {}
        if status == "deferred":
            # Carried over: it leaves this meeting's agenda and waits for the next one.
            extra = {"meeting": None, "position": 0, "meetings_waited": item["meetings_waited"] + 1}
        await _change(actor, item, status, outcome, note, **extra)
        return int(meeting["id"])


# ---------------------------------------------------------------- attachments


def check_attachment(filename: str, content: bytes) -> str:
    """The content type of an acceptable attachment, or ValidationFailed with the reason."""
    if not filename:
        raise ValidationFailed({"file": _("请选择要上传的文件。")})
    name = filename.lower()
    ext = name[name.rfind("."):] if "." in name else ""
    if ext not in SIGNATURES:
        raise ValidationFailed({"file": _("只能上传 PDF、Word、Excel 或 JPG/PNG 图片。")})
    if not content:
        raise ValidationFailed({"file": _("文件是空的。")})
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed({"file": TOO_LARGE})
    magic, content_type = SIGNATURES[ext]
    if not content.startswith(magic):
        raise ValidationFailed({"file": _("文件内容与扩展名不符。")})
    return content_type


def _files_errors(files: Sequence[tuple[str, bytes]], already: int) -> dict[str, str]:
    """The first refusal among the files of an item form, for the message beside its file field
    (naming the file when several were chosen); {} when all may be attached."""
    if already + len(files) > MAX_ATTACHMENTS:
        return {"file": _("每个议题最多 {n} 个附件。").format(n=MAX_ATTACHMENTS)}
    for filename, content in files:
        try:
            check_attachment(filename, content)
        except ValidationFailed as exc:
            message = exc.errors["file"]
            return {"file": f"{safe_filename(filename)}：{message}" if len(files) > 1 else message}
    return {}


async def add_attachment(actor: Actor, item_id: int, filename: str, content: bytes) -> int:
    item = await item_for(actor, item_id)
    if actor.role == "street" and item["status"] not in ("draft", "submitted", "returned"):
        raise _wrong_state(item["status"], _("上传附件"))
    if actor.role not in ("street", "office", "admin"):
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


async def release_items(actor: Actor, meeting_id: int, title: str) -> None:
    """A cancelled meeting gives its agenda back: each scheduled item returns to "accepted" so the
    office can put it on another meeting; the slot stays in the item's history as not discussed."""
    items = await AgendaItem.select().where((AgendaItem.meeting == meeting_id) & (AgendaItem.status == "scheduled"))
    for item in items:
        await AgendaSlot.update({AgendaSlot.outcome: "not_discussed", AgendaSlot.note: _("会议取消"),
                                 AgendaSlot.decided_at: now()}).where(
            (AgendaSlot.item == item["id"]) & (AgendaSlot.meeting == meeting_id) & (AgendaSlot.outcome == "pending"))
        await _change(actor, item, "accepted", "unschedule", _("会议“{title}”已取消，议题待重新安排。").format(title=title),
                      meeting=None, position=0)
