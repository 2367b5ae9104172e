"""Agenda item pages through HTTP: the lifecycle (every transition allowed and refused, the audit
events and street notifications it writes), scope (streets, offices, convenors, units), carry-over
across meetings, merging, attachments, and the list (filters, sort, a constant number of queries)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import pytest

from conference import db
from conference.accounts.actor import Actor
from conference.accounts.services import ACTOR_COLUMNS, actor_from_row
from conference.accounts.tables import User
from conference.agenda.tables import AgendaItem, AgendaItemUnit, AgendaSlot, Attachment
from conference.audit.tables import AuditEvent
from conference.meetings import lifecycle
from conference.meetings import services as meetings
from conference.notifications.tables import Notification
from conference.registry.tables import Conference, MemberUnit, Street
from conference.timefmt import today
from tests import conftest
from tests.conftest import field_error, field_value, post_form

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


# ---------------------------------------------------------------- helpers


def html(response: httpx.Response) -> Any:
    """The parsed page, loosely typed: the tests look nodes up and fail when they are missing."""
    return conftest.html(response)


async def first(query: Any) -> dict[str, Any]:
    row = await query.first()
    assert row is not None
    return dict(row)


def uid(prefix: str = "议题") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def actor(username: str) -> Actor:
    row = await first(User.select(*ACTOR_COLUMNS).where(User.username == username))
    return actor_from_row(row)


async def street_id(name: str) -> int:
    return int((await first(Street.select(Street.id).where(Street.name == name)))["id"])


async def street_conference(name: str) -> int:
    return int((await first(Conference.select(Conference.id).where(Conference.street == await street_id(name))))["id"])


async def unit_id(name: str) -> int:
    return int((await first(MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name)))["id"])


async def item_row(item_id: int) -> dict[str, Any]:
    return await first(AgendaItem.select().where(AgendaItem.id == item_id))


async def new_item(client: httpx.AsyncClient, *, submit: bool = True, units: list[int] | None = None, **fields: str) -> int:
    data: dict[str, Any] = {"title": uid(), "description": "小区周边占道经营，街道多次劝导无效，需要多部门联合整治。",
                            "category": "urban_management", "urgency": "normal", **fields}
    if submit:
        data["submit"] = "1"
    if units:
        data["units"] = [str(u) for u in units]
    response = await post_form(client, "/items/new", data)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/items/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def accepted_item(street: httpx.AsyncClient, office: httpx.AsyncClient, **fields: Any) -> int:
    item_id = await new_item(street, **fields)
    assert (await post_form(office, f"/items/{item_id}/accept", {})).status_code == 303
    return item_id


async def make_meeting(conference_id: int, *, days: int = 7, notify: bool = True, hold: bool = False) -> int:
    """A meeting created by the 兰山区 office through the services (the meeting pages are separate)."""
    office = await actor("office" if conference_id != await street_conference("罗庄街道") else "office_luozhuang")
    day = today() + dt.timedelta(days=days)
    meeting_id = await meetings.create_meeting(office, conference_id, {
        "kind": "special", "title": uid("专题会议"), "date": day.isoformat(), "start_time": "09:00", "end_time": "11:00",
        "location": "街道会议室"})
    if notify or hold:
        await lifecycle.notify_meeting(office, meeting_id)
    if hold:
        await lifecycle.hold_meeting(office, meeting_id)
    return meeting_id


async def hold(meeting_id: int) -> None:
    await lifecycle.hold_meeting(await actor("office"), meeting_id)


async def audit_actions(item_id: int) -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "agenda_item") & (AuditEvent.entity_id == item_id)).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


async def street_notifications(item_id: int, street: str = "兰山街道") -> list[str]:
    rows = await Notification.select(Notification.event).where(
        (Notification.entity == "agenda_item") & (Notification.entity_id == item_id)
        & (Notification.street == await street_id(street))).order_by(Notification.id)
    return [r["event"] for r in rows]


def heading(response: httpx.Response) -> str:
    node = html(response).find("h1")
    return node.get_text(strip=True) if node else ""


def error_message(response: httpx.Response) -> str:
    node = html(response).select_one("#error-summary h2")
    return node.get_text(strip=True) if node else heading(response)


def status_badge(response: httpx.Response) -> str:
    return html(response).find(id="item-status").get_text(strip=True)


def listed_titles(response: httpx.Response) -> list[str]:
    return [a.get_text(strip=True) for a in html(response).select("table.items tbody td:first-child a")]


def forms(response: httpx.Response) -> set[str]:
    return {f["action"] for f in html(response).select("form[method=post]") if f.get("action", "").startswith("/items/")}


# ---------------------------------------------------------------- roles


async def test_units_deal_with_tasks_not_items(as_user):
    client = await as_user("unit")
    street = await as_user("street")
    item_id = await new_item(street, units=[await unit_id("兰山区市场监管局")])
    for url in ("/items", "/items/new", f"/items/{item_id}", f"/items/{item_id}/edit"):
        assert (await client.get(url)).status_code == 403, url
    assert (await post_form(client, f"/items/{item_id}/accept", {})).status_code == 403
    assert "/items" not in [a["href"] for a in html(await client.get("/")).select("header nav a")]


async def test_anonymous_is_sent_to_log_in(anon):
    response = await anon.get("/items")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


# ---------------------------------------------------------------- creating and submitting


async def test_street_saves_a_draft_then_submits_it(as_user):
    street, office = await as_user("street"), await as_user("office")
    form = await street.get("/items/new")
    assert form.status_code == 200
    page = html(form)
    assert page.find("select", attrs={"name": "conference"}) is None  # the street's conference is implied
    assert {b.get_text(strip=True) for b in page.select("form.form button")} == {"保存草稿", "提交"}
    assert page.find("button", attrs={"name": "submit", "value": "1"}).get_text(strip=True) == "提交"
    unit_names = [o.get_text(strip=True) for o in page.select("#f-units label.picker-option")]
    assert "兰山区市场监管局" in unit_names and "罗庄区市场监管局" not in unit_names
    assert dict((o["value"], o.get_text(strip=True)) for o in page.select("select[name=urgency] option")) == {
        "normal": "一般", "urgent": "紧急", "critical": "特急"}

    units = [await unit_id("兰山区市场监管局"), await unit_id("兰山派出所")]
    item_id = await new_item(street, submit=False, units=units)
    row = await item_row(item_id)
    assert (row["status"], row["street"], row["submitted_at"]) == ("draft", await street_id("兰山街道"), None)
    assert row["conference"] == await street_conference("兰山街道")
    detail = await street.get(f"/items/{item_id}")
    assert status_badge(detail) == "草稿"
    assert [li.get_text(strip=True) for li in html(detail).select("#requested-units li")] == ["兰山派出所", "兰山区市场监管局"]  # pinyin order: pai < qu
    assert f"/items/{item_id}/submit" in forms(detail)
    assert html(detail).find(id="item-age").get_text(strip=True).startswith("—")
    # The draft is the street's own: listed for it, invisible to the office.
    assert row["title"] in listed_titles(await street.get("/items", params={"q": row["title"]}))
    assert (await office.get(f"/items/{item_id}")).status_code == 404
    assert row["title"] not in listed_titles(await office.get("/items", params={"q": row["title"]}))
    assert await street_notifications(item_id) == []  # saving a draft changes no status

    response = await post_form(street, f"/items/{item_id}/submit", {})
    assert response.status_code == 303 and response.headers["location"] == f"/items/{item_id}"
    row = await item_row(item_id)
    assert row["status"] == "submitted" and row["submitted_at"] is not None
    assert await audit_actions(item_id) == ["create", "submit"]
    assert await street_notifications(item_id) == ["item_submitted"]
    detail = await street.get(f"/items/{item_id}")
    assert status_badge(detail) == "已提交"
    assert html(detail).find(id="item-age").get_text(strip=True) == "0 天，已等待 0 次会议"
    history = [[td.get_text(strip=True) for td in tr.select("td")] for tr in html(detail).select("#status-history tbody tr")]
    assert [h[2] for h in history] == ["新建", "提交"] and history[1][3] == "草稿 → 已提交"
    assert (await office.get(f"/items/{item_id}")).status_code == 200

    again = await post_form(street, f"/items/{item_id}/submit", {})
    assert again.status_code == 409
    assert error_message(again) == "议题当前状态为“已提交”，不能提交。"
    assert await audit_actions(item_id) == ["create", "submit"]


async def test_submitting_straight_away_notifies_the_street(as_user):
    item_id = await new_item(await as_user("street"))
    assert (await item_row(item_id))["status"] == "submitted"
    assert await audit_actions(item_id) == ["create"]
    assert await street_notifications(item_id) == ["item_submitted"]


async def test_the_form_shows_errors_beside_fields_and_keeps_input(as_user):
    street = await as_user("street")
    unit = await unit_id("兰山区市场监管局")
    before = await AgendaItem.count()
    response = await post_form(street, "/items/new", {"title": "", "description": "保留的说明", "category": "nonsense",
                                                      "urgency": "urgent", "units": [str(unit)], "submit": "1"})
    assert response.status_code == 400
    assert field_error(response, "title") == "请填写议题名称。"
    assert field_error(response, "category") == "请从列表中选择类别。"
    assert field_value(response, "description") == "保留的说明"
    assert field_value(response, "urgency") == "urgent"
    assert [o["value"] for o in html(response).select("input[name=units][checked]")] == [str(unit)]
    assert await AgendaItem.count() == before

    response = await post_form(street, "/items/new", {"title": uid(), "description": "x", "category": "other",
                                                      "urgency": "normal", "units": ["999999"]})
    assert response.status_code == 400 and field_error(response, "units") == "所选单位不存在。"


async def test_office_chooses_among_its_own_conferences(as_user):
    office = await as_user("office")
    page = html(await office.get("/items/new"))
    names = [o.get_text(strip=True) for o in page.select("select[name=conference] option")]
    assert "兰山街道城市基层党建联席会议" in names and "兰山区城市基层党建联席会议" in names
    assert "罗庄街道城市基层党建联席会议" not in names
    response = await post_form(office, "/items/new", {"conference": str(await street_conference("罗庄街道")), "title": "",
                                                      "description": "d", "category": "other", "urgency": "normal"})
    assert response.status_code == 400
    assert field_error(response, "conference") == "所选联席会议不存在。"
    assert field_error(response, "title") == "请填写议题名称。"  # every message at once

    item_id = await new_item(office, conference=str(await street_conference("兰山街道")))
    row = await item_row(item_id)
    assert (row["street"], row["status"]) == (None, "submitted")
    assert "（办公室提出）" in (await office.get(f"/items/{item_id}")).text
    # An office item concerns no street: nobody else's notifications.
    assert await Notification.count().where((Notification.entity == "agenda_item") & (Notification.entity_id == item_id)) == 0


# ---------------------------------------------------------------- triage


async def test_accept_return_edit_resubmit(as_user):
    street, office = await as_user("street"), await as_user("office")
    item_id = await new_item(street)
    page = await office.get(f"/items/{item_id}")
    assert {f"/items/{item_id}/accept", f"/items/{item_id}/return", f"/items/{item_id}/merge"} <= forms(page)
    assert f"/items/{item_id}/schedule" not in forms(page)
    assert html(page).find(id="return-form")["data-confirm"]  # asked by static/app.js (no inline script)
    assert html(page).find(id="merge-form")["data-confirm"]

    # Wrong roles never change anything.
    for username, status in (("street", 403), ("convenor", 403), ("unit", 403), ("office_luozhuang", 404)):
        response = await post_form(await as_user(username), f"/items/{item_id}/accept", {})
        assert response.status_code == status, username
    assert (await item_row(item_id))["status"] == "submitted"

    assert (await post_form(office, f"/items/{item_id}/accept", {})).status_code == 303
    assert (await item_row(item_id))["status"] == "accepted"
    again = await post_form(office, f"/items/{item_id}/accept", {})
    assert again.status_code == 409 and error_message(again) == "议题当前状态为“已受理”，不能受理。"

    missing = await post_form(office, f"/items/{item_id}/return", {"reason": "  "})
    assert missing.status_code == 400 and field_error(missing, "reason") == "请填写退回理由。"
    assert (await item_row(item_id))["status"] == "accepted"
    response = await post_form(office, f"/items/{item_id}/return", {"reason": "请补充现场照片和涉及商户名单。"})
    assert response.status_code == 303
    row = await item_row(item_id)
    assert (row["status"], row["return_reason"]) == ("returned", "请补充现场照片和涉及商户名单。")
    detail = await street.get(f"/items/{item_id}")
    assert html(detail).find(id="return-reason").get_text(strip=True) == "请补充现场照片和涉及商户名单。"
    assert f"/items/{item_id}/submit" in forms(detail)
    body = (await first(Notification.select(Notification.body).where(
        (Notification.entity_id == item_id) & (Notification.event == "item_returned"))))["body"]
    assert "请补充现场照片和涉及商户名单。" in body
    again = await post_form(office, f"/items/{item_id}/return", {"reason": "再退一次"})
    assert again.status_code == 409 and error_message(again) == "议题当前状态为“已退回”，不能退回。"

    # The street corrects the returned item and submits it again; its age keeps the first date.
    edit = await street.get(f"/items/{item_id}/edit")
    assert edit.status_code == 200 and field_value(edit, "title") == row["title"]
    response = await post_form(street, f"/items/{item_id}/edit", {
        "title": row["title"] + "（补充）", "description": "已补充现场照片。", "category": "market", "urgency": "urgent",
        "version": html(edit).find("input", attrs={"name": "version"})["value"],
        "units": [str(await unit_id("兰山市场监管所"))], "submit": "1"})
    assert response.status_code == 303, response.text
    row2 = await item_row(item_id)
    assert (row2["status"], row2["category"], row2["return_reason"]) == ("submitted", "market", "")
    assert row2["submitted_at"] == row["submitted_at"]
    assert [r["unit"] for r in await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item == item_id)] == [
        await unit_id("兰山市场监管所")]
    # the edit changed the requested units too: recorded as its own "update" with before/after unit ids
    assert await audit_actions(item_id) == ["create", "accept", "return", "update", "update", "submit"]
    assert await street_notifications(item_id) == ["item_submitted", "item_accepted", "item_returned", "item_submitted"]

    # A submitted item is the office's to handle now.
    assert (await street.get(f"/items/{item_id}/edit")).status_code == 409
    refused = await post_form(street, f"/items/{item_id}/edit", {"title": "x", "description": "y", "category": "other",
                                                                 "urgency": "normal"})
    assert refused.status_code == 409
    assert error_message(refused) == "议题当前状态为“已提交”，不能修改（已提交的议题由办公室处理）。"


async def test_a_stale_edit_is_refused(as_user):
    street = await as_user("street")
    item_id = await new_item(street, submit=False)
    row = await item_row(item_id)
    data = {"title": row["title"], "description": "第一次", "category": "other", "urgency": "normal",
            "version": str(row["version"])}
    assert (await post_form(street, f"/items/{item_id}/edit", data)).status_code == 303
    stale = await post_form(street, f"/items/{item_id}/edit", {**data, "description": "第二次"})
    assert stale.status_code == 409 and "已被他人修改" in error_message(stale)
    assert field_value(stale, "description") == "第二次"  # what the user typed is kept
    assert (await item_row(item_id))["description"] == "第一次"


async def test_merge_moves_requested_units(as_user):
    street, office = await as_user("street"), await as_user("office")
    a, b, c = [await unit_id(n) for n in ("兰山区市场监管局", "兰山派出所", "兰山区综合行政执法局")]
    duplicate = await new_item(street, units=[a, b])
    target = await new_item(street, units=[b, c])
    other_conference = await new_item(await as_user("street_luozhuang"))
    page = await office.get(f"/items/{duplicate}")
    assert str(target) in [o["value"] for o in html(page).select("#f-into option")]

    itself = await post_form(office, f"/items/{duplicate}/merge", {"into": str(duplicate)})
    assert itself.status_code == 400 and field_error(itself, "into") == "只能合并到本联席会议的另一个议题。"
    elsewhere = await post_form(office, f"/items/{duplicate}/merge", {"into": str(other_conference)})
    assert elsewhere.status_code == 400 and field_error(elsewhere, "into") == "只能合并到本联席会议的另一个议题。"
    nothing = await post_form(office, f"/items/{duplicate}/merge", {})
    assert nothing.status_code == 400 and field_error(nothing, "into") == "请选择合并到的议题。"
    assert (await post_form(await as_user("street"), f"/items/{duplicate}/merge", {"into": str(target)})).status_code == 403

    response = await post_form(office, f"/items/{duplicate}/merge", {"into": str(target)})
    assert response.status_code == 303
    row = await item_row(duplicate)
    assert (row["status"], row["merged_into"]) == ("merged", target)
    units = sorted(r["unit"] for r in await AgendaItemUnit.select(AgendaItemUnit.unit).where(AgendaItemUnit.item == target))
    assert units == sorted([a, b, c])
    assert await audit_actions(duplicate) == ["create", "merge"]
    assert await street_notifications(duplicate) == ["item_submitted", "item_merged"]
    target_page = await street.get(f"/items/{target}")
    assert row["title"] in target_page.text  # listed among the items merged into it
    assert sorted(li.get_text(strip=True) for li in html(target_page).select("#requested-units li")) == sorted(
        ["兰山区市场监管局", "兰山派出所", "兰山区综合行政执法局"])

    again = await post_form(office, f"/items/{duplicate}/merge", {"into": str(target)})
    assert again.status_code == 409 and error_message(again) == "议题当前状态为“已合并”，不能合并。"
    into_merged = await post_form(office, f"/items/{await new_item(street)}/merge", {"into": str(duplicate)})
    assert into_merged.status_code == 400 and field_error(into_merged, "into") == "目标议题已办结或已合并，不能再合并。"


# ---------------------------------------------------------------- meetings


async def test_carry_over_keeps_the_history_of_meetings(as_user):
    street, office = await as_user("street"), await as_user("office")
    conference = await street_conference("兰山街道")
    item_id = await new_item(street)
    meeting_a = await make_meeting(conference, days=-1)  # notified, started yesterday
    meeting_b = await make_meeting(conference, days=14, notify=False)

    early = await post_form(office, f"/items/{item_id}/schedule", {"meeting": str(meeting_a)})
    assert early.status_code == 409 and error_message(early) == "议题当前状态为“已提交”，不能列入议程。"
    assert (await post_form(office, f"/items/{item_id}/accept", {})).status_code == 303
    page = await office.get(f"/items/{item_id}")
    offered = [int(o["value"]) for o in html(page).select("#f-meeting option") if o["value"]]
    assert offered.index(meeting_b) < offered.index(meeting_a)  # coming meetings first

    response = await post_form(office, f"/items/{item_id}/schedule", {"meeting": str(meeting_a)})
    assert response.status_code == 303
    row = await item_row(item_id)
    assert (row["status"], row["meeting"]) == ("scheduled", meeting_a)
    not_yet = await post_form(office, f"/items/{item_id}/outcome", {"outcome": "deferred"})
    assert not_yet.status_code == 409 and error_message(not_yet) == "会议召开后才能记录议题的研究结果。"
    assert f"/items/{item_id}/outcome" not in forms(await office.get(f"/items/{item_id}"))

    await hold(meeting_a)
    page = await office.get(f"/items/{item_id}")
    assert f"/items/{item_id}/outcome" in forms(page)
    assert [o["value"] for o in html(page).select("#f-outcome option") if o["value"]] == [
        "discussed", "resolved", "deferred", "not_discussed"]
    bad = await post_form(office, f"/items/{item_id}/outcome", {"outcome": "pending"})
    assert bad.status_code == 400 and field_error(bad, "outcome") == "请从列表中选择研究结果。"
    assert (await post_form(await as_user("convenor"), f"/items/{item_id}/outcome", {"outcome": "deferred"})).status_code == 403
    response = await post_form(office, f"/items/{item_id}/outcome", {"outcome": "deferred", "note": "待规划部门出具意见后再议"})
    assert response.status_code == 303
    row = await item_row(item_id)
    assert (row["status"], row["meeting"], row["meetings_waited"]) == ("deferred", None, 1)

    held = await post_form(office, f"/items/{item_id}/schedule", {"meeting": str(meeting_a)})
    assert held.status_code == 400 and field_error(held, "meeting") == "只能列入尚未召开的会议。"
    foreign = await post_form(office, f"/items/{item_id}/schedule",
                              {"meeting": str(await make_meeting(await street_conference("银雀山街道")))})
    assert foreign.status_code == 400 and field_error(foreign, "meeting") == "只能列入本联席会议的会议。"
    assert (await post_form(office, f"/items/{item_id}/schedule", {"meeting": str(meeting_b)})).status_code == 303

    detail = await street.get(f"/items/{item_id}")
    assert detail.status_code == 200
    meetings_rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in html(detail).select("#meeting-history tbody tr")]
    titles = {m["id"]: m["title"] for m in await meetings.Meeting.select(meetings.Meeting.id, meetings.Meeting.title).where(
        meetings.Meeting.id.is_in([meeting_a, meeting_b]))}
    assert [(r[0], r[3], r[4]) for r in meetings_rows] == [
        (titles[meeting_a], "暂缓", "待规划部门出具意见后再议"), (titles[meeting_b], "待研究", "")]
    day_a = today() - dt.timedelta(days=1)
    assert meetings_rows[0][1] == f"{day_a.year}年{day_a.month}月{day_a.day}日"
    assert html(detail).find(id="item-age").get_text(strip=True) == "0 天，已等待 1 次会议"
    listing = await street.get("/items", params={"q": row["title"]})
    cells = html(listing).select_one(f"tr[data-item='{item_id}']")
    assert cells.select_one(".waited").get_text(strip=True) == "1 次"
    assert cells.select_one(".age").get_text(strip=True) == "0 天"
    assert [r["meeting"] for r in await AgendaSlot.select(AgendaSlot.meeting).where(AgendaSlot.item == item_id).order_by(
        AgendaSlot.id)] == [meeting_a, meeting_b]
    assert await audit_actions(item_id) == ["create", "accept", "schedule", "deferred", "schedule"]
    assert await street_notifications(item_id) == [
        "item_submitted", "item_accepted", "item_scheduled", "item_deferred", "item_scheduled"]

    # At meeting B it is discussed, then resolved; a resolved item takes no further decision.
    await lifecycle.notify_meeting(await actor("office"), meeting_b)
    too_early = await post_form(office, f"/items/{item_id}/outcome", {"outcome": "discussed"})
    assert too_early.status_code == 409
    await _start_now(meeting_b)
    await hold(meeting_b)
    assert (await post_form(office, f"/items/{item_id}/outcome", {"outcome": "discussed"})).status_code == 303
    page = await office.get(f"/items/{item_id}")
    assert [o["value"] for o in html(page).select("#f-outcome option") if o["value"]] == ["resolved", "deferred"]
    wrong = await post_form(office, f"/items/{item_id}/outcome", {"outcome": "not_discussed"})
    assert wrong.status_code == 409 and error_message(wrong) == "议题当前状态为“已研究”，不能记为“未及研究”。"
    assert (await post_form(office, f"/items/{item_id}/outcome", {"outcome": "resolved", "note": "已解决"})).status_code == 303
    assert (await item_row(item_id))["status"] == "resolved"
    final = await post_form(office, f"/items/{item_id}/outcome", {"outcome": "deferred"})
    assert final.status_code == 409 and error_message(final) == "议题当前状态为“已解决”，不能记为“暂缓”。"
    assert await street_notifications(item_id) == [
        "item_submitted", "item_accepted", "item_scheduled", "item_deferred", "item_scheduled", "item_discussed",
        "item_resolved"]
    assert not forms(await office.get(f"/items/{item_id}")) - {f"/items/{item_id}/attachments"}


async def _start_now(meeting_id: int) -> None:
    """Moves a meeting to the present so that it can be marked held."""
    from conference.timefmt import now

    await meetings.Meeting.update({meetings.Meeting.starts_at: now() - dt.timedelta(minutes=5),
                                   meetings.Meeting.ends_at: now() + dt.timedelta(hours=1)}).where(
        meetings.Meeting.id == meeting_id)


async def test_not_discussed_is_carried_over_too(as_user):
    street, office = await as_user("street"), await as_user("office")
    item_id = await accepted_item(street, office)
    meeting_id = await make_meeting(await street_conference("兰山街道"), days=0)
    await _start_now(meeting_id)
    assert (await post_form(office, f"/items/{item_id}/schedule", {"meeting": str(meeting_id)})).status_code == 303
    await hold(meeting_id)
    assert (await post_form(office, f"/items/{item_id}/outcome", {"outcome": "not_discussed"})).status_code == 303
    row = await item_row(item_id)
    assert (row["status"], row["meetings_waited"]) == ("deferred", 1)
    assert (await first(AgendaSlot.select(AgendaSlot.outcome).where(AgendaSlot.item == item_id)))["outcome"] == "not_discussed"
    assert "未及研究" in (await street.get(f"/items/{item_id}")).text


async def test_move_on_the_agenda_goes_back_to_the_meeting(as_user):
    street, office = await as_user("street"), await as_user("office")
    meeting_id = await make_meeting(await street_conference("兰山街道"), days=3)
    first, second = await accepted_item(street, office), await accepted_item(street, office)
    for item_id in (first, second):
        assert (await post_form(office, f"/items/{item_id}/schedule", {"meeting": str(meeting_id)})).status_code == 303
    assert [(await item_row(i))["position"] for i in (first, second)] == [1, 2]

    response = await post_form(office, f"/items/{second}/move", {"direction": "up"})
    assert response.status_code == 303 and response.headers["location"] == f"/meetings/{meeting_id}"
    assert [(await item_row(i))["position"] for i in (first, second)] == [2, 1]
    assert (await audit_actions(second))[-1] == "move"
    # Already at the top: nothing moves.
    assert (await post_form(office, f"/items/{second}/move", {"direction": "up"})).status_code == 303
    assert [(await item_row(i))["position"] for i in (first, second)] == [2, 1]

    bad = await post_form(office, f"/items/{second}/move", {"direction": "sideways"})
    assert bad.status_code == 400
    unscheduled = await accepted_item(street, office)
    wrong = await post_form(office, f"/items/{unscheduled}/move", {"direction": "up"})
    assert wrong.status_code == 409 and error_message(wrong) == "议题当前状态为“已受理”，不能调整顺序。"
    assert (await post_form(street, f"/items/{second}/move", {"direction": "down"})).status_code == 403


# ---------------------------------------------------------------- scope


async def test_streets_never_see_each_others_items(as_user):
    street, luozhuang = await as_user("street"), await as_user("street_luozhuang")
    draft = await new_item(street, submit=False, title=uid("兰山草稿"))
    submitted = await new_item(street, title=uid("兰山已提交"))
    attachment = await _upload(street, submitted, "现场.pdf", PDF)
    secrets = [(await item_row(i))["title"] for i in (draft, submitted)]
    for item_id in (draft, submitted):
        for url in (f"/items/{item_id}", f"/items/{item_id}/edit"):
            response = await luozhuang.get(url)
            assert response.status_code == 404, url
            assert not [s for s in secrets if s in response.text]
        response = await post_form(luozhuang, f"/items/{item_id}/submit", {})
        assert response.status_code == 404
    assert (await luozhuang.get(f"/attachments/{attachment}")).status_code == 404
    listing = (await luozhuang.get("/items", params={"per_page": "200"})).text
    assert not [s for s in secrets if s in listing]
    assert "兰山街道" not in html(await luozhuang.get("/items")).select_one("table.items tbody").get_text()
    # Nor does the 罗庄 office.
    office_luozhuang = await as_user("office_luozhuang")
    assert (await office_luozhuang.get(f"/items/{submitted}")).status_code == 404
    assert (await office_luozhuang.get(f"/attachments/{attachment}")).status_code == 404
    assert listed_titles(await office_luozhuang.get("/items", params={"q": secrets[1]})) == []
    # Its own items it sees, with its own street filter implied.
    own = await new_item(luozhuang)
    assert (await luozhuang.get(f"/items/{own}")).status_code == 200
    assert (await item_row(own))["title"] in listed_titles(await luozhuang.get("/items", params={"q": (await item_row(own))["title"]}))
    assert await street_notifications(own, "罗庄街道") == ["item_submitted"]


async def test_office_does_not_see_other_peoples_drafts(as_user):
    office, admin = await as_user("office"), await as_user("admin")
    draft = await new_item(office, submit=False, conference=str(await street_conference("兰山街道")))
    title = (await item_row(draft))["title"]
    assert (await office.get(f"/items/{draft}")).status_code == 200
    assert title in listed_titles(await office.get("/items", params={"q": title}))
    assert (await admin.get(f"/items/{draft}")).status_code == 404
    assert title not in listed_titles(await admin.get("/items", params={"q": title}))
    assert (await post_form(admin, f"/items/{draft}/submit", {})).status_code == 404


async def test_convenor_reads_the_items_of_his_conference(as_user):
    street, convenor = await as_user("street"), await as_user("convenor")
    item_id = await new_item(street, units=[await unit_id("兰山区市场监管局")])
    draft = await new_item(street, submit=False)
    page = await convenor.get(f"/items/{item_id}")
    assert page.status_code == 200
    assert forms(page) == set() and html(page).find(id="edit-link") is None
    assert (await convenor.get(f"/items/{draft}")).status_code == 404
    assert (await item_row(item_id))["title"] in listed_titles(await convenor.get("/items", params={"q": (await item_row(item_id))["title"]}))
    assert (await convenor.get("/items/new")).status_code == 403
    for action in ("submit", "accept", "return", "merge", "schedule", "outcome", "move", "attachments"):
        assert (await post_form(convenor, f"/items/{item_id}/{action}", {})).status_code == 403, action
    luozhuang_item = await new_item(await as_user("street_luozhuang"))
    assert (await convenor.get(f"/items/{luozhuang_item}")).status_code == 404


# ---------------------------------------------------------------- attachments


async def _upload(client: httpx.AsyncClient, item_id: int, name: str, content: bytes, mime: str = "application/pdf") -> int:
    response = await _post_file(client, item_id, name, content, mime)
    assert response.status_code == 303, response.text
    row = await first(Attachment.select(Attachment.id).where(Attachment.item == item_id).order_by(Attachment.id, ascending=False))
    return int(row["id"])


async def _post_file(client: httpx.AsyncClient, item_id: int, name: str, content: bytes, mime: str) -> httpx.Response:
    return await client.post(f"/items/{item_id}/attachments", data={"_csrf_token": client.cookies.get("csrftoken", "")},
                              files={"file": (name, content, mime)})


async def test_attachments_are_checked_and_downloaded_safely(as_user):
    street, office = await as_user("street"), await as_user("office")
    item_id = await new_item(street)
    attachment_id = await _upload(street, item_id, "占道经营现场照片说明.pdf", PDF)
    row = await first(Attachment.select().where(Attachment.id == attachment_id))
    assert (row["content_type"], row["size"], row["uploaded_by"]) == ("application/pdf", len(PDF), (await actor("street")).id)
    assert "attach" in await audit_actions(item_id)
    page = await street.get(f"/items/{item_id}")
    assert "占道经营现场照片说明.pdf" in html(page).find(id="attachments").get_text()

    for client in (street, office, await as_user("convenor")):
        response = await client.get(f"/attachments/{attachment_id}")
        assert response.status_code == 200
        assert response.content == PDF
        assert response.headers["content-type"].startswith("application/pdf")
        assert response.headers["x-content-type-options"] == "nosniff"
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''%E5%8D%A0" in disposition  # 占…, percent-encoded UTF-8
    assert (await (await as_user("unit")).get(f"/attachments/{attachment_id}")).status_code == 403
    assert (await (await as_user("street_luozhuang")).get(f"/attachments/{attachment_id}")).status_code == 404

    count = await Attachment.count().where(Attachment.item == item_id)
    html_as_pdf = await _post_file(street, item_id, "report.pdf", b"<!doctype html><script>alert(1)</script>", "application/pdf")
    assert html_as_pdf.status_code == 400 and field_error(html_as_pdf, "file") == "文件内容与扩展名不符。"
    plain_html = await _post_file(street, item_id, "page.html", b"<html></html>", "text/html")
    assert plain_html.status_code == 400 and field_error(plain_html, "file") == "只能上传 PDF、Word、Excel 或 JPG/PNG 图片。"
    empty = await _post_file(street, item_id, "empty.png", b"", "image/png")
    assert empty.status_code == 400 and field_error(empty, "file") == "文件是空的。"
    limit = 10 * 1024 * 1024
    over = await _post_file(street, item_id, "big.pdf", b"%PDF-" + b"0" * (limit - 4), "application/pdf")
    assert over.status_code == 400 and field_error(over, "file") == "文件过大（上限 10 MB）"
    far_over = await _post_file(street, item_id, "huge.pdf", b"%PDF-" + b"0" * (limit + 2 * 1024 * 1024), "application/pdf")
    assert far_over.status_code == 400 and "文件过大（上限 10 MB）" in far_over.text
    no_file = await post_form(street, f"/items/{item_id}/attachments", {})
    assert no_file.status_code == 400 and field_error(no_file, "file") == "请选择要上传的文件。"
    assert await Attachment.count().where(Attachment.item == item_id) == count

    # An image is served as the image type it was checked to be, still as a download.
    png = await _upload(office, item_id, "map.png", PNG, "text/html")
    response = await office.get(f"/attachments/{png}")
    assert response.headers["content-type"].startswith("image/png")
    assert response.headers["content-disposition"].startswith("attachment;")

    # Once the office has accepted the item, the street's file list is closed; the office may still add.
    assert (await post_form(office, f"/items/{item_id}/accept", {})).status_code == 303
    closed = await _post_file(street, item_id, "later.pdf", PDF, "application/pdf")
    assert closed.status_code == 409 and error_message(closed) == "议题当前状态为“已受理”，不能上传附件。"
    assert "upload-form" not in (await street.get(f"/items/{item_id}")).text
    await _upload(office, item_id, "office.pdf", PDF)


# ---------------------------------------------------------------- the list


async def test_list_searches_filters_and_sorts(as_user):
    street, office = await as_user("street"), await as_user("office")
    token = uuid.uuid4().hex[:8]
    a, b, c = f"A{token}一般", f"B{token}特急", f"C{token}紧急"
    normal = await new_item(street, title=a, urgency="normal")
    critical = await new_item(street, title=b, urgency="critical")
    await new_item(street, title=c, urgency="urgent", submit=False)
    assert (await post_form(office, f"/items/{normal}/accept", {})).status_code == 303

    async def titles(client: httpx.AsyncClient, **params: str) -> list[str]:
        response = await client.get("/items", params={"q": token, **params})
        assert response.status_code == 200
        return listed_titles(response)

    assert await titles(street) == [c, b, a]  # newest first by default
    assert await titles(street, sort="submitted_at") == [a, b, c]
    assert await titles(street, sort="urgency", desc="1") == [b, c, a]
    assert await titles(street, sort="urgency") == [a, c, b]
    assert await titles(street, sort="title") == [a, b, c]
    assert await titles(street, sort="title", desc="1") == [c, b, a]
    assert await titles(street, sort="nonsense") == [a, b, c] or await titles(street, sort="nonsense") == [c, b, a]
    assert await titles(street, urgency="critical") == [b]
    assert await titles(street, status="accepted") == [a]
    assert await titles(street, status="draft") == [c]
    assert await titles(office) == [b, a]  # not the street's draft
    assert await titles(office, sort="age", desc="1") == [a, b]  # longest waiting first
    assert await titles(office, sort="age") == [b, a]
    conference = await street_conference("兰山街道")
    assert await titles(office, conference=str(conference), street=str(await street_id("兰山街道"))) == [b, a]
    assert await titles(office, street=str(await street_id("罗庄街道"))) == []
    assert await titles(await as_user("office_luozhuang")) == []
    page = html(await office.get("/items", params={"q": token, "urgency": "critical"}))
    assert page.find("select", attrs={"name": "urgency"}).find("option", selected=True)["value"] == "critical"
    sort_link = page.select_one("table.items thead a[href*='sort=age']")["href"]
    assert "urgency=critical" in sort_link and "q=" + token in sort_link
    row = page.select_one(f"tr[data-item='{critical}']")
    assert row.select_one(".age").get_text(strip=True) == "0 天" and row.select_one(".waited").get_text(strip=True) == "0 次"
    assert "兰山街道" in row.get_text() and "特急" in row.get_text()
    submitted = row.select("td")[5].get_text(strip=True)
    assert submitted == f"{today().year}年{today().month}月{today().day}日"


async def test_list_pages(as_user):
    street = await as_user("street")
    token = uuid.uuid4().hex[:8]
    for n in range(3):
        await new_item(street, title=f"分页{token}-{n}")
    first = await street.get("/items", params={"q": token, "per_page": "2"})
    assert len(listed_titles(first)) == 2
    next_link = html(first).select_one(".pager a[rel=next]")["href"]
    second = await street.get("/items" + next_link)
    assert len(listed_titles(second)) == 1
    assert set(listed_titles(first)).isdisjoint(listed_titles(second))


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def count_queries(monkeypatch: pytest.MonkeyPatch) -> QueryCounter:
    """Counts every query the app runs: both Piccolo engines send each one through run_querystring."""
    counter = QueryCounter()
    engine_class = type(db.engine())  # the engine has __slots__: wrap the method on its class
    original = engine_class.run_querystring

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter.count += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", counting)
    return counter


@pytest.mark.parametrize("username", ["street", "office"])
async def test_the_list_runs_a_constant_number_of_queries(as_user, count_queries, username):
    street, client = await as_user("street"), await as_user(username)
    token = uuid.uuid4().hex[:8]

    async def queries_for_list() -> int:
        before = count_queries.count
        response = await client.get("/items", params={"per_page": "200"})
        assert response.status_code == 200
        return count_queries.count - before

    for n in range(5):
        await new_item(street, title=f"计数{token}-{n}", units=[await unit_id("兰山区市场监管局")])
    few = await queries_for_list()
    rows_before = len(html(await client.get("/items", params={"per_page": "200"})).select("table.items tbody tr[data-item]"))
    for n in range(30):
        await new_item(street, title=f"计数{token}-{n + 5}")
    many = await queries_for_list()
    rows_after = len(html(await client.get("/items", params={"per_page": "200"})).select("table.items tbody tr[data-item]"))
    assert rows_after >= min(rows_before + 30, 200)
    assert many == few, (few, many)
    assert few <= 6, few
