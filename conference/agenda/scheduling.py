"""An agenda item on a meeting: the office schedules it (or a special-meeting request's items go on
the new meeting), orders the agenda, records the outcome after the meeting (discussed, resolved,
deferred and carried over, keeping its history of meetings); a cancelled meeting gives its items
back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.agenda.forms import MOVE_FORM, OUTCOME_FORM, SCHEDULE_FORM
from conference.agenda.services import ITEM_NOT_FOUND, change_status, item_for, require_office, wrong_state
from conference.agenda.states import OUTCOME_LABELS
from conference.agenda.tables import AgendaItem, AgendaItemUnit, AgendaSlot
from conference.audit.services import record
from conference.errors import Conflict, ValidationFailed
from conference.i18n import gettext as _
from conference.meetings.tables import Meeting
from conference.records import get_or_404
from conference.timefmt import now


async def schedule_item(actor: Actor, item_id: int, data: Mapping[str, Any]) -> int:
    """Puts an accepted item, or a deferred one (carry-over), on a coming meeting's agenda."""
    require_office(actor)
    meeting_id = SCHEDULE_FORM.read(data)["meeting"]
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] not in ("accepted", "deferred"):
            raise wrong_state(item["status"], _("列入议程"))
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
    await change_status(actor, item, "scheduled", "schedule", _("列入会议：{title}").format(title=meeting["title"]),
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
    rows = await db.fetch("SELECT request, item FROM special_meeting_request_item WHERE request IN ({}) ORDER BY id",
                          db.ids(request_ids))
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
    require_office(actor)
    if direction not in (MOVE_FORM["direction"].choices or {}):
        raise ValidationFailed({"direction": _("请选择上移或下移。")})
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        if item["status"] != "scheduled" or item["meeting"] is None:
            raise wrong_state(item["status"], _("调整顺序"))
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
    require_office(actor)
    values = OUTCOME_FORM.read(data)
    outcome, note = values["outcome"], values["note"]
    async with db.atomic(AgendaItem, item_id):
        item = await item_for(actor, item_id)
        allowed = {"scheduled": ("discussed", "resolved", "deferred", "not_discussed"), "discussed": ("resolved", "deferred")}
        if outcome not in allowed.get(item["status"], ()):
            raise wrong_state(item["status"], _("记为“{outcome}”").format(outcome=OUTCOME_LABELS[outcome]))
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
        await change_status(actor, item, status, outcome, note, **extra)
        return int(meeting["id"])


async def release_items(actor: Actor, meeting_id: int, title: str) -> None:
    """A cancelled meeting gives its agenda back: each scheduled item returns to "accepted" so the
    office can put it on another meeting; the slot stays in the item's history as not discussed."""
    items = await AgendaItem.select().where((AgendaItem.meeting == meeting_id) & (AgendaItem.status == "scheduled"))
    for item in items:
        await AgendaSlot.update({AgendaSlot.outcome: "not_discussed", AgendaSlot.note: _("会议取消"),
                                 AgendaSlot.decided_at: now()}).where(
            (AgendaSlot.item == item["id"]) & (AgendaSlot.meeting == meeting_id) & (AgendaSlot.outcome == "pending"))
        await change_status(actor, item, "accepted", "unschedule", _("会议“{title}”已取消，议题待重新安排。").format(title=title),
                      meeting=None, position=0)
