"""What a minutes version says: the meeting's records it is made from (attendance, agenda items and
their outcomes, resolutions and their tasks), kept with each version as a snapshot; the first
draft's sections written from them; the sections read back from the form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from conference.db import fetch
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.minutes.services import SECTIONS
from conference.timefmt import cn_date, local


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
