"""Minutes rules: a draft generated from the meeting's records, every save a numbered version with
a conflict check, submission to the convenor, comments, return or approval (签发). Approval renders
the PDF/A once, stores its bytes with their SHA-256, moves the meeting to minutes_published and
sends each invited unit and each submitting street its own tasks through the outbox. A correction
is a new draft with a stated reason and its own sign-off; earlier publications stay available.

Who may do what: the office (admin/office, by conference scope) drafts, saves, submits and starts
corrections; the convenor of the conference (a current appointment: accounts.scope) reads what was
submitted, comments, returns and approves. Anyone who may see the meeting (a unit only when invited,
a street when its item was on it) may download the published copy. Out of scope answers 404.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conference import db
from conference.accounts.actor import Actor
from conference.audit.services import record
from conference.db import fetch
from conference.documents import numbers
from conference.errors import Conflict, Forbidden, NotFound
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.mail import attachments
from conference.meetings.services import meeting_for
from conference.meetings.tables import Meeting
from conference.minutes import pdf
from conference.minutes.tables import Minutes, MinutesComment, MinutesPublication, MinutesVersion
from conference.minutes.visibility import DRAFT_READERS, visible_minutes
from conference.notifications.services import queue
from conference.records import insert_audited, update_audited
from conference.registry.tables import Conference, ConvenorAppointment
from conference.settings import get_settings
from conference.tasks.states import ROLE_LABELS as TASK_ROLE_LABELS
from conference.timefmt import cn_date, cn_datetime, local, now, today
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
STATUS_LABELS = {"draft": _("起草中"), "submitted": _("待签发"), "returned": _("已退回修改"), "published": _("已签发印发")}
COMMENT_LABELS = {"comment": _("意见"), "return": _("退回"), "approve": _("签发")}
EDITABLE = ("draft", "returned")
OFFICE = ("admin", "office")
MINUTES_NOT_FOUND = _("没有找到该会议纪要，或您无权查看。")
WATERMARK_DRAFT = _("草稿")
WATERMARK_REVIEW = _("征求意见稿")
STALE = _("会议的议定事项在本版保存后有变化，请先保存新的版本（将按最新记录生成），核对后再送审。")
STALE_AT_SIGNING = _("会议的议定事项在送审后有变化，送审稿已不完整：请退回办公室按最新记录更新后重新送审。")


def _wrong_state(status: str, doing: str) -> Conflict:
    return Conflict(_("纪要当前状态为“{state}”，不能{doing}。").format(state=STATUS_LABELS.get(status, status), doing=doing))


def _office(actor: Actor) -> None:
    if actor.role not in OFFICE:
        raise Forbidden(_("只有联席会议办公室可以执行此操作。"))


def _convenor(actor: Actor) -> None:
    if actor.role != "convenor":
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
    if actor.role not in DRAFT_READERS:
        raise Forbidden(_("您的角色无权查看纪要草稿。"))
    return await visible_row(Minutes, minutes_id, await visible_minutes(actor), MINUTES_NOT_FOUND)


async def meeting_in_scope(actor: Actor, meeting_id: int) -> dict[str, Any]:
    """The meeting for the minutes pages: office and convenor by the conferences they see."""
    if actor.role not in ("admin", "office", "convenor"):
        raise Forbidden(_("您的角色无权查看纪要草稿。"))
    return await meeting_for(actor, meeting_id)


async def minutes_of_meeting(meeting_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = await Minutes.select().where(Minutes.meeting == meeting_id).first()
    return row


def visible_to(actor: Actor, version: Mapping[str, Any]) -> bool:
    """The convenor reads what was submitted to him or her; the office reads every version."""
    return actor.role != "convenor" or version["submitted_at"] is not None


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


# ---------------------------------------------------------------- the records a draft is made from


async def gather_records(meeting_id: int) -> dict[str, Any]:
    """The meeting's facts, attendance, agenda and resolutions as plain values (five queries)."""
    meeting = (await fetch(
        """SELECT m.id, m.title, m.kind, m.starts_at, m.location, c.id AS conference_id, c.name AS conference_name,
                  p.name AS presiding_name, p.title AS presiding_title
           FROM meeting m JOIN conference c ON c.id = m.conference LEFT JOIN person p ON p.id = m.presiding
           WHERE m.id = {}""", meeting_id))[0]
    invitations = await fetch(
        """SELECT i.role, i.reply, i.attendance, i.attendee_name, i.attendee_title, u.name AS unit_name
           FROM invitation i JOIN member_unit u ON u.id = i.unit WHERE i.meeting = {} ORDER BY i.id""", meeting_id)
    items = await fetch(
        """SELECT a.title, s.name AS street_name FROM agenda_slot sl JOIN agenda_item a ON a.id = sl.item
           LEFT JOIN street s ON s.id = a.street WHERE sl.meeting = {} ORDER BY sl.id""", meeting_id)
    resolutions = await fetch(
        """SELECT r.id, r.number, r.text, r.deadline, u.name AS lead_name FROM resolution r
           JOIN member_unit u ON u.id = r.lead_unit WHERE r.meeting = {} ORDER BY r.number, r.id""", meeting_id)
    cooperating = await fetch(
        """SELECT ru.resolution, u.name FROM resolution_unit ru JOIN resolution r ON r.id = ru.resolution
           JOIN member_unit u ON u.id = ru.unit WHERE r.meeting = {} AND ru.role = 'cooperate' ORDER BY ru.id""", meeting_id)
    start = local(meeting["starts_at"])
    return {
        "meeting": {
            "title": meeting["title"], "kind": meeting["kind"], "conference_name": meeting["conference_name"],
            "date": cn_date(start.date()), "time": f"{start:%H:%M}", "location": meeting["location"],
            "presiding_name": meeting["presiding_name"] or "", "presiding_title": meeting["presiding_title"] or "",
        },
        "resolutions": [
            {"number": r["number"], "text": r["text"], "lead": r["lead_name"],
             "cooperating": [c["name"] for c in cooperating if c["resolution"] == r["id"]],
             "deadline": cn_date(r["deadline"] if isinstance(r["deadline"], dt.date) else dt.date.fromisoformat(str(r["deadline"])))}
            for r in resolutions
        ],
        "invitations": invitations,
        "items": [i["title"] for i in items],
        "streets": sorted({i["street_name"] for i in items if i["street_name"]}),
        "hour": start.hour,
    }


