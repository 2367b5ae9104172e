"""The minutes from draft to sign-off: the office starts them from the meeting's records, every save
is a numbered version with a conflict check, submission goes to the convenor, who comments, returns
or approves (签发: the 文号 is given and the minutes are published); a correction is a new draft
with a stated reason and its own sign-off."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.audit.services import record
from conference.documents import numbers
from conference.errors import Conflict, Forbidden
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.meetings.services import meeting_for
from conference.meetings.tables import Meeting
from conference.minutes import pdf
from conference.minutes.content import gather_records, initial_sections, read_sections, snapshot
from conference.minutes.publication import distribute
from conference.minutes.services import (
    EDITABLE,
    SECTION_LABELS,
    STALE,
    STALE_AT_SIGNING,
    loads,
    minutes_for,
    minutes_row,
    require_convenor,
    require_office,
    version_row,
    wrong_state,
)
from conference.minutes.tables import Minutes, MinutesComment, MinutesPublication, MinutesVersion
from conference.notifications.services import queue
from conference.records import insert_audited, update_audited
from conference.registry.tables import Conference, ConvenorAppointment
from conference.roles import SUPERVISORS, Role
from conference.settings import get_settings
from conference.timefmt import cn_date, cn_datetime, local, now, today


def _base(data: Mapping[str, Any], *, required: bool = False) -> int | None:
    """The version the editor started from (hidden field `base`)."""
    form = FormReader(data)
    number = form.ref("base", _("版本"), required=required)
    form.done()
    return number


# ---------------------------------------------------------------- drafting


async def _next_issue_number(conference_id: int, year: int) -> int:
    """The next 第N期 of the conference in `year`, under the conference's row lock; and
    the unique index on (conference, issue_year, issue_number) refuses a duplicate all the same."""
    await db.lock_row(Conference, conference_id)
    last = await Minutes.select(Minutes.issue_number).where(
        (Minutes.conference == conference_id) & (Minutes.issue_year == year)).order_by(Minutes.issue_number, ascending=False).first()
    return 1 + ((last["issue_number"] or 0) if last else 0)


async def _add_version(actor: Actor, minutes_id: int, number: int, sections: Mapping[str, str], records: Mapping[str, Any],
                       reason: str) -> None:
    """A version row; the caller's audited change of `current_version` puts it on the trail."""
    await MinutesVersion.insert(MinutesVersion(
        minutes=minutes_id, number=number, sections=json.dumps(sections, ensure_ascii=False),
        records=json.dumps(snapshot(records), ensure_ascii=False), correction_reason=reason, author=actor.id,
        author_name=actor.label, created_at=now()))


async def start_minutes(actor: Actor, meeting_id: int) -> int:
    """The office starts the minutes of a held meeting from a draft written from its records."""
    require_office(actor)
    async with db.atomic(Meeting, meeting_id):
        meeting = await meeting_for(actor, meeting_id)
        if await Minutes.exists().where(Minutes.meeting == meeting_id):
            raise Conflict(_("该会议的纪要已经开始起草。"))
        if meeting["status"] != "held":
            from conference.meetings.states import MEETING_STATUS_LABELS

            raise Conflict(_("会议当前状态为“{state}”：会议召开后才能起草纪要。").format(
                state=MEETING_STATUS_LABELS.get(meeting["status"], meeting["status"])))
        records = await gather_records(meeting_id)
        year = local(meeting["starts_at"]).year
        issue = await _next_issue_number(meeting["conference"], year)
        sections = initial_sections(records, issue)
        minutes_id = await insert_audited(actor, Minutes, "minutes", {
            "meeting": meeting_id, "conference": meeting["conference"], "status": "draft", "current_version": 1,
            "issue_year": year, "issue_number": issue, "created_at": now()}, conference_id=meeting["conference"])
        await _add_version(actor, minutes_id, 1, sections, records, "")
        return minutes_id


async def save_version(actor: Actor, minutes_id: int, data: Mapping[str, Any]) -> int:
    """Every save is a new version. `base` names the version the editor started from: if someone
    saved since, nothing is written and the caller shows the editor's text with the conflict."""
    require_office(actor)
    sections = read_sections(data)
    base = _base(data, required=True)
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if minutes["status"] not in EDITABLE:
            raise wrong_state(minutes["status"], _("修改"))
        latest = minutes["current_version"]
        if base != latest:
            other = await version_row(minutes_id, latest)
            raise Conflict(_("在您编辑期间，{author}于{at}保存了第{n}版（您是在第{base}版的基础上修改的）。您输入的内容仍在下方，"
                             "尚未保存；请先对照第{n}版的改动，再决定是否保存。").format(
                author=other["author_name"], at=cn_datetime(other["created_at"]), n=latest, base=base))
        records = await gather_records(minutes["meeting"])
        number = latest + 1
        await update_audited(actor, Minutes, "minutes", minutes, {"current_version": number}, expected_version=None,
                             action="save_version", conference_id=minutes["conference"])
        await _add_version(actor, minutes_id, number, sections, records, minutes["correction_reason"])
        return number


