"""A unit's subscription feed with 500 meetings and 1,000 task deadlines (SQLite), against building
the same calendar with icalendar directly, from the same rows, in the same run.

- bare: icalendar alone (Calendar, Event.add, to_ical) from rows already in memory; the VTIMEZONE
  built once beforehand, as the app does.
- app, cold: conference.calendar.feeds.unit_feed with an empty event cache: three queries, then
  every event serialised (the first poll after a restart, or after everything changed).
- app, warm: the same with the cache filled: the steady state of a feed polled every hour, where
  only changed events are serialised again.
- HTTP: GET /feeds/{token}.ics through Litestar (warm), and the 304 answer to If-None-Match, which
  comes from one version query (feeds.feed_version) without building the feed.

Goal: warm build < 100 ms, the cold build within 1.5x of the bare one, and a 304 under 5 ms."""

from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
import sqlite3
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.bench.common import client, fresh_database

MEETINGS = 500
TASKS = 1_000
UNIT = "兰山区市场监管局"
ROUNDS = 7


def populate(path: Path) -> tuple[int, str]:
    """Bulk rows through sqlite3 for one unit: its meetings (mixed states, two agenda items each,
    over two conferences), its tasks; returns the unit id and a feed token."""
    rnd = random.Random(11)
    conn = sqlite3.connect(path)
    unit = conn.execute("SELECT id FROM member_unit WHERE name = ?", (UNIT,)).fetchone()[0]
    # Exactly the benchmark's rows in this unit's feed: the demo's own invitations and tasks leave it.
    conn.execute("DELETE FROM invitation WHERE unit = ?", (unit,))
    conn.execute("UPDATE task SET status = 'cancelled' WHERE unit = ?", (unit,))
    conferences = [r[0] for r in conn.execute(
        "SELECT conference FROM membership WHERE unit = ? AND end_date IS NULL", (unit,))]
    streets = [r[0] for r in conn.execute("SELECT id FROM street")]
    person = conn.execute("SELECT id FROM person").fetchone()[0]
    today = dt.date.today()
    start = dt.datetime.combine(today - dt.timedelta(days=300), dt.time(1, 0), dt.UTC)
    created = str(start - dt.timedelta(days=30))
    meetings = []
    for i in range(MEETINGS):
        at = start + dt.timedelta(days=i * 600 // MEETINGS, hours=5 * (i % 2))
        status = rnd.choice(["notified", "notified", "held", "minutes_published", "cancelled"])
        meetings.append((rnd.choice(conferences), rnd.choice(["plenary", "special"]), f"压测会议第{i}次全体会议", str(at),
                         str(at + dt.timedelta(hours=2)), "街道办事处三楼会议室", person, status, f"{uuid.uuid4()}@bench",
                         rnd.choice([0, 0, 1, 2]), "请各成员单位带齐相关材料。", "议题已另行研究。" if status == "cancelled" else "",
                         created, 1, created))
    conn.executemany(
        "INSERT INTO meeting (conference, kind, title, starts_at, ends_at, location, presiding, status, uid, sequence, notes,"
        " cancel_reason, notified_at, version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", meetings)
    meeting_ids = [r[0] for r in conn.execute("SELECT id FROM meeting WHERE uid LIKE '%@bench'")]
    conn.executemany(
        "INSERT INTO invitation (meeting, unit, role, token_hash, token_revoked, reply, attendee_name, attendee_title,"
        " leave_reason, attendance, notified_sequence, version) VALUES (?,?,?,?,0,?,'','','','',0,1)",
        [(m, unit, "member", uuid.uuid4().hex, rnd.choice(["pending", "attending"])) for m in meeting_ids])
    items = [(rnd.choice(conferences), rnd.choice(streets), f"压测议题{m}-{k}：老旧小区加装电梯审批流程长", "说明", "other",
              "normal", "scheduled", "", m, k, 0, created, created) for m in meeting_ids for k in range(2)]
    conn.executemany(
        "INSERT INTO agenda_item (conference, street, title, description, category, urgency, status, return_reason,"
        " meeting, position, meetings_waited, submitted_at, version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1,?)", items)
    item_ids = [r[0] for r in conn.execute("SELECT id FROM agenda_item WHERE title LIKE '压测议题%'")]
    resolutions = []
    for i in range(TASKS):
        deadline = today + dt.timedelta(days=i % 360 - 120)
        resolutions.append((rnd.choice(meeting_ids), item_ids[i % len(item_ids)], conferences[0], i + 1,  # (meeting, number) unique
                            f"压测议定事项{i}：建立联合审批专班，办理时限压缩至 30 个工作日以内，并每月报送进展。",
                            unit, deadline.isoformat(), created))
    conn.executemany("INSERT INTO resolution (meeting, item, conference, number, text, lead_unit, deadline, adopted_at)"
                     " VALUES (?,?,?,?,?,?,?,?)", resolutions)
    resolution_ids = [r[0] for r in conn.execute("SELECT id, deadline FROM resolution WHERE text LIKE '压测议定事项%'")]
    deadlines = {r[0]: r[1] for r in conn.execute("SELECT id, deadline FROM resolution WHERE text LIKE '压测议定事项%'")}
    conn.executemany(
        "INSERT INTO task (resolution, unit, conference, role, status, assigned_at, deadline, ack_due) VALUES (?,?,?,?,?,?,?,?)",
        [(r, unit, conferences[0], rnd.choice(["lead", "cooperate"]),
          rnd.choice(["assigned", "acknowledged", "in_progress", "reported_done", "closed"]), created, deadlines[r], deadlines[r])
         for r in resolution_ids])
    from conference.accounts.services import digest

    token = secrets.token_urlsafe(32)
    conn.execute("INSERT INTO calendar_feed (unit, token_hash, revoked, created_at) VALUES (?,?,0,?)",
                 (unit, digest(token), created))
    conn.commit()
    conn.close()
    return int(unit), token


# The text the office's notice uses when it left 参会要求 empty (conference.meetings.notice).
DEFAULT_REQUIREMENTS = ("请各成员单位主要负责同志（或分管负责同志）准时参会，提前10分钟到场签到；"
                        "确因特殊情况不能参会的，请在回执截止时间前回复请假事由，或委托熟悉情况的同志参会。"
                        "请做好本单位涉及议题的汇报准备。")


def bare_build(unit_name: str, meetings: list[dict[str, Any]], tasks: list[dict[str, Any]], base: str, tz: Any,
               vtimezone: Any, labels: dict[str, str]) -> bytes:
    """The same calendar written straight with icalendar: no cache, no helpers of the app."""
    from icalendar import Calendar, Event, vDuration

    def utc(value: dt.datetime) -> dt.datetime:
        return value.astimezone(dt.UTC)

    cal = Calendar()
    cal.add("prodid", "-//Joint Conference Office//Conference Tracking System 1.0//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    name = f"{unit_name}·会议与督办日程"
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz.key)
    cal.add("refresh-interval", vDuration(dt.timedelta(hours=1)), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(dt.timedelta(hours=1)))
    cal.add_component(vtimezone)
    for m in meetings:
        cancelled = m["status"] == "cancelled"
        lines = [f"联席会议：{m['conference_name']}"]
        if m["presiding_name"]:
            lines.append(f"主持：{m['presiding_name']} {m['presiding_title'] or ''}".rstrip())
        if cancelled:
            lines.append(f"会议已取消。取消原因：{m['cancel_reason'] or '—'}")
        if m["agenda"]:
            lines.append("议程：")
            lines += [f"{n}. {a['title']}（提请：{a['street_name'] or '办公室'}）" for n, a in enumerate(m["agenda"], 1)]
        else:
            lines.append("议程：待定")
        if m["notes"]:
            lines.append(f"备注：{m['notes']}")
        if not cancelled:  # the notice's details: 参会要求, reply deadline, the office's contact
            lines.append(f"参会要求：{(m.get('requirements') or '').strip() or DEFAULT_REQUIREMENTS}")
            if m.get("reply_deadline"):
                d = m["reply_deadline"].astimezone(tz)
                lines.append(f"回执截止时间：{d.year}年{d.month}月{d.day}日 {d:%H:%M}（逾期仍可回复，将标注为逾期回复）")
            parts = [f"{label}：{m[key]}" for key, label in
                     (("office_contact", "联系人"), ("office_phone", "联系电话"), ("office_email", "邮箱")) if m.get(key)]
            office = f"联系方式：{m['conference_name']}办公室"
            lines.append(f"{office}，{'；'.join(parts)}" if parts else office)
        lines.append(f"会议页面：{base}/meetings/{m['id']}")
        event = Event()
        event.add("uid", m["uid"])
        modified = max(utc(v) for v in (m["created_at"], m["notified_at"], m["changed_at"]) if v is not None)
        event.add("dtstamp", modified)
        event.add("last-modified", modified)
        event.add("sequence", m["sequence"])
        event.add("summary", f"【已取消】{m['title']}" if cancelled else m["title"])
        event.add("dtstart", m["starts_at"].astimezone(tz))
        event.add("dtend", m["ends_at"].astimezone(tz))
        event.add("location", m["location"])
        event.add("description", "\n".join(lines))
        event.add("url", f"{base}/meetings/{m['id']}")
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        cal.add_component(event)
    host = base.split("://", 1)[1].split("/")[0]
    for t in tasks:
        text = " ".join(t["text"].split())
        short = text if len(text) <= 40 else text[:39] + "…"
        label = labels.get(t["status"], t["status"])
        event = Event()
        event.add("uid", f"task-{t['id']}@{host}")
        modified = max(utc(v) for v in (t["assigned_at"], t["changed_at"]) if v is not None)
        event.add("dtstamp", modified)
        event.add("last-modified", modified)
        event.add("summary", f"【已销号】{short}" if t["status"] == "closed" else f"【督办期限】{short}")
        event.add("dtstart", t["deadline"])
        event.add("dtend", t["deadline"] + dt.timedelta(days=1))
        role = {"lead": "牵头", "cooperate": "配合"}.get(t["role"], t["role"])
        lines = [f"议定事项：{t['text']}", f"办理期限：{t['deadline'].year}年{t['deadline'].month}月{t['deadline'].day}日",
                 f"承办角色：{role}", f"当前状态：{label}"]
        if t["meeting_title"]:
            lines.append(f"议定会议：{t['meeting_title']}")
        lines.append(f"任务页面：{base}/tasks/{t['id']}")
        event.add("description", "\n".join(lines))
        event.add("url", f"{base}/tasks/{t['id']}")
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return bytes(cal.to_ical(sorted=False))


async def timed(call: Callable[[], Awaitable[Any]], rounds: int = ROUNDS) -> float:
    """Median milliseconds over `rounds` calls, after one warm-up call."""
    await call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    path = await fresh_database()
    unit, token = populate(path)
    from conference import db
    from conference.app import create_app
    from conference.calendar import feeds, ics
    from conference.settings import get_settings
    from conference.tasks.states import TASK_STATUS_LABELS

    await db.start()
    settings = get_settings()
    unit_name, meetings, tasks = await feeds.feed_rows(unit)
    assert len(meetings) == MEETINGS and len(tasks) == TASKS, (len(meetings), len(tasks))
    vtimezone = ics.vtimezone(settings.tz.key)
    labels = dict(TASK_STATUS_LABELS)
    bare_body = bare_build(unit_name, meetings, tasks, settings.base_url, settings.tz, vtimezone, labels)
    app_body = (await feeds.unit_feed(unit)).body
    assert bare_body == app_body, "the bare build must produce the very same calendar"

    async def bare() -> None:
        bare_build(unit_name, meetings, tasks, settings.base_url, settings.tz, vtimezone, labels)

    async def cold() -> None:
        ics.EVENTS.clear()
        await feeds.unit_feed(unit)

    async def warm() -> None:
        await feeds.unit_feed(unit)

    async def queries() -> None:
        await feeds.feed_rows(unit)

    http = client(create_app())
    url = f"/feeds/{token}.ics"
    tag = (await http.get(url)).headers["etag"]

    async def get_full() -> None:
        response = await http.get(url)
        assert response.status_code == 200 and len(response.content) == len(app_body)

    async def get_304() -> None:
        assert (await http.get(url, headers={"If-None-Match": tag})).status_code == 304

    async def version() -> None:
        await feeds.feed_version(unit)

    bare_ms = await timed(bare)
    results = [
        ("icalendar directly (bare)", bare_ms),
        ("app build, cold cache", await timed(cold)),
        ("app build, warm cache", await timed(warm)),
        ("  of which 3 queries", await timed(queries)),
        ("GET /feeds/{token}.ics (warm)", await timed(get_full)),
        ("GET with If-None-Match (304)", await timed(get_304)),
        ("  of which the version query", await timed(version)),
    ]
    print(f"\n== feeds: {MEETINGS} meetings + {TASKS:,} task deadlines in one unit's feed ({len(app_body) / 1024:.0f} KiB), SQLite")
    print(f"{'build':<34}{'median ms':>12}{'vs bare':>10}")
    for name, ms in results:
        print(f"{name:<34}{ms:>12.1f}{ms / bare_ms:>9.2f}x")
    cold_ms, warm_ms = results[1][1], results[2][1]
    print(f"goal: warm < 100 ms: {'met' if warm_ms < 100 else 'NOT met'} ({warm_ms:.1f} ms); "
          f"cold within 1.5x of bare: {'met' if cold_ms <= 1.5 * bare_ms else 'NOT met'} ({cold_ms / bare_ms:.2f}x); "
          f"304 < 5 ms (version query, no build): {'met' if results[5][1] < 5 else 'NOT met'} ({results[5][1]:.1f} ms)")
    await http.aclose()
    await db.stop()