def snapshot(records: Mapping[str, Any]) -> dict[str, Any]:
    """What a version keeps of the records: the meeting's facts and its resolutions."""
    return {"meeting": records["meeting"], "resolutions": records["resolutions"]}


def _attendance(inv: Mapping[str, Any]) -> str:
    """Signed-in attendance, else what the unit answered."""
    if inv["attendance"]:
        return str(inv["attendance"])
    return {"attending": "present", "delegated": "present", "leave": "leave"}.get(inv["reply"], "")


def _who(inv: Mapping[str, Any]) -> str:
    return f"{inv['unit_name']}{inv['attendee_title']}{inv['attendee_name']}"


def initial_sections(records: Mapping[str, Any], issue_number: int) -> dict[str, str]:
    """The first draft, written from the records the way the office would write it."""
    m = records["meeting"]
    name = m["conference_name"]
    title = name + (_("纪要") if name.endswith(_("会议")) else _("会议纪要"))
    period = _("上午") if records["hour"] < 12 else _("下午")
    if m["presiding_name"]:
        opening = _("{date}{period}，{conference}召集人{presiding}同志在{location}主持召开{meeting}。").format(
            date=m["date"], period=period, conference=name, presiding=m["presiding_name"], location=m["location"],
            meeting=m["title"])
    else:
        opening = _("{date}{period}，{conference}在{location}召开{meeting}。").format(
            date=m["date"], period=period, conference=name, location=m["location"], meeting=m["title"])
    items = records["items"]
    if items:
        topics = _("会议听取了有关街道提请事项的汇报，研究了{topics}等{n}项议题。").format(
            topics=_("、").join(f"“{t}”" for t in items), n=len(items))
    else:
        topics = _("会议通报了联席会议工作情况，研究部署了下一阶段工作。")
    resolutions = records["resolutions"]
    summary = opening + topics + (_("现将会议议定事项纪要如下。") if resolutions else "")
    invitations = records["invitations"]
    present = [m["presiding_title"] + m["presiding_name"]] if m["presiding_name"] else []
    present += [_who(i) for i in invitations if i["role"] == "member" and _attendance(i) == "present"]
    leave = [_who(i) for i in invitations if i["role"] == "member" and _attendance(i) == "leave"]
    observers = [_who(i) for i in invitations if i["role"] == "observer" and _attendance(i) == "present"]
    streets = records["streets"]
    distribution = _("联席会议各成员单位") + (_("，") + _("、").join(_("{street}党工委").format(street=s) for s in streets)
                                       if streets else "") + _("。")
    return {
        "title": title,
        "issue": _("第{n}期").format(n=issue_number),
        "issuer": _("{conference}办公室").format(conference=name),
        "summary": summary,
        "decisions_intro": _("经研究，会议议定以下事项：") if resolutions else _("本次会议未形成议定事项。"),
        "requirements": _("各成员单位要按照议定事项明确的分工和时限抓好落实，牵头单位要主动对接配合单位，办理进展及时报送"
                          "联席会议办公室；联席会议办公室要加强跟踪督办，定期通报办理情况，办理结果纳入年度考核。"),
        "present": _("，").join(present),
        "leave": _("，").join(leave),
        "observers": _("，").join(observers),
        "distribution": distribution,
    }