async def _convenor_emails(conference_id: int) -> list[str]:
    day = today()
    rows = await ConvenorAppointment.select(ConvenorAppointment.person.email.as_alias("email")).where(
        (ConvenorAppointment.conference == conference_id) & (ConvenorAppointment.start_date <= day)
        & (ConvenorAppointment.end_date.is_null() | (ConvenorAppointment.end_date >= day)))
    return sorted({r["email"] for r in rows if r["email"]})


def _page_url(meeting_id: int) -> str:
    return f"{get_settings().base_url}/meetings/{meeting_id}/minutes"


async def is_stale(meeting_id: int, version: Mapping[str, Any]) -> bool:
    _sections, stored = loads(version)
    return bool(stored.get("resolutions") != snapshot(await gather_records(meeting_id))["resolutions"])


async def submit_minutes(actor: Actor, minutes_id: int, data: Mapping[str, Any]) -> int:
    """The office sends the latest version to the convenor; the meeting goes into review."""
    require_office(actor)
    base = _base(data)
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if minutes["status"] not in EDITABLE:
            raise wrong_state(minutes["status"], _("送审"))
        number = minutes["current_version"]
        if base is not None and base != number:
            raise Conflict(_("纪要已有更新的第{n}版，请核对后再送审。").format(n=number))
        version = await version_row(minutes_id, number)
        if await is_stale(minutes["meeting"], version):
            raise Conflict(STALE)
        await MinutesVersion.update({MinutesVersion.submitted_at: now()}).where(MinutesVersion.id == version["id"])
        await update_audited(actor, Minutes, "minutes", minutes, {"status": "submitted", "submitted_version": number},
                             expected_version=None, action="submit", conference_id=minutes["conference"])
        meeting = await Meeting.select().where(Meeting.id == minutes["meeting"]).first()
        assert meeting is not None
        if meeting["status"] == "held":
            await update_audited(actor, Meeting, "meeting", meeting, {"status": "minutes_in_review"}, expected_version=None,
                                 action="minutes_submitted", conference_id=meeting["conference"])
        sections, _records = loads(version)
        for email in await _convenor_emails(minutes["conference"]):
            await queue("minutes_submitted", conference_id=minutes["conference"], email=email, entity="minutes", entity_id=minutes_id,
                        subject=_("【纪要送审】{title}").format(title=sections["title"]),
                        body=_("{meeting}的纪要（第{n}版）已送您审核签发：{url}").format(
                            meeting=meeting["title"], n=number, url=_page_url(meeting["id"])))
        return number


def _comment_values(data: Mapping[str, Any], *, required: bool) -> tuple[str, str]:
    form = FormReader(data)
    section = form.choice("section", _("意见针对的部分"), {"": "", **SECTION_LABELS}, required=False)
    text = form.text("text", _("意见"), required=required, max_length=2000)
    form.done()
    return section, text


async def _comment(actor: Actor, minutes: Mapping[str, Any], number: int, kind: str, section: str, text: str) -> None:
    await MinutesComment.insert(MinutesComment(
        minutes=minutes["id"], version_number=number, section=section, kind=kind, text=text, author=actor.id,
        author_name=actor.label, created_at=now()))
    await record(actor, "comment", "minutes", int(minutes["id"]),
                 after={"version": number, "kind": kind, "section": section, "text": text}, conference_id=minutes["conference"])


async def add_comment(actor: Actor, minutes_id: int, data: Mapping[str, Any]) -> None:
    """A remark on the whole text or on one section, on the version under review (or the latest)."""
    if actor.role not in SUPERVISORS:
        raise Forbidden(_("只有召集人和联席会议办公室可以提出意见。"))
    section, text = _comment_values(data, required=True)
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if actor.role == Role.CONVENOR:
            # The convenor remarks on what was submitted (the version under review, or the last one).
            if minutes["submitted_version"] is None:
                raise Conflict(_("纪要尚未送审。"))
            number = minutes["submitted_version"]
        else:
            number = minutes["current_version"]
        await _comment(actor, minutes, number, "comment", section, text)


async def return_minutes(actor: Actor, minutes_id: int, data: Mapping[str, Any]) -> None:
    """The convenor sends the submitted version back to the office with the reason."""
    require_convenor(actor)
    section, text = _comment_values(data, required=True)
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if minutes["status"] != "submitted":
            raise wrong_state(minutes["status"], _("退回"))
        await update_audited(actor, Minutes, "minutes", minutes, {"status": "returned"}, expected_version=None,
                             action="return", conference_id=minutes["conference"])
        await _comment(actor, minutes, minutes["submitted_version"], "return", section, text)
        office = await Conference.select(Conference.office_email).where(Conference.id == minutes["conference"]).first()
        if office and office["office_email"]:
            await queue("minutes_returned", conference_id=minutes["conference"], email=office["office_email"], entity="minutes", entity_id=minutes_id,
                        subject=_("【纪要退回】第{n}版需修改").format(n=minutes["submitted_version"]),
                        body=_("召集人意见：{text}\n{url}").format(text=text, url=_page_url(minutes["meeting"])))


