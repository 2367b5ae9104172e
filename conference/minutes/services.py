"""Minutes rules, the base: sections and labels, who may read the minutes, a version or a
publication, and a version's PDF. Built on it: conference.minutes.content (the meeting's records a
draft is made from, the first draft's text), conference.minutes.workflow (every save a numbered
version with a conflict check, submission to the convenor, comments, return or approval (签发), a
correction with a stated reason and its own sign-off) and conference.minutes.publication (approval
renders the PDF/A once, stores its bytes with their SHA-256 and sends each invited unit and each
submitting street its own tasks through the outbox; earlier publications stay available).

Who may do what: the office (admin/office, by conference scope) drafts, saves, submits and starts
corrections; the convenor of the conference (a current appointment: accounts.scope) reads what was
submitted, comments, returns and approves. Anyone who may see the meeting (a unit only when invited,
a street when its item was on it) may download the published copy. Out of scope answers 404.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conference.accounts.actor import Actor
from conference.errors import Conflict, Forbidden, NotFound
from conference.i18n import gettext as _
from conference.meetings.services import meeting_for
from conference.minutes import pdf
from conference.minutes.states import MINUTES_STATUS_LABELS, MinutesStatus
from conference.minutes.tables import Minutes, MinutesPublication, MinutesVersion
from conference.minutes.visibility import visible_minutes
from conference.roles import OFFICE_ROLES, SUPERVISORS, Role
from conference.timefmt import cn_date
from conference.visibility import visible_row


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    max_length: int
    multiline: bool = True


# The free-text sections the office edits, in the order they are printed (the header first).
SECTIONS = (
    Section("title", _("纪要标题"), 60, multiline=False),
    Section("issue", _("期号"), 30, multiline=False),
    Section("issuer", _("印发机关"), 60, multiline=False),
    Section("summary", _("会议概况"), 5000),
    Section("decisions_intro", _("议定事项导语"), 500),
    Section("requirements", _("会议要求"), 5000),
    Section("present", _("出席"), 3000),
    Section("leave", _("请假"), 2000),
    Section("observers", _("列席"), 2000),
    Section("distribution", _("分送"), 500),
)
SECTION_KEYS = tuple(s.key for s in SECTIONS)
RESOLUTIONS = "resolutions"  # the generated 议定事项, a section for comments and diffs
SECTION_LABELS = {**{s.key: s.label for s in SECTIONS}, RESOLUTIONS: _("议定事项")}
COMMENT_LABELS = {"comment": _("意见"), "return": _("退回"), "approve": _("签发")}
EDITABLE = (MinutesStatus.DRAFT, MinutesStatus.RETURNED)
MINUTES_NOT_FOUND = _("没有找到该会议纪要，或您无权查看。")
WATERMARK_DRAFT = _("草稿")
WATERMARK_REVIEW = _("征求意见稿")
STALE = _("会议的议定事项在本版保存后有变化，请先保存新的版本（将按最新记录生成），核对后再送审。")
STALE_AT_SIGNING = _("会议的议定事项在送审后有变化，送审稿已不完整：请退回办公室按最新记录更新后重新送审。")


def wrong_state(status: str, doing: str) -> Conflict:
    return Conflict(_("纪要当前状态为“{state}”，不能{doing}。").format(state=MINUTES_STATUS_LABELS.get(status, status), doing=doing))


def require_office(actor: Actor) -> None:
    if actor.role not in OFFICE_ROLES:
        raise Forbidden(_("只有联席会议办公室可以执行此操作。"))


def require_convenor(actor: Actor) -> None:
    if actor.role != Role.CONVENOR:
        raise Forbidden(_("纪要由召集人审核签发。"))


# ---------------------------------------------------------------- access


async def minutes_row(minutes_id: int) -> dict[str, Any]:
    row = await Minutes.select().where(Minutes.id == minutes_id).first()
    if row is None:
        raise NotFound(MINUTES_NOT_FOUND)
    return row


async def minutes_for(actor: Actor, minutes_id: int) -> dict[str, Any]:
    """The minutes for the office and the conference's convenor (visibility.visible_minutes); 404
    for anything out of scope, 403 for the roles that never read drafts (streets and units)."""
    if actor.role not in SUPERVISORS:
        raise Forbidden(_("您的角色无权查看纪要草稿。"))
    return await visible_row(Minutes, minutes_id, await visible_minutes(actor), MINUTES_NOT_FOUND)


async def meeting_in_scope(actor: Actor, meeting_id: int) -> dict[str, Any]:
    """The meeting for the minutes pages: office and convenor by the conferences they see."""
    if actor.role not in SUPERVISORS:
        raise Forbidden(_("您的角色无权查看纪要草稿。"))
    return await meeting_for(actor, meeting_id)


async def minutes_of_meeting(meeting_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = await Minutes.select().where(Minutes.meeting == meeting_id).first()
    return row


def visible_to(actor: Actor, version: Mapping[str, Any]) -> bool:
    """The convenor reads what was submitted to him or her; the office reads every version."""
    return actor.role != Role.CONVENOR or version["submitted_at"] is not None


async def version_row(minutes_id: int, number: int) -> dict[str, Any]:
    row = await MinutesVersion.select().where((MinutesVersion.minutes == minutes_id) & (MinutesVersion.number == number)).first()
    if row is None:
        raise NotFound(_("没有找到该版本。"))
    return row


async def version_for(actor: Actor, minutes_id: int, number: int) -> tuple[dict[str, Any], dict[str, Any]]:
    minutes = await minutes_for(actor, minutes_id)
    version = await version_row(minutes_id, number)
    if not visible_to(actor, version):
        raise NotFound(_("没有找到该版本。"))
    return minutes, version


def loads(version: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return json.loads(version["sections"]), json.loads(version["records"])


# ---------------------------------------------------------------- documents


async def publication_for(actor: Actor, minutes_id: int, seq: int | None = None) -> dict[str, Any]:
    """A published copy (the latest, or publication `seq`) for anyone who may see the meeting."""
    await visible_row(Minutes, minutes_id, await visible_minutes(actor), MINUTES_NOT_FOUND)
    query = MinutesPublication.select().where(MinutesPublication.minutes == minutes_id)
    if seq is not None:
        query = query.where(MinutesPublication.seq == seq)
    publication = await query.order_by(MinutesPublication.seq, ascending=False).first()
    if publication is None:
        raise NotFound(_("该会议纪要尚未签发印发。"))
    publication["pdf"] = bytes(publication["pdf"])
    return publication


_pdf_cache: OrderedDict[tuple[int, int, str], bytes] = OrderedDict()
PDF_CACHE_SIZE = 16


async def version_pdf(actor: Actor, minutes_id: int, number: int) -> bytes:
    """A version as PDF. A signed version is its stored publication, byte for byte; any other is
    rendered with the watermark 草稿 (not yet submitted) or 征求意见稿 (submitted for review).
    Saved versions never change, so their renders are cached."""
    _minutes, version = await version_for(actor, minutes_id, number)
    if version["approved_at"] is not None:
        publication = await MinutesPublication.select(MinutesPublication.seq).where(
            (MinutesPublication.minutes == minutes_id) & (MinutesPublication.version_number == number)).first()
        if publication is not None:
            return bytes((await publication_for(actor, minutes_id, publication["seq"]))["pdf"])
    watermark = WATERMARK_DRAFT if version["submitted_at"] is None else WATERMARK_REVIEW
    key = (minutes_id, number, watermark)
    if key in _pdf_cache:
        _pdf_cache.move_to_end(key)
        return _pdf_cache[key]
    sections, records = loads(version)
    content = await pdf.render(pdf.document_context(sections, records, date=cn_date(version["created_at"]), watermark=watermark,
                                                    correction_reason=version["correction_reason"]))
    _pdf_cache[key] = content
    while len(_pdf_cache) > PDF_CACHE_SIZE:
        _pdf_cache.popitem(last=False)
    return content