def read_sections(data: Mapping[str, Any]) -> dict[str, str]:
    form = FormReader(data)
    values = {}
    for s in SECTIONS:
        values[s.key] = form.text(s.key, s.label, required=s.key in ("title", "issuer"), max_length=s.max_length)
        if not s.multiline and "\n" in values[s.key]:
            form.fail(s.key, _("{label}只能填写一行。").format(label=s.label))
    form.done()
    return values


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
    _office(actor)
    async with db.atomic(Meeting, meeting_id):
        meeting = await meeting_for(actor, meeting_id)
        if await Minutes.exists().where(Minutes.meeting == meeting_id):
            raise Conflict(_("该会议的纪要已经开始起草。"))
        if meeting["status"] != "held":
            from conference.meetings.services import STATUS_LABELS as MEETING_STATUS

            raise Conflict(_("会议当前状态为“{state}”：会议召开后才能起草纪要。").format(
                state=MEETING_STATUS.get(meeting["status"], meeting["status"])))
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
    _office(actor)
    sections = read_sections(data)
    base = _base(data, required=True)
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if minutes["status"] not in EDITABLE:
            raise _wrong_state(minutes["status"], _("修改"))
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
    _office(actor)
    base = _base(data)
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if minutes["status"] not in EDITABLE:
            raise _wrong_state(minutes["status"], _("送审"))
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
    if actor.role not in ("convenor", *OFFICE):
        raise Forbidden(_("只有召集人和联席会议办公室可以提出意见。"))
    section, text = _comment_values(data, required=True)
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if actor.role == "convenor":
            # The convenor remarks on what was submitted (the version under review, or the last one).
            if minutes["submitted_version"] is None:
                raise Conflict(_("纪要尚未送审。"))
            number = minutes["submitted_version"]
        else:
            number = minutes["current_version"]
        await _comment(actor, minutes, number, "comment", section, text)


async def return_minutes(actor: Actor, minutes_id: int, data: Mapping[str, Any]) -> None:
    """The convenor sends the submitted version back to the office with the reason."""
    _convenor(actor)
    section, text = _comment_values(data, required=True)
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if minutes["status"] != "submitted":
            raise _wrong_state(minutes["status"], _("退回"))
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
    _convenor(actor)
    form = FormReader(data)
    number = form.ref("number", _("版本"))
    text = form.text("text", _("签发意见"), max_length=2000)
    form.done()
    assert number is not None  # required: form.done() has refused a missing one
    minutes = await minutes_for(actor, minutes_id)
    if minutes["status"] != "submitted":
        raise _wrong_state(minutes["status"], _("签发"))
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
    _office(actor)
    form = FormReader(data)
    reason = form.text("reason", _("更正原因"), required=True, max_length=1000)
    form.done()
    async with db.atomic(Minutes, minutes_id):
        minutes = await minutes_for(actor, minutes_id)
        if minutes["status"] != "published":
            raise _wrong_state(minutes["status"], _("发起更正"))
        published = await version_row(minutes_id, minutes["published_version"])
        sections, _records = loads(published)
        records = await gather_records(minutes["meeting"])
        number = minutes["current_version"] + 1
        await update_audited(actor, Minutes, "minutes", minutes, {
            "status": "draft", "current_version": number, "correction_reason": reason, "submitted_version": None},
            expected_version=None, action="start_correction", conference_id=minutes["conference"])
        await _add_version(actor, minutes_id, number, sections, records, reason)
        return number


# ---------------------------------------------------------------- distribution


def published_url(minutes_id: int, seq: int | None = None) -> str:
    base = get_settings().base_url
    return f"{base}/minutes/{minutes_id}/published.pdf" if seq is None else f"{base}/minutes/{minutes_id}/publications/{seq}.pdf"


