"""Special-meeting requests: a street asks for a meeting on some of its accepted items; the convenor
approves (a draft special meeting is made, with those items on its agenda and the units they name
invited) or declines with a comment."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.agenda.scheduling import requestable_items, schedule_request_items
from conference.agenda.tables import AgendaItem, SpecialMeetingRequestItem
from conference.audit.services import record
from conference.errors import Conflict, Forbidden, ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.meetings.forms import DECISION_FORM
from conference.meetings.services import active_member_ids, current_convenor, invite, street_conference
from conference.meetings.tables import Meeting, SpecialMeetingRequest
from conference.meetings.visibility import visible_special_requests
from conference.notifications.services import queue
from conference.records import insert_audited, update_audited
from conference.registry.tables import MemberUnit
from conference.roles import REQUEST_DECIDERS, Role
from conference.settings import get_settings
from conference.timefmt import cn_date, now
from conference.visibility import visible_row
from conference.web.formspec import FieldSpec, FormSpec

ITEMS_TAKEN = _("所选议题已列入会议、已在其他提请中，或不属于本街道，请重新选择。")
# The request form, once for its page, the checks and the API body (conference.web.formspec); the
# page shows the items to tick as a list of its own, and the note below them.
REQUEST_FORM = FormSpec((
    FieldSpec("title", _("会议名称"), required=True, max_length=120,
              help=_("同意后专题会议即以此为名，例如：关于老旧小区加装电梯问题的专题会议。")),
    FieldSpec("reason", _("提请事由"), "multiline", required=True, max_length=2000,
              help=_("说明街道遇到的难题，以及为什么需要召开专题会议。")),
    FieldSpec("proposed_date", _("建议日期"), "date", required=True, help=_("不能早于今天。")),
    FieldSpec("proposed_items", _("补充说明"), "multiline", max_length=2000,
              help=_("可不填。如需说明议题之间的关系、希望到会的其他单位等，请写在这里。")),
    FieldSpec("items", _("提请会议研究的议题"), "ids", on="api"),
))


def _chosen_ids(form: FormReader, chosen: list[str], allowed: set[int]) -> list[int]:
    """The ticked items, in the order shown, each one the street may still put forward."""
    ids: list[int] = []
    for value in chosen:
        try:
            item_id = int(value)
        except (TypeError, ValueError):
            item_id = 0
        if item_id not in allowed:
            form.fail("items", ITEMS_TAKEN)
            return []
        if item_id not in ids:
            ids.append(item_id)
    if not ids:
        form.fail("items", _("请选择至少一项提请会议研究的议题。"))
    return ids


async def request_special_meeting(actor: Actor, data: Mapping[str, Any], item_ids: list[str] | None = None) -> int:
    """A street asks for a special meeting on some of its accepted items (item_ids, the ticked
    checkboxes); the title names the meeting the convenor's approval creates."""
    if actor.role != Role.STREET:
        raise Forbidden(_("专题会议由街道提请。"))
    conference_id = await street_conference(actor.street_id)
    form = FormReader(data)
    title, reason, note, day = REQUEST_FORM.read(form, ("title", "reason", "proposed_items", "proposed_date")).values()
    if day and day < now().astimezone(get_settings().tz).date():
        form.fail("proposed_date", _("建议日期不能早于今天。"))
    allowed = {int(r["id"]) for r in await requestable_items(actor.street_id, conference_id)}
    chosen = _chosen_ids(form, item_ids or [], allowed)
    form.done()
    async with db.atomic():
        # "Named in one waiting request at most" holds only if checked again under the items' row
        # locks: the same form sent twice at once read the same free items above.
        for item_id in sorted(chosen):
            await db.lock_row(AgendaItem, item_id)
        if not set(chosen) <= {int(r["id"]) for r in await requestable_items(actor.street_id, conference_id)}:
            raise ValidationFailed({"items": ITEMS_TAKEN})
        request_id = await insert_audited(actor, SpecialMeetingRequest, "special_request", {
            "conference": conference_id, "street": actor.street_id, "requested_by": actor.id, "title": title,
            "reason": reason, "proposed_items": note, "proposed_date": day, "status": "requested", "created_at": now(),
        }, conference_id=conference_id)
        for item_id in chosen:
            await SpecialMeetingRequestItem.insert(SpecialMeetingRequestItem(request=request_id, item=item_id))
        await record(actor, "propose_items", "special_request", request_id, after={"items": chosen},
                     conference_id=conference_id)
        return request_id


