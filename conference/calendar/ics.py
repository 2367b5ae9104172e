"""iCalendar presenters (RFC 5545, iTIP RFC 5546), built with the `icalendar` package from plain
values (see conference.calendar.data for how they are read from the database).

- Invitations: METHOD:REQUEST with a stable UID and the meeting's SEQUENCE (raised on every change
  of time, place or title after notification), ORGANIZER (with SENT-BY when From differs), one
  ATTENDEE per invited unit, a full VTIMEZONE, two VALARMs; a cancellation is METHOD:CANCEL with
  STATUS:CANCELLED and the higher SEQUENCE; a unit taken off the list gets a CANCEL of its own
  without STATUS (the meeting goes on). Never PUBLISH for e-mail: clients would add a second event instead of updating it.
- Feeds: a calendar without METHOD, with name, refresh interval and publish TTL; its events are
  serialised once per content and cached, because clients poll feeds and a feed of 1,500 events
  costs hundreds of milliseconds to serialise with icalendar.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vDuration

from conference.i18n import gettext as _
from conference.meetings import notice
from conference.timefmt import cn_date

PRODID = "-//Joint Conference Office//Conference Tracking System 1.0//ZH"
# Asia/Shanghai has had a single +08:00 offset since 1991: from 2000 on its VTIMEZONE is one
# STANDARD block, which every client (Outlook included) reads the same way.
TZ_FIRST_DATE = dt.date(2000, 1, 1)
TZ_LAST_DATE = dt.date(2100, 1, 1)
REFRESH = dt.timedelta(hours=1)

PARTSTAT = {"pending": "NEEDS-ACTION", "attending": "ACCEPTED", "leave": "DECLINED", "delegated": "DELEGATED",
            "tentative": "TENTATIVE"}
ROLE = {"member": "REQ-PARTICIPANT", "observer": "OPT-PARTICIPANT"}
ALARMS = (dt.timedelta(days=-1), dt.timedelta(hours=-1))
CANCELLED = "cancelled"


# ---------------------------------------------------------------- time zone


@lru_cache(maxsize=8)
def vtimezone(tzid: str) -> Timezone:
    """Built once per zone (it costs a scan of the zone's transitions) and shared read-only."""
    tz = Timezone.from_tzid(tzid, first_date=TZ_FIRST_DATE, last_date=TZ_LAST_DATE)
    tz.pop("COMMENT", None)  # "only works from ... to ...": true of any VTIMEZONE, noise for readers
    return tz


@lru_cache(maxsize=8)
def vtimezone_bytes(tzid: str) -> bytes:
    return vtimezone(tzid).to_ical(sorted=False)


# ---------------------------------------------------------------- shared pieces


def unit_address(unit_id: int, email: str, base_url: str) -> str:
    """The unit's calendar address: its liaison's mailbox, else a stable URN (a CAL-ADDRESS is a URI)."""
    if email:
        return f"mailto:{email}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base_url}/registry/units/{unit_id}')}"


def organizer(meeting: Mapping[str, Any], mail_from: str) -> vCalAddress:
    """The conference's office mailbox, else MAIL_FROM. The message itself comes From MAIL_FROM: when
    the two differ, SENT-BY says who sends for the organizer (RFC 5545 §3.2.18), as RFC 5546 §3.1
    asks of a message whose sender is not the ORGANIZER. Calendar programs send their REPLY to the
    ORGANIZER address, which must therefore be delivered to the mailbox read over IMAP."""
    office = (meeting.get("office_email") or "").strip()
    address = vCalAddress(f"mailto:{office or mail_from}")
    address.params["CN"] = _("{conference}办公室").format(conference=meeting["conference_name"])
    if office and office.lower() != mail_from.lower():
        address.params["SENT-BY"] = f"mailto:{mail_from}"
    return address


def attendee(inv: Mapping[str, Any], base_url: str) -> vCalAddress:
    address = vCalAddress(unit_address(inv["unit"], inv.get("email") or "", base_url))
    address.params["CN"] = inv["unit_name"]
    address.params["CUTYPE"] = "GROUP"  # a unit, represented by whoever it sends
    address.params["ROLE"] = ROLE.get(inv["role"], "REQ-PARTICIPANT")
    address.params["PARTSTAT"] = PARTSTAT.get(inv["reply"], "NEEDS-ACTION")
    address.params["RSVP"] = "TRUE"
    return address


def _local(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(tz)


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def meeting_description(meeting: Mapping[str, Any], *, reply_url: str = "", page_url: str = "", details: bool = True) -> str:
    """Plain text: conference, presiding convenor, the agenda, the notice's 参会要求, reply deadline
    and office contact (conference.meetings.notice), the reply link, the meeting page."""
    lines = [_("联席会议：{name}").format(name=meeting["conference_name"])]
    if meeting.get("presiding_name"):
        lines.append(_("主持：{name} {title}").format(name=meeting["presiding_name"], title=meeting.get("presiding_title") or "").rstrip())
    if meeting.get("status") == CANCELLED:
        lines.append(_("会议已取消。取消原因：{reason}").format(reason=meeting.get("cancel_reason") or "—"))
    agenda = notice.agenda_lines(meeting)
    if agenda:
        lines.append(_("议程："))
        lines += agenda
    else:
        lines.append(_("议程：待定"))
    if meeting.get("notes"):
        lines.append(_("备注：{notes}").format(notes=meeting["notes"]))
    if details and meeting.get("status") != CANCELLED:  # not for a unit taken off the list either
        lines += notice.detail_lines(meeting)
    if reply_url:
        lines.append(_("请通过以下链接回复参会情况：{url}").format(url=reply_url))
    if page_url:
        lines.append(_("会议页面：{url}").format(url=page_url))
    return "\n".join(lines)


def _alarm(trigger: dt.timedelta, title: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", trigger)
    label = _("明天") if trigger == dt.timedelta(days=-1) else _("一小时后")
    alarm.add("description", _("{when}：{title}").format(when=label, title=title))
    return alarm


def _calendar(method: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    return cal


# ---------------------------------------------------------------- invitations (iTIP)


def invitation(
    meeting: Mapping[str, Any],
    *,
    base_url: str,
    mail_from: str,
    tz: ZoneInfo,
    stamp: dt.datetime,
    unit_id: int | None = None,
    uninvited: bool = False,
) -> str:
    """The invitation as the organizer sends it: METHOD:REQUEST, or METHOD:CANCEL once cancelled.

    `meeting` holds the meeting, conference, presiding convenor, `agenda` and `invitations` (unit,
    unit_name, email, role, reply, token_revoked, and `token` when the link is being sent). With
    `unit_id`, the unit's own copy: its ATTENDEE line and its personal reply link (if `token`). Without, the office's copy with every invited unit.
    A unit's copy does not list the other units, because a unit never sees the other units' replies.

    `uninvited`: the unit was taken off a meeting that still takes place (RFC 5546 §3.2.5): a CANCEL
    naming only that attendee, with a higher SEQUENCE and no STATUS (STATUS:CANCELLED would say the
    meeting itself is off), and a text saying the unit no longer needs to attend."""
    cancelled = meeting["status"] == CANCELLED
    invitations = list(meeting.get("invitations") or [])
    own = [i for i in invitations if i["unit"] == unit_id] if unit_id is not None else []
    attendees = own if unit_id is not None else invitations
    reply_url = ""
    if own and not cancelled and not uninvited and not own[0].get("token_revoked") and own[0].get("token"):
        reply_url = f"{base_url}/r/{own[0]['token']}"
    page_url = f"{base_url}/meetings/{meeting['id']}"

    cal = _calendar("CANCEL" if cancelled or uninvited else "REQUEST")
    cal.add_component(vtimezone(tz.key))
    event = Event()
    event.add("uid", meeting["uid"])
    event.add("dtstamp", _utc(stamp))
    event.add("sequence", int(meeting["sequence"]) + (1 if uninvited and not cancelled else 0))
    event.add("organizer", organizer(meeting, mail_from))
    for inv in attendees:
        event.add("attendee", attendee(inv, base_url))
    event.add("summary", meeting["title"])
    event.add("dtstart", _local(meeting["starts_at"], tz))
    event.add("dtend", _local(meeting["ends_at"], tz))
    if meeting.get("location"):
        event.add("location", meeting["location"])
    description = meeting_description(meeting, reply_url=reply_url, page_url=page_url, details=not uninvited)
    if uninvited and not cancelled:
        description = _("贵单位已不在本次会议的受邀名单中，无需再参加（会议照常举行）。") + "\n" + description
    event.add("description", description)
    event.add("url", page_url)
    if cancelled:
        event.add("status", "CANCELLED")
    elif not uninvited:
        event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    if not cancelled and not uninvited:
        for trigger in ALARMS:
            event.add_component(_alarm(trigger, meeting["title"]))
    cal.add_component(event)
    return cal.to_ical(sorted=False).decode("utf-8")


def method_of(ics: str) -> str:
    """METHOD of a calendar text (REQUEST, CANCEL, ...); "" when it has none."""
    for line in ics.splitlines():
        if line.startswith("METHOD:"):
            return line[len("METHOD:"):].strip()
        if line.startswith("BEGIN:V") and line != "BEGIN:VCALENDAR":
            break
    return ""


# ---------------------------------------------------------------- subscription feeds


class EventCache:
    """Serialised events by content: an event is rebuilt only when something it shows changed.
    The key is the tuple of every value the event is made of, so a stale entry can never be served."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
            self.hits += 1
        return value

    def put(self, key: tuple[Any, ...], value: bytes) -> None:
        self.items[key] = value
        self.misses += 1
        if len(self.items) > self.size:
            self.items.popitem(last=False)

    def clear(self) -> None:
        self.items.clear()
        self.hits = self.misses = 0


EVENTS = EventCache()


def _stamp(*values: dt.datetime | None) -> dt.datetime:
    """DTSTAMP of a feed event (no METHOD): when its information last changed, as far as the
    records tell. Derived from the data, so the feed's bytes and ETag stay the same between polls."""
    known = [_utc(v) for v in values if v is not None]
    return max(known) if known else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def feed_meeting_event(meeting: Mapping[str, Any], *, base_url: str, tz: ZoneInfo) -> bytes:
    """A meeting in a unit's feed: no ORGANIZER/ATTENDEE (a feed is not an invitation, and clients
    would ask to reply), no personal reply link (feeds get shared); a link to the meeting page."""
    agenda = tuple((a["title"], a.get("street_name") or "") for a in meeting.get("agenda") or ())
    key = ("m", base_url, tz.key, meeting["uid"], meeting["sequence"], meeting["status"], meeting["title"],
           meeting["starts_at"], meeting["ends_at"], meeting.get("location") or "", meeting["conference_name"],
           meeting.get("presiding_name") or "", meeting.get("presiding_title") or "", meeting.get("notes") or "",
           meeting.get("cancel_reason") or "", agenda, meeting.get("created_at"), meeting.get("notified_at"),
           meeting.get("changed_at"), meeting["id"], meeting.get("requirements") or "", meeting.get("reply_deadline"),
           meeting.get("office_contact") or "", meeting.get("office_phone") or "", meeting.get("office_email") or "")
    cached = EVENTS.get(key)
    if cached is not None:
        return cached
    cancelled = meeting["status"] == CANCELLED
    page_url = f"{base_url}/meetings/{meeting['id']}"
    event = Event()
    event.add("uid", meeting["uid"])
    # RFC 5545 §3.8.7.2-3: without METHOD, DTSTAMP is when the event's information last changed, as
    # LAST-MODIFIED: both move with every change, so clients that compare them take the new version.
    modified = _stamp(meeting.get("created_at"), meeting.get("notified_at"), meeting.get("changed_at"))
    event.add("dtstamp", modified)
    event.add("last-modified", modified)
    event.add("sequence", int(meeting["sequence"]))
    event.add("summary", _("【已取消】{title}").format(title=meeting["title"]) if cancelled else meeting["title"])
    event.add("dtstart", _local(meeting["starts_at"], tz))
    event.add("dtend", _local(meeting["ends_at"], tz))
    if meeting.get("location"):
        event.add("location", meeting["location"])
    event.add("description", meeting_description(meeting, page_url=page_url))
    event.add("url", page_url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    data = event.to_ical(sorted=False)
    EVENTS.put(key, data)
    return data


TASK_ROLES = {"lead": _("牵头"), "cooperate": _("配合")}


def feed_task_event(task: Mapping[str, Any], *, base_url: str, status_label: str) -> bytes:
    """A task deadline as an all-day event on the deadline (transparent: it blocks no time)."""
    key = ("t", base_url, task["id"], task["deadline"], task["status"], status_label, task["text"], task["role"],
           task.get("meeting_title") or "", task.get("assigned_at"), task.get("changed_at"))
    cached = EVENTS.get(key)
    if cached is not None:
        return cached
    url = f"{base_url}/tasks/{task['id']}"
    text = " ".join(str(task["text"]).split())
    short = text if len(text) <= 40 else text[:39] + "…"
    closed = task["status"] == "closed"
    summary = _("【督办期限】{text}").format(text=short)
    if closed:
        summary = _("【已销号】{text}").format(text=short)
    lines = [
        _("议定事项：{text}").format(text=task["text"]),
        _("办理期限：{date}").format(date=cn_date(task["deadline"])),
        _("承办角色：{role}").format(role=TASK_ROLES.get(task["role"], task["role"])),
        _("当前状态：{status}").format(status=status_label),
    ]
    if task.get("meeting_title"):
        lines.append(_("议定会议：{title}").format(title=task["meeting_title"]))
    lines.append(_("任务页面：{url}").format(url=url))
    event = Event()
    event.add("uid", f"task-{task['id']}@{_host(base_url)}")
    modified = _stamp(task.get("assigned_at"), task.get("changed_at"))
    event.add("dtstamp", modified)
    event.add("last-modified", modified)
    event.add("summary", summary)
    event.add("dtstart", task["deadline"])
    event.add("dtend", task["deadline"] + dt.timedelta(days=1))
    event.add("description", "\n".join(lines))
    event.add("url", url)
    event.add("transp", "TRANSPARENT")
    data = event.to_ical(sorted=False)
    EVENTS.put(key, data)
    return data


def _host(base_url: str) -> str:
    host = base_url.split("://", 1)[-1].split("/", 1)[0]
    return host.split("@")[-1] or "conference"


@lru_cache(maxsize=256)
def _feed_head(name: str, tzid: str) -> tuple[bytes, bytes]:
    """The calendar's own lines, before and after its components."""
    cal = _calendar()
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tzid)
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    text = cal.to_ical(sorted=False)
    end = b"END:VCALENDAR\r\n"
    assert text.endswith(end)
    return text[: -len(end)], end


def feed(name: str, events: Iterable[bytes], tz: ZoneInfo) -> bytes:
    head, end = _feed_head(name, tz.key)
    return b"".join([head, vtimezone_bytes(tz.key), *events, end])


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """If-None-Match (RFC 9110): a list of tags, weak or strong, or "*"; compared weakly."""
    if not if_none_match:
        return False
    wanted = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False

