"""The papers of a meeting (会议材料), each an A4 PDF in the official style and fonts of the
minutes (templates/pdf/meeting_*.html, static/pdf/papers.css, rendered by conference.minutes.pdf):

- 签到表: one row per invited unit (members first, then 列席), the attendee its reply named and
  an empty column for the signature on the day;
- 议程: the agenda in order, with time, place and who presides;
- 参会回执汇总表: each invited unit's reply, attendees, reply time, and 逾期 for a reply after the
  meeting's 回执截止时间 (or none yet when it has passed).

For the office (by conference scope) and the conference's convenor; 404 for everyone else, as for
a meeting out of scope. Presenters only: plain values from the meeting page's own query
(meetings.views.meeting_detail), nothing written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from conference.accounts.actor import Actor
from conference.db import as_datetime
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.meetings.services import KIND_LABELS, MEETING_NOT_FOUND, meeting_for
from conference.meetings.states import REPLY_LABELS
from conference.meetings.views import meeting_detail
from conference.minutes import pdf
from conference.roles import SUPERVISORS
from conference.timefmt import cn_date, cn_datetime, cn_time, local, now, today

PAPERS = {"signin": _("签到表"), "agenda": _("议程"), "replies": _("参会回执汇总表")}
TEMPLATES = {name: f"pdf/meeting_{name}.html" for name in PAPERS}
ATTENDING = ("attending", "delegated", "tentative")


def _attendee(inv: Mapping[str, Any]) -> str:
    """Who the unit sends, as its reply named them (title then name, as on the minutes)."""
    if inv["reply"] not in ATTENDING:
        return ""
    return f"{inv['attendee_title'] or ''}{inv['attendee_name'] or ''}"


def _late(inv: Mapping[str, Any], deadline: dt.datetime | None, moment: dt.datetime) -> str:
    """逾期: replied after the deadline (meeting_detail's flag, by meetings.notice.is_late), or not
    yet replied when it has passed (the 回执 column says 未回复)."""
    if inv.get("late") or (deadline is not None and inv["reply"] == "pending" and moment > deadline):
        return _("逾期")
    return ""


def paper_context(detail: Mapping[str, Any], name: str, moment: dt.datetime) -> dict[str, Any]:
    """The plain values a paper shows, from `meeting_detail`'s rows."""
    meeting = detail["meeting"]
    starts, ends = as_datetime(meeting["starts_at"]), as_datetime(meeting["ends_at"])
    assert starts is not None
    deadline = as_datetime(meeting.get("reply_deadline"))
    units = []
    for inv in detail["invitations"]:
        observer = inv["role"] == "observer"
        units.append({
            "unit": inv["unit_name"] + (_("（列席）") if observer else ""),
            "attendee": _attendee(inv),
            "reply": REPLY_LABELS.get(inv["reply"], inv["reply"]),
            "leave_reason": inv["leave_reason"] or "" if inv["reply"] == "leave" else "",
            "replied_at": cn_datetime(as_datetime(inv["replied_at"])) if inv["replied_at"] else "",
            "late": _late(inv, deadline, moment),
        })
    invitations = detail["invitations"]
    # The items on the meeting in their order, then those decided there that have since moved on.
    shown = {i["id"] for i in detail["items"]}
    on_agenda = [*detail["items"], *(i for i in detail["history"] if i["id"] not in shown)]
    items = [{"ordinal": pdf.cn_number(n) + _("、"), "title": i["title"], "street": i["street_name"] or _("联席会议办公室")}
             for n, i in enumerate(on_agenda, 1)]
    presiding = f"{meeting.get('presiding_title') or ''}{meeting.get('presiding_name') or ''}"
    return {
        "paper": PAPERS[name],
        "doc_title": f"{meeting['title']}{PAPERS[name]}",
        "conference_name": meeting["conference_name"],
        "office": _("{conference}办公室").format(conference=meeting["conference_name"]),
        "title": meeting["title"],
        "kind": KIND_LABELS.get(meeting["kind"], meeting["kind"]),
        "time": f"{cn_datetime(starts)}—{cn_time(ends)}" if ends else cn_datetime(starts),
        "date": cn_date(local(starts).date()),
        "location": meeting["location"],
        "presiding": presiding,
        "units": units,
        "items": items,
        "reply_deadline": cn_datetime(deadline) if deadline else "",
        "counts": {
            "invited": len(invitations),
            "replied": sum(1 for i in invitations if i["reply"] != "pending"),
            "attending": sum(1 for i in invitations if i["reply"] in ATTENDING),
            "leave": sum(1 for i in invitations if i["reply"] == "leave"),
            "pending": sum(1 for i in invitations if i["reply"] == "pending"),
            "late": sum(1 for u in units if u["late"]),
        },
        "as_of": cn_datetime(moment),
        "made_on": cn_date(today()),
    }


async def meeting_paper(actor: Actor, meeting_id: int, name: str) -> tuple[bytes, str, str]:
    """The paper `name` of the meeting as PDF bytes, its Chinese file name and an ASCII one."""
    if name not in PAPERS or actor.role not in SUPERVISORS:
        raise NotFound(MEETING_NOT_FOUND)
    await meeting_for(actor, meeting_id)  # 404 outside the office's or the convenor's conferences
    detail = await meeting_detail(meeting_id)
    context = paper_context(detail, name, now())
    content = await pdf.render_template(TEMPLATES[name], context)
    return content, f"{context['doc_title']}.pdf", f"meeting-{meeting_id}-{name}.pdf"
