"""Resolutions (议定事项) over the JSON API (issue 15 item 1): the resolutions of a meeting as its page
lists them, one resolution, and the office's correction (PATCH) before sign-off or during a minutes
correction. Reads come from conference.tasks.views.meeting_resolutions (the meeting page's own
list and scope); the correction goes through conference.tasks.amend.update_resolution, which checks
role, state and version and writes the audit trail. An out-of-scope id answers 404."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Router, get, patch
from litestar.exceptions import ValidationException
from litestar.openapi.spec import Example
from litestar.params import Body

from conference.accounts.actor import Actor, CurrentActor
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.meetings.services import meeting_for
from conference.meetings.tables import Meeting
from conference.records import get_or_404
from conference.roles import OFFICE_ROLES, PEOPLE
from conference.tasks import amend, views
from conference.tasks.forms import RESOLUTION_EDIT_FORM
from conference.web.apikit import READ_ERRORS, WRITE_ERRORS, IdPath, answers, relabelled

TAGS = ["议定事项"]
LABELS = RESOLUTION_EDIT_FORM.labels("api")  # what msgspec still reports: a missing version, unknown fields


class ResolutionTaskOut(msgspec.Struct):
    id: int
    unit: int
    unit_name: str
    role: str  # lead | cooperate
    status: str
    deadline: dt.date
    deadline_provisional: bool
    link: bool  # whether the caller may open the task


class ResolutionFileOut(msgspec.Struct):
    id: int
    filename: str
    size: int


class ResolutionOut(msgspec.Struct):
    id: int
    number: int
    numeral: str  # 一、二、...
    text: str
    item: int
    item_title: str
    lead_unit: int
    lead_name: str
    cooperating: list[int]
    deadline: dt.date
    deadline_workdays: int | None
    deadline_provisional: bool
    note: str
    version: int
    tasks: list[ResolutionTaskOut]
    files: list[ResolutionFileOut]


class ResolutionList(msgspec.Struct):
    items: list[ResolutionOut]
    editable: bool  # whether the office may correct them now
    correction: str  # the reason of the minutes correction that allows it ("" before sign-off)


# The whole corrected resolution, with the version read and the reason (修改原因): derived from the
# correction form's spec (conference.tasks.forms), its JSON types checked by `json_fields`; a field
# left out is asked for as on the meeting page (amend.update_resolution reads them all).
ResolutionPatch = RESOLUTION_EDIT_FORM.struct("ResolutionPatch", extra=[("version", int)])


def _out(row: dict[str, Any]) -> ResolutionOut:
    return msgspec.convert({**row, "cooperating": [int(u) for u in row["cooperating_ids"]]}, ResolutionOut,
                           from_attributes=True)


async def _listed(actor: Actor, meeting: dict[str, Any]) -> dict[str, Any]:
    return await views.meeting_resolutions(actor, meeting)


async def _one(actor: Actor, resolution_id: int) -> ResolutionOut:
    resolution = await amend.resolution_for(actor, resolution_id)  # NotFound when out of scope
    meeting = await get_or_404(Meeting, resolution["meeting"], amend.RESOLUTION_NOT_FOUND)
    rows = [r for r in (await _listed(actor, meeting))["resolutions"] if r["id"] == resolution_id]
    if not rows:  # a street reaching another conference's meeting only through its own items
        raise NotFound(amend.RESOLUTION_NOT_FOUND)
    return _out(rows[0])


@get("/meetings/{meeting_id:int}/resolutions", opt={"roles": PEOPLE}, tags=TAGS, summary=_("会议的议定事项"),
     responses=answers(ResolutionList, READ_ERRORS))
async def list_resolutions(actor: CurrentActor, meeting_id: IdPath) -> ResolutionList:
    """与会议页面相同：按编号（一、二、三、）排列，附牵头和配合单位、各单位任务（link 表示本账号能否打开）和附件。"""
    meeting = await meeting_for(actor, meeting_id)  # NotFound when out of scope
    context = await _listed(actor, meeting)
    return ResolutionList(items=[_out(r) for r in context["resolutions"]], editable=context["can_edit_resolutions"],
                          correction=context["resolutions_correction"])


@get("/resolutions/{resolution_id:int}", opt={"roles": PEOPLE}, tags=TAGS, summary=_("议定事项详情"),
     responses=answers(ResolutionOut, READ_ERRORS))
async def get_resolution(actor: CurrentActor, resolution_id: IdPath) -> ResolutionOut:
    """一项议定事项：内容、牵头和配合单位、办理期限及其任务；只有能看到该会议的账号可读。"""
    return await _one(actor, resolution_id)


@patch("/resolutions/{resolution_id:int}", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("修改议定事项"),
       responses=answers(ResolutionOut, WRITE_ERRORS))
async def update_resolution(actor: CurrentActor, resolution_id: IdPath, data: Annotated[ResolutionPatch, Body(  # type: ignore[valid-type]
        examples=[Example(value={"version": 1, "reason": "会上补充配合单位", "text": "规范农贸市场周边占道经营",
                                 "lead_unit": 3, "cooperating": [5], "deadline_mode": "date", "deadline": "2027-01-31",
                                 "note": ""})])]) -> ResolutionOut:
    """会议召开后、纪要签发前（或纪要更正稿起草期间）由办公室修改；相关督办任务随之调整并通知承办单位。
    version 为读取时的版本号，已被他人修改时返回 409。"""
    fields = RESOLUTION_EDIT_FORM.json_fields(data)  # wrong JSON types answer before anything is read
    cooperating = fields.pop("cooperating", None) or []
    form = {k: v.isoformat() if isinstance(v, dt.date) else str(v) for k, v in fields.items() if v is not None}
    await amend.update_resolution(actor, resolution_id, form, [str(u) for u in cooperating])
    return await _one(actor, resolution_id)


ROUTES: list[Any] = [
    Router(path="/api", route_handlers=[list_resolutions, get_resolution, update_resolution],
           exception_handlers={ValidationException: relabelled(LABELS)}),
]
