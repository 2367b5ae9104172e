"""Publishing approved minutes: the published copy's address, and its distribution to each invited
unit and each submitting street (its own tasks, and the PDF attached or linked) through the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from conference.db import fetch
from conference.i18n import gettext as _
from conference.mail import attachments
from conference.minutes import pdf
from conference.notifications.services import queue
from conference.settings import get_settings
from conference.tasks.states import ROLE_LABELS as TASK_ROLE_LABELS
from conference.timefmt import cn_date


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