async def distribute(minutes_id: int, meeting: Mapping[str, Any], title: str, seq: int, digest: str, reason: str,
                     doc_number: str = "") -> int:
    """One outbox message to each invited unit and each street whose item was on the meeting, with
    the published PDF attached (by reference to the stored publication, conference.mail.attachments;
    above MAIL_ATTACHMENT_MAX_BYTES only its link, downloadable after log-in), its SHA-256, and the
    recipient's own tasks from this meeting."""
    tasks = await fetch(
        """SELECT t.id, t.unit, t.street, t.role, t.deadline, r.number, r.text, u.name AS unit_name
           FROM task t JOIN resolution r ON r.id = t.resolution JOIN member_unit u ON u.id = t.unit
           WHERE r.meeting = {} ORDER BY r.number, t.id""", meeting["id"])
    units = await fetch("SELECT DISTINCT unit FROM invitation WHERE meeting = {} ORDER BY unit", meeting["id"])
    streets = await fetch(
        """SELECT DISTINCT a.street FROM agenda_slot sl JOIN agenda_item a ON a.id = sl.item
           WHERE sl.meeting = {} AND a.street IS NOT NULL ORDER BY a.street""", meeting["id"])
    base = get_settings().base_url
    event = "minutes_corrected" if seq > 1 else "minutes_published"
    subject = (_("【纪要更正】{title}") if seq > 1 else _("【会议纪要】{title}")).format(title=title)
    head = _("{meeting}的会议纪要已经召集人签发印发。").format(meeting=meeting["title"])
    if doc_number:
        head += "\n" + _("文号：{number}").format(number=doc_number)
    if reason:
        head += "\n" + _("本次为更正版，更正原因：{reason}").format(reason=reason)
    publication = (await fetch("SELECT id, size, sha256 FROM minutes_publication WHERE minutes = {} AND seq = {}",
                               minutes_id, seq))[0]
    cap = get_settings().mail_attachment_max_bytes
    attach = attachments.fits(int(publication["size"]), cap)
    filename = _("{title}.pdf").format(title=title or _("会议纪要"))
    if attach:
        head += "\n" + _("纪要 PDF 见附件（{name}），也可登录后下载：{url}").format(name=filename, url=published_url(minutes_id))
    else:
        head += "\n" + _("纪要 PDF 超过 {mb} MB，未作为附件发送，请登录后下载：{url}").format(
            mb=max(1, cap // (1024 * 1024)), url=published_url(minutes_id))
    head += "\n" + _("SHA-256：{sha}（可用于核对所收文件与印发件一致）").format(sha=digest)

    def lines(rows: list[dict[str, Any]], with_unit: bool) -> str:
        out = []
        for i, t in enumerate(rows, 1):
            deadline = t["deadline"] if isinstance(t["deadline"], dt.date) else dt.date.fromisoformat(str(t["deadline"]))
            who = f"{t['unit_name']}，" if with_unit else ""
            out.append(_("{i}. 议定事项{n}：{text}（{who}{role}，办结期限{deadline}）{url}").format(
                i=i, n=pdf.cn_number(t["number"]), text=t["text"], who=who, role=TASK_ROLE_LABELS.get(t["role"], t["role"]),
                deadline=cn_date(deadline), url=f"{base}/tasks/{t['id']}"))
        return "\n".join(out)

    sent = 0
    for row in units:
        own = [t for t in tasks if t["unit"] == row["unit"]]
        body = head + "\n\n" + (_("本单位承办的督办任务：") + "\n" + lines(own, False) if own else _("本次会议未向本单位交办督办任务。"))
        notification_id = await queue(event, conference_id=meeting["conference"], unit_id=row["unit"], entity="minutes",
                                      entity_id=minutes_id, subject=subject, body=body,
                                      dedupe_key=f"minutes-{minutes_id}-{seq}-unit-{row['unit']}")
        if notification_id is not None:
            sent += 1
            if attach:
                await attachments.attach_publication(notification_id, publication, filename)
    for row in streets:
        own = [t for t in tasks if t["street"] == row["street"]]
        body = head + "\n\n" + (_("本街道提请议题形成的督办任务：") + "\n" + lines(own, True) if own
                                else _("本街道提请的议题在本次会议未形成督办任务。"))
        if await queue(event, conference_id=meeting["conference"], street_id=row["street"], entity="minutes", entity_id=minutes_id, subject=subject, body=body,
                       dedupe_key=f"minutes-{minutes_id}-{seq}-street-{row['street']}") is not None:
            sent += 1
    return sent


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
