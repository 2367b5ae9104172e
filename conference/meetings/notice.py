"""The 会议通知 as text: what every copy of the notice says (the e-mail, the reply page, the .ics
DESCRIPTION and the A4 PDF), from the plain meeting context of conference.calendar.data
(meeting, conference, presiding convenor, agenda in order). One place, so the copies never differ.

Imports nothing of the other domains: conference.calendar uses it too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from conference.i18n import gettext as _
from conference.timefmt import cn_date, cn_datetime, local

# Used when the office left 参会要求 empty (and for meetings made before the field existed).
DEFAULT_REQUIREMENTS = _(
    "请各成员单位主要负责同志（或分管负责同志）准时参会，提前10分钟到场签到；"
    "确因特殊情况不能参会的，请在回执截止时间前回复请假事由，或委托熟悉情况的同志参会。"
    "请做好本单位涉及议题的汇报准备。")


def requirements(meeting: Mapping[str, Any]) -> str:
    return str(meeting.get("requirements") or "").strip() or DEFAULT_REQUIREMENTS


def presiding(meeting: Mapping[str, Any]) -> str:
    name = meeting.get("presiding_name") or ""
    return f"{name} {meeting.get('presiding_title') or ''}".strip() if name else ""


def when(meeting: Mapping[str, Any]) -> str:
    """2026年12月10日 09:00—11:00 (the end date too when the meeting runs past midnight)."""
    start, end = local(meeting["starts_at"]), local(meeting["ends_at"])
    end_text = f"{end:%H:%M}" if end.date() == start.date() else cn_datetime(end)
    return f"{cn_datetime(start)}—{end_text}"


def deadline(meeting: Mapping[str, Any]) -> str:
    value = meeting.get("reply_deadline")
    return cn_datetime(value) if isinstance(value, dt.datetime) else ""


def contact(meeting: Mapping[str, Any]) -> str:
    """联系人：王敏；联系电话：0539-1234567；邮箱：… (the parts the registry has)."""
    parts = []
    if meeting.get("office_contact"):
        parts.append(_("联系人：{name}").format(name=meeting["office_contact"]))
    if meeting.get("office_phone"):
        parts.append(_("联系电话：{phone}").format(phone=meeting["office_phone"]))
    if meeting.get("office_email"):
        parts.append(_("邮箱：{email}").format(email=meeting["office_email"]))
    return "；".join(parts)


def agenda_lines(meeting: Mapping[str, Any]) -> list[str]:
    return [_("{n}. {title}（提请：{street}）").format(n=n, title=a["title"], street=a.get("street_name") or _("办公室"))
            for n, a in enumerate(meeting.get("agenda") or [], 1)]


def detail_lines(meeting: Mapping[str, Any]) -> list[str]:
    """参会要求, 回执截止时间 and the office's contact: the lines every copy adds after the agenda."""
    lines = [_("参会要求：{text}").format(text=requirements(meeting))]
    if deadline(meeting):
        lines.append(_("回执截止时间：{when}（逾期仍可回复，将标注为逾期回复）").format(when=deadline(meeting)))
    office = contact(meeting)
    lines.append(_("联系方式：{office}办公室，{contact}").format(office=meeting.get("conference_name") or "",
                                                        contact=office) if office
                 else _("联系方式：{office}办公室").format(office=meeting.get("conference_name") or ""))
    return lines


def text(meeting: Mapping[str, Any]) -> str:
    """The body of the notice e-mail (before the reply link)."""
    lines = []
    if meeting.get("notice_number"):
        lines.append(_("文号：{number}").format(number=meeting["notice_number"]))
    lines += [
        _("会议：{title}").format(title=meeting["title"]),
        _("时间：{when}").format(when=when(meeting)),
        _("地点：{location}").format(location=meeting.get("location") or _("另行通知")),
    ]
    if presiding(meeting):
        lines.append(_("主持：{name}").format(name=presiding(meeting)))
    agenda = agenda_lines(meeting)
    lines.append(_("议程：") if agenda else _("议程：待定"))
    lines += agenda
    if meeting.get("notes"):
        lines.append(_("备注：{notes}").format(notes=meeting["notes"]))
    return "\n".join(lines + detail_lines(meeting))


def is_late(replied_at: Any, reply_deadline: Any) -> bool:
    """A reply given after the reply deadline: taken all the same, and shown as 逾期回复."""
    return isinstance(replied_at, dt.datetime) and isinstance(reply_deadline, dt.datetime) and replied_at > reply_deadline


def pdf_context(meeting: Mapping[str, Any], *, units: list[str], date: dt.date) -> dict[str, Any]:
    """The plain values of templates/pdf/meeting_notice.html."""
    return {
        "doc_title": _("关于召开{title}的通知").format(title=meeting["title"]),
        "author": _("{conference}办公室").format(conference=meeting.get("conference_name") or ""),
        "subject": meeting["title"], "keywords": meeting.get("conference_name") or "",
        "issuer": _("{conference}办公室").format(conference=meeting.get("conference_name") or ""),
        "doc_number": meeting.get("notice_number") or "",
        "units": "、".join(units), "title": meeting["title"], "when": when(meeting),
        "location": meeting.get("location") or _("另行通知"), "presiding": presiding(meeting),
        "agenda": [a["title"] for a in meeting.get("agenda") or []],
        "requirements": requirements(meeting), "deadline": deadline(meeting), "contact": contact(meeting),
        "date": cn_date(date),
    }