async def special_request_for(actor: Actor, request_id: int) -> dict[str, Any]:
    """The request if the actor may see it (visibility.visible_special_requests, the rule of the
    lists); else 404."""
    return await visible_row(SpecialMeetingRequest, request_id, await visible_special_requests(actor),
                             _("没有找到该提请，或您无权查看。"))


async def decide_special_request(actor: Actor, request_id: int, approve: bool, data: Mapping[str, Any]) -> int | None:
    """The convenor approves (a draft special meeting is created) or declines with a comment."""
    if actor.role not in REQUEST_DECIDERS:
        raise Forbidden(_("专题会议由召集人审批。"))
    form = FormReader(data)
    comment = replace(DECISION_FORM["comment"], required=not approve).read(form)  # required when declining
    form.done()
    async with db.atomic(SpecialMeetingRequest, request_id):
        req = await special_request_for(actor, request_id)
        if req["status"] != "requested":
            raise Conflict(_("该提请已经审批过了。"))
        meeting_id = None
        if approve:
            meeting_id = await _special_meeting_from(actor, req)
        await update_audited(actor, SpecialMeetingRequest, "special_request", req, {
            "status": "approved" if approve else "declined", "decision_comment": comment, "decided_by": actor.id,
            "decided_at": now(), "meeting": meeting_id,
        }, expected_version=None, action="approve" if approve else "decline", conference_id=req["conference"])
        await queue("special_request_decided", conference_id=req["conference"], street_id=req["street"], entity="special_request", entity_id=request_id,
                    subject=(_("专题会议提请已同意") if approve else _("专题会议提请未获同意")),
                    body=_("提请事由：{reason}\n审批意见：{comment}").format(reason=req["reason"], comment=comment or "—"))
        return meeting_id


async def _special_meeting_from(actor: Actor, req: Mapping[str, Any]) -> int:
    """The draft special meeting an approved request becomes: named as the street asked, its items
    on the agenda, and the units those items name invited (members of the conference as members,
    others as observers, 列席); the office completes time and place and may invite more."""
    day = req["proposed_date"]
    tz = get_settings().tz
    title = req["title"] or _("{date}专题会议").format(date=cn_date(day))  # requests filed before titles existed
    meeting = {
        "conference": req["conference"], "kind": "special", "title": title,
        "starts_at": dt.datetime.combine(day, dt.time(9, 0), tz), "ends_at": dt.datetime.combine(day, dt.time(11, 0), tz),
        "location": "", "presiding": actor.person_id or await current_convenor(req["conference"], day),
        "status": "draft", "uid": f"{uuid.uuid4()}@conference", "sequence": 0, "notes": req["reason"],
        "created_at": now(),
    }
    meeting_id = await insert_audited(actor, Meeting, "meeting", meeting, conference_id=req["conference"])
    named = await schedule_request_items(actor, int(req["id"]), {**meeting, "id": meeting_id})
    members = set(await active_member_ids(req["conference"], day))
    current = {int(r["id"]) for r in await MemberUnit.select(MemberUnit.id).where(
        MemberUnit.id.is_in(named or [0]) & MemberUnit.ended_on.is_null())}
    for unit_id in named:
        if unit_id in current:
            await invite(meeting_id, unit_id, "member" if unit_id in members else "observer")
    return meeting_id