async def approve_minutes(actor: Actor, minutes_id: int, data: Mapping[str, Any]) -> int:
    """签发: the convenor approves the version he or she read (`number`). The PDF/A is rendered
    once, here, and stored; the meeting moves to minutes_published; the outbox tells every invited
    unit and every submitting street. Returns the publication's sequence number."""
    require_convenor(actor)
    form = FormReader(data)
    number = form.ref("number", _("版本"))
    text = form.text("text", _("签发意见"), max_length=2000)
    form.done()
    assert number is not None  # required: form.done() has refused a missing one
    minutes = await minutes_for(actor, minutes_id)
    if minutes["status"] != "submitted":
        raise wrong_state(minutes["status"], _("签发"))
    if number != minutes["submitted_version"]:
        raise Conflict(_("送审的版本已变化（现为第{n}版），请重新阅读后再签发。").format(n=minutes["submitted_version"]))
    version = await version_row(minutes_id, number)
    if await is_stale(minutes["meeting"], version):
        raise Conflict(STALE_AT_SIGNING)
    sections, records = loads(version)
    day = today()
    doc_number = await _doc_number(actor, minutes_id, number, day.year)
    # Rendered before the transaction (a fraction of a second in a worker thread), so the write
    # lock is not held meanwhile; the transaction checks that nothing changed since.
    content = await pdf.render(pdf.document_context(sections, records, date=cn_date(day), doc_number=doc_number,
                                                    correction_reason=version["correction_reason"]), archival=True)
    digest = hashlib.sha256(content).hexdigest()
    async with db.atomic(Minutes, minutes_id):
        current = await minutes_row(minutes_id)
        if current["status"] != "submitted" or current["submitted_version"] != number:
            raise Conflict(_("纪要状态已变化，请刷新页面。"))
        seq = await MinutesPublication.count().where(MinutesPublication.minutes == minutes_id) + 1
        await MinutesPublication.insert(MinutesPublication(
            minutes=minutes_id, seq=seq, version_number=number, reason=version["correction_reason"], pdf=content,
            sha256=digest, size=len(content), published_at=now(), published_by=actor.id, published_by_name=actor.label))
        await MinutesVersion.update({MinutesVersion.approved_at: now(), MinutesVersion.approved_by: actor.id,
                                     MinutesVersion.approved_by_name: actor.label}).where(MinutesVersion.id == version["id"])
        await update_audited(actor, Minutes, "minutes", current, {
            "status": "published", "published_version": number, "correction_reason": ""}, expected_version=None,
            action="approve", conference_id=current["conference"])
        await _comment(actor, current, number, "approve", "", text)
        await record(actor, "publish", "minutes", minutes_id, after={"seq": seq, "version": number, "sha256": digest},
                     conference_id=current["conference"])
        meeting = await Meeting.select().where(Meeting.id == current["meeting"]).first()
        assert meeting is not None
        if meeting["status"] != "minutes_published":
            await update_audited(actor, Meeting, "meeting", meeting, {"status": "minutes_published"}, expected_version=None,
                                 action="minutes_published", conference_id=meeting["conference"])
        await distribute(minutes_id, meeting, sections["title"], seq, digest, version["correction_reason"], doc_number)
        return seq


async def _doc_number(actor: Actor, minutes_id: int, number: int, year: int) -> str:
    """The minutes' 文号, given at the first 签发 and kept by every correction. It is stored in a
    transaction of its own before the PDF is rendered (the PDF prints it, and rendering outside the
    write transaction keeps the lock short); should that approval then fail, the minutes keep the
    number for the next one, so no number is given twice nor left out of use."""
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_row(minutes_id)
        if minutes["doc_number"]:
            return str(minutes["doc_number"])
        if minutes["status"] != "submitted" or minutes["submitted_version"] != number:
            raise Conflict(_("纪要状态已变化，请刷新页面。"))
        doc_number = await numbers.assign(minutes["conference"], year)
        if doc_number:
            await update_audited(actor, Minutes, "minutes", minutes, {"doc_number": doc_number}, expected_version=None,
                                 action="number", conference_id=minutes["conference"])
        return doc_number


async def start_correction(actor: Actor, minutes_id: int, data: Mapping[str, Any]) -> int:
    """A correction of published minutes: a new version (copied from the one in force, records
    refreshed) carrying the reason, to be signed again. The published copy stays in force."""
    require_office(actor)
    form = FormReader(data)
    reason = form.text("reason", _("更正原因"), required=True, max_length=1000)
    form.done()
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if minutes["status"] != "published":
            raise wrong_state(minutes["status"], _("发起更正"))
        published = await version_row(minutes_id, minutes["published_version"])
        sections, _records = loads(published)
        records = await gather_records(minutes["meeting"])
        number = minutes["current_version"] + 1
        await update_audited(actor, Minutes, "minutes", minutes, {
            "status": "draft", "current_version": number, "correction_reason": reason, "submitted_version": None},
            expected_version=None, action="start_correction", conference_id=minutes["conference"])
        await _add_version(actor, minutes_id, number, sections, records, reason)
        return number
