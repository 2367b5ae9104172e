"""The message centre of a unit or street (issue 11 item 2): its notifications with read/unread
state, each naming and linking the record it is about.

The stored body is the e-mail text, written for a mailbox: full URLs (some with a personal token)
and, for minutes, the PDF's SHA-256. The page shows it without either: every URL of this system
becomes a link to the record's page under a short Chinese label (a logged-in reader needs no
token link), and the checksum line is left out (the e-mail keeps it for whoever verifies the
PDF; street and unit staff read the minutes on the meeting page)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import Where

from conference.accounts.actor import Actor
from conference.agenda.tables import AgendaItem
from conference.errors import NotFound
from conference.i18n import gettext as _
from conference.meetings.tables import Invitation, SpecialMeetingRequest
from conference.minutes.tables import Minutes
from conference.notifications.tables import Notification
from conference.roles import Role
from conference.settings import get_settings
from conference.tasks.tables import Task
from conference.timefmt import now

N = Notification
URL = re.compile(r"https?://[^\s，。；、）)」”]+")
# The checksum line of the minutes notice ("SHA-256：<64 hex>"): for verifying the PDF, not for reading.
HASH_LINE = re.compile(r"^\s*SHA-256\s*[:：]\s*[0-9a-fA-F]{64}\s*$")
HEX_DIGEST = re.compile(r"\b[0-9a-fA-F]{64}\b")


@dataclass(frozen=True)
class Part:
    """A piece of a message line: plain text, or a link (href set) with a label."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class Record:
    kind: str  # 督办任务, 议题, 会议, ...
    name: str
    href: str


def recipient(actor: Actor) -> Where | None:
    """The messages this unit or street account reads; None for any other role (no message centre)."""
    if actor.role == Role.UNIT and actor.unit_id is not None:
        return N.unit == actor.unit_id
    if actor.role == Role.STREET and actor.street_id is not None:
        return N.street == actor.street_id
    return None


def unread_where(actor: Actor) -> Any:
    mine = recipient(actor)
    return None if mine is None else mine & N.read_at.is_null()


async def open_message(actor: Actor, notification_id: int) -> dict[str, Any]:
    """One of the actor's messages, marked read now if it was unread (one conditional UPDATE, so
    the first opening's time stays). Another recipient's message is a 404."""
    mine = recipient(actor)
    if mine is None:
        raise NotFound(_("没有找到该消息。"))
    row = await N.select(N.id, N.created_at, N.event, N.subject, N.body, N.entity, N.entity_id, N.read_at).where(
        mine & (N.id == notification_id)).first()
    if row is None:
        raise NotFound(_("没有找到该消息。"))
    if row["read_at"] is None:
        # Reading is the reader's own bookkeeping, not a change to a record: read_at is its trace,
        # and no audit event is written (it would double every message in the trail).
        row["read_at"] = now()
        await N.update({N.read_at: row["read_at"]}).where(mine & (N.id == notification_id) & N.read_at.is_null())
        row["was_unread"] = True
    return row


async def mark_all_read(actor: Actor) -> int:
    """Every unread message of the actor marked read; returns how many."""
    where = unread_where(actor)
    if where is None:
        return 0
    rows = await N.update({N.read_at: now()}).where(where).returning(N.id)
    return len(rows)


async def records_for(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, int], Record]:
    """The record each message is about, by (entity, id): one query per kind of record present,
    whatever the number of messages."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row.get("entity") and row.get("entity_id"):
            wanted.setdefault(row["entity"], set()).add(int(row["entity_id"]))
    found: dict[tuple[str, int], Record] = {}
    if ids := wanted.get("task"):
        for t in await Task.select(Task.id, Task.resolution._.item._.title.as_alias("title"),
                                   Task.unit.name.as_alias("unit_name")).where(Task.id.is_in(list(ids))):
            found["task", t["id"]] = Record(_("督办任务"), _("{title}（承办单位：{unit}）").format(title=t["title"], unit=t["unit_name"]),
                                            f"/tasks/{t['id']}")
    if ids := wanted.get("agenda_item"):
        for i in await AgendaItem.select(AgendaItem.id, AgendaItem.title).where(AgendaItem.id.is_in(list(ids))):
            found["agenda_item", i["id"]] = Record(_("议题"), i["title"], f"/items/{i['id']}")
    if ids := wanted.get("invitation"):
        for v in await Invitation.select(Invitation.id, Invitation.meeting.title.as_alias("title")).where(
                Invitation.id.is_in(list(ids))):
            found["invitation", v["id"]] = Record(_("会议"), v["title"], f"/my/invitations/{v['id']}")
    if ids := wanted.get("special_request"):
        R = SpecialMeetingRequest
        for r in await R.select(R.id, R.title).where(R.id.is_in(list(ids))):
            found["special_request", r["id"]] = Record(_("专题会议提请"), r["title"] or _("专题会议提请"), f"/special-requests/{r['id']}")
    if ids := wanted.get("minutes"):
        for m in await Minutes.select(Minutes.id, Minutes.meeting.as_alias("meeting_id"),
                                      Minutes.meeting.title.as_alias("title")).where(Minutes.id.is_in(list(ids))):
            found["minutes", m["id"]] = Record(_("会议纪要"), m["title"], f"/meetings/{m['meeting_id']}")
    return found


def record_of(row: dict[str, Any], records: dict[tuple[str, int], Record]) -> Record | None:
    if not row.get("entity") or not row.get("entity_id"):
        return None
    return records.get((row["entity"], int(row["entity_id"])))


def _link(url: str, record: Record | None) -> Part:
    """An URL of the body as a link to the page a logged-in reader opens, with a label."""
    base = urllib.parse.urlsplit(get_settings().base_url)
    split = urllib.parse.urlsplit(url)
    if split.netloc != base.netloc:
        return Part(_("外部链接（{host}）").format(host=split.netloc), url)
    path = split.path
    if m := re.fullmatch(r"/t/(\d+)/[^/]+", path):  # the personal task link: the task page instead
        return Part(_("打开督办任务"), f"/tasks/{m.group(1)}")
    if path.startswith("/r/"):  # the invitation reply link: the unit's own invitation page instead
        href = record.href if record and record.href.startswith("/my/invitations/") else "/my/invitations"
        return Part(_("回复参会情况"), href)
    if path.startswith("/password/"):
        return Part(_("（设置密码的链接已通过电子邮件发送）"))
    if re.fullmatch(r"/tasks/\d+", path):
        return Part(_("查看督办任务"), path)
    if re.fullmatch(r"/minutes/\d+/(published\.pdf|publications/\d+\.pdf)", path):
        return Part(_("下载纪要 PDF"), path)
    if re.fullmatch(r"/meetings/\d+", path):
        return Part(_("查看会议"), path)
    if re.fullmatch(r"/items/\d+", path):
        return Part(_("查看议题"), path)
    return Part(_("打开页面"), path + (f"?{split.query}" if split.query else ""))


def body_lines(body: str, record: Record | None) -> list[list[Part]]:
    """The body as lines of text and links: no raw URL, no checksum."""
    lines: list[list[Part]] = []
    for line in (body or "").splitlines():
        if HASH_LINE.match(line):
            continue
        line = HEX_DIGEST.sub("", line)
        parts: list[Part] = []
        position = 0
        for match in URL.finditer(line):
            if match.start() > position:
                parts.append(Part(line[position:match.start()]))
            parts.append(_link(match.group(0), record))
            position = match.end()
        if position < len(line):
            parts.append(Part(line[position:]))
        if parts:
            lines.append(parts)
    return lines
