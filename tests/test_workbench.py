"""The workbench (工作台), every role's home page: each card's count equals the rows of the list it
links to, the page runs a fixed number of queries, and a record built for a role appears on its
card, is acted on and leaves."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conference.accounts.scope import visible_conference_ids
from conference.agenda import scheduling
from conference.agenda import services as agenda
from conference.meetings import invitations as meeting_invitations
from conference.meetings import lifecycle, special_requests
from conference.meetings import services as meetings
from conference.meetings.tables import Invitation, Meeting, SpecialMeetingRequest
from conference.minutes import workflow as minutes_workflow
from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit
from conference.tasks import resolutions as task_resolutions
from conference.tasks import services as tasks
from conference.tasks.tables import Resolution, Task
from conference.timefmt import today
from conference.visibility import conference_in
from tests.conftest import html
from tests.factories import LANSHAN_STREET, LUOZHUANG_STREET, actor, make_meeting, unique
from tests.querycount import count_queries
from tests.test_tasks import held_meeting, new_task

ROLES = ("admin", "office", "convenor", "street", "unit")
ACCOUNTS = ("admin", "office", "office_luozhuang", "convenor", "street", "street_luozhuang", "unit", "unit_police")
COUNT = re.compile(r"共\s*(\d+)\s*条")


async def cards(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """The workbench's cards by key: count, link, note, in page order."""
    response = await client.get("/")
    assert response.status_code == 200, response.text[:500]
    found = {}
    page: Any = html(response)
    for li in page.select("li.work-card"):
        note = li.select_one(".kpi-note")
        found[li["data-card"]] = {"count": int(li["data-count"]), "href": li.a["href"],
                                  "value": int(li.select_one(".kpi-value").get_text(strip=True)),
                                  "note": note.get_text(strip=True) if note else ""}
    return found


async def title_of(meeting_id: int) -> str:
    return str((await Meeting.select(Meeting.title).where(Meeting.id == meeting_id).first())["title"])


async def count_of(client: httpx.AsyncClient, key: str) -> int:
    return (await cards(client))[key]["count"]


async def rows_listed(client: httpx.AsyncClient, href: str) -> int:
    """The number of rows the linked list says it shows ("共 N 条")."""
    response = await client.get(href)
    assert response.status_code == 200, (href, response.text[:500])
    counter = html(response).select_one(".count")
    assert counter is not None, href
    match = COUNT.search(counter.get_text())
    assert match, (href, counter.get_text())
    return int(match.group(1))


@pytest.mark.parametrize("username", ROLES)
async def test_each_count_equals_the_rows_of_its_list(as_user: Any, username: str) -> None:
    client = await as_user(username)
    found = await cards(client)
    assert found, username
    for key, card in found.items():
        assert card["value"] == card["count"]
        assert await rows_listed(client, card["href"]) == card["count"], (username, key, card["href"])


@pytest.mark.parametrize("username", ROLES)
async def test_the_page_runs_a_fixed_number_of_queries(as_user: Any, username: str) -> None:
    client = await as_user(username)
    with count_queries() as before:
        await client.get("/")
    # More of everything the cards count: an item waiting, a meeting to notify, a held meeting with tasks.
    street = await actor("street")
    await agenda.create_item(street, {"title": unique("议题"), "description": "说明", "category": "urban_management",
                                      "urgency": "normal"}, [], submit=True)
    await make_meeting()
    await new_task()
    with count_queries() as after:
        await client.get("/")
    assert len(after) == len(before), (before, after)
    assert len(before) <= 14, before


async def test_the_conference_scopes_are_piccolos_is_in(database_url: str) -> None:
    """The rules of the roles that see records by conference write Piccolo's is_in directly
    (conference.visibility.conference_in, used by the counts, the lists and the lookups): the same
    SQL text and values as Piccolo's, on both databases, for every demo account and for none, one
    and more ids than db.ids would bind one by one."""
    visibles: list[set[int]] = [set(), {7}, set(range(1, 600))]
    for username in ACCOUNTS:
        found = await visible_conference_ids(await actor(username))
        if found is not None:
            visibles.append(found)
    for table in (Task, Meeting, SpecialMeetingRequest, Notification, Resolution):
        for visible in visibles:
            written = conference_in(table, visible).querystring
            ruled = table.conference.is_in(sorted(visible) or [0]).querystring
            for engine_type in ("sqlite", "postgres"):
                assert written.compile_string(engine_type) == ruled.compile_string(engine_type), (table, visible)


async def test_cards_are_ordered_most_urgent_first(as_user: Any) -> None:
    found = list((await cards(await as_user("office"))).values())
    waiting = [c["count"] > 0 for c in found]
    assert waiting == sorted(waiting, reverse=True)  # nothing waiting goes last


# ---------------------------------------------------------------- office


async def test_office_item_to_triage_appears_and_leaves_when_accepted(as_user: Any) -> None:
    office = await as_user("office")
    before = await count_of(office, "items_submitted")
    item_id = await agenda.create_item(await actor("street"), {
        "title": unique("议题"), "description": "说明", "category": "urban_management", "urgency": "normal"}, [], submit=True)
    found = await cards(office)
    assert found["items_submitted"]["count"] == before + 1
    assert "最久已等待" in found["items_submitted"]["note"]
    listed = await office.get(found["items_submitted"]["href"] + "&per_page=200")
    assert f"/items/{item_id}" in {a["href"] for a in html(listed).select("a[href]")}
    await agenda.accept_item(await actor("office"), item_id)
    assert await count_of(office, "items_submitted") == before


async def test_office_meeting_to_notify_then_replies_missing(as_user: Any) -> None:
    office = await as_user("office")
    start = await cards(office)
    meeting_id = await make_meeting()
    assert await count_of(office, "meetings_notify") == start["meetings_notify"]["count"] + 1
    await lifecycle.notify_meeting(await actor("office"), meeting_id)
    found = await cards(office)
    assert found["meetings_notify"]["count"] == start["meetings_notify"]["count"]
    assert found["meetings_replies"]["count"] == start["meetings_replies"]["count"] + 1
    # The linked list, narrowed to this meeting's name: other tests' meetings on the same day come
    # first (same start, lower id), so an unfiltered first page need not reach it.
    listed = html(await office.get(found["meetings_replies"]["href"] + "&page=1&q=" + quote(await title_of(meeting_id))))
    assert f"/meetings/{meeting_id}" in {a["href"] for a in listed.select("a[href]")}
    # Cancelling it ends the wait for replies: it leaves the card.
    await lifecycle.cancel_meeting(await actor("office"), meeting_id, {"reason": "测试取消"})
    found = await cards(office)
    assert found["meetings_replies"]["count"] == start["meetings_replies"]["count"]


async def test_office_extension_request_and_report_to_close(as_user: Any) -> None:
    office, unit = await as_user("office"), await as_user("unit")
    task_id = (await new_task())["兰山区市场监管局"]
    start = await cards(office)
    unit_actor, office_actor = await actor("unit"), await actor("office")
    await tasks.acknowledge(unit_actor, task_id)
    await tasks.request_extension(unit_actor, task_id, {
        "extension_deadline": (today() + dt.timedelta(days=60)).isoformat(), "extension_reason": "需要协调"})
    assert await count_of(office, "extension_requested") == start["extension_requested"]["count"] + 1
    unit_before = await count_of(unit, "extension_decided")
    await tasks.decide_extension(office_actor, task_id, True, {"comment": ""})
    assert await count_of(office, "extension_requested") == start["extension_requested"]["count"]
    assert await count_of(unit, "extension_decided") == unit_before + 1
    await tasks.report_done(unit_actor, task_id, {"evidence": "已整治完毕"})
    assert await count_of(office, "reported_done") == start["reported_done"]["count"] + 1
    await tasks.close_task(office_actor, task_id, {})
    assert await count_of(office, "reported_done") == start["reported_done"]["count"]
    assert await count_of(unit, "extension_decided") == unit_before  # closed: nothing left to act on


# ---------------------------------------------------------------- convenor and minutes


async def test_minutes_under_review_then_returned(as_user: Any) -> None:
    office, convenor = await as_user("office"), await as_user("convenor")
    meeting_id, _item = await held_meeting()
    office_actor = await actor("office")
    minutes_id = await minutes_workflow.start_minutes(office_actor, meeting_id)
    start_review = await count_of(convenor, "minutes_review")
    start_returned = await count_of(office, "minutes_returned")
    await minutes_workflow.submit_minutes(office_actor, minutes_id, {})
    assert await count_of(convenor, "minutes_review") == start_review + 1
    await minutes_workflow.return_minutes(await actor("convenor"), minutes_id, {"text": "请补充出席名单"})
    assert await count_of(convenor, "minutes_review") == start_review
    found = await cards(office)
    assert found["minutes_returned"]["count"] == start_returned + 1
    # The meeting list no longer says "纪要审签中" for returned minutes.
    listed = html(await office.get(found["minutes_returned"]["href"]))
    row = next(tr for tr in listed.select("table.meetings tbody tr") if tr.find("a", href=f"/meetings/{meeting_id}"))
    assert row.select_one(".status").get_text(strip=True) == "纪要退回修改"
    page = html(await office.get(f"/meetings/{meeting_id}"))
    assert page.select_one("h1 .status").get_text(strip=True) == "纪要退回修改"
    await minutes_workflow.submit_minutes(office_actor, minutes_id, {})
    assert await count_of(office, "minutes_returned") == start_returned
    assert await count_of(convenor, "minutes_review") == start_review + 1


async def test_convenor_special_request_and_street_decision(as_user: Any) -> None:
    convenor, street = await as_user("convenor"), await as_user("street")
    start = await count_of(convenor, "special_requested")
    decided = await count_of(street, "special_decided")
    item_id = await agenda.create_item(await actor("street"), {
        "title": unique("议题"), "description": "说明", "category": "urban_management", "urgency": "urgent"}, [], submit=True)
    await agenda.accept_item(await actor("office"), item_id)
    request_id = await special_requests.request_special_meeting(await actor("street"), {
        "title": unique("专题会议"), "reason": "占道经营反复出现", "proposed_date": (today() + dt.timedelta(days=7)).isoformat()},
        [str(item_id)])
    assert await count_of(convenor, "special_requested") == start + 1
    await special_requests.decide_special_request(await actor("convenor"), request_id, False, {"comment": "并入全体会议研究"})
    assert await count_of(convenor, "special_requested") == start
    assert await count_of(street, "special_decided") == decided + 1


async def test_convenor_sees_overdue_tasks_of_his_conferences_only(as_user: Any) -> None:
    convenor = await as_user("convenor")
    start = await count_of(convenor, "tasks_red")
    overdue = (await new_task(deadline=today() - dt.timedelta(days=1)))["兰山区市场监管局"]
    assert await count_of(convenor, "tasks_red") == start + 1
    await tasks.cancel_task(await actor("office"), overdue, {"reason": "测试撤销"})
    assert await count_of(convenor, "tasks_red") == start
    # A task of another street's conference is not his.
    meeting_id, item_id = await held_meeting("office_luozhuang", LUOZHUANG_STREET, "street_luozhuang")
    lead = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == "罗庄市场监管所").first()
    assert lead is not None
    await task_resolutions.adopt_resolution(await actor("office_luozhuang"), meeting_id, {
        "item": str(item_id), "text": unique("议定事项"), "lead_unit": str(lead["id"]), "deadline_mode": "date",
        "deadline": (today() - dt.timedelta(days=1)).isoformat()}, [])
    assert await count_of(await as_user("office_luozhuang"), "tasks_red") >= 1
    assert await count_of(convenor, "tasks_red") == start


# ---------------------------------------------------------------- street


async def test_street_returned_item_and_task_to_rate(as_user: Any) -> None:
    street, other = await as_user("street"), await as_user("street_luozhuang")
    start, other_start = await cards(street), await count_of(other, "items_returned")
    street_actor, office_actor = await actor("street"), await actor("office")
    item_id = await agenda.create_item(street_actor, {
        "title": unique("议题"), "description": "说明", "category": "urban_management", "urgency": "normal"}, [], submit=True)
    await agenda.return_item(office_actor, item_id, {"reason": "请补充情况说明"})
    assert await count_of(street, "items_returned") == start["items_returned"]["count"] + 1
    assert await count_of(other, "items_returned") == other_start  # another street's workbench is unchanged
    await agenda.submit_item(street_actor, item_id)
    assert await count_of(street, "items_returned") == start["items_returned"]["count"]

    task_id = (await new_task())["兰山区市场监管局"]
    unit_actor = await actor("unit")
    await tasks.acknowledge(unit_actor, task_id)
    await tasks.report_done(unit_actor, task_id, {"evidence": "已完成"})
    await tasks.close_task(office_actor, task_id, {})
    assert await count_of(street, "tasks_to_rate") == start["tasks_to_rate"]["count"] + 1
    await tasks.rate_task(street_actor, task_id, {"rating": "satisfied", "rating_comment": "好"})
    assert await count_of(street, "tasks_to_rate") == start["tasks_to_rate"]["count"]


async def test_street_coming_meeting_with_its_item(as_user: Any) -> None:
    street = await as_user("street")
    start = await count_of(street, "meetings_street_items")
    meeting_id = await make_meeting()
    office_actor = await actor("office")
    item_id = await agenda.create_item(await actor("street"), {
        "title": unique("议题"), "description": "说明", "category": "urban_management", "urgency": "normal"}, [], submit=True)
    await agenda.accept_item(office_actor, item_id)
    await scheduling.schedule_item(office_actor, item_id, {"meeting": str(meeting_id)})
    found = await cards(street)
    assert found["meetings_street_items"]["count"] == start + 1
    assert found["meetings_street_items"]["note"].startswith("最近一场")
    await lifecycle.cancel_meeting(office_actor, meeting_id, {"reason": "测试取消"})
    assert await count_of(street, "meetings_street_items") == start


# ---------------------------------------------------------------- unit


async def test_unit_invitation_to_answer(as_user: Any) -> None:
    unit, police = await as_user("unit"), await as_user("unit_police")
    start, police_start = await count_of(unit, "invitations"), await count_of(police, "invitations")
    meeting_id = await make_meeting(conference=LANSHAN_STREET)
    assert await count_of(unit, "invitations") == start  # a draft has not been sent to anyone
    await lifecycle.notify_meeting(await actor("office"), meeting_id)
    found = await cards(unit)
    assert found["invitations"]["count"] == start + 1
    assert "会前回复" in found["invitations"]["note"]
    invitation = await Invitation.select().where(
        (Invitation.meeting == meeting_id) & (Invitation.unit == (await actor("unit")).unit_id)).first()
    assert invitation is not None
    meeting = await meetings.managed_meeting(await actor("office"), meeting_id)
    await meeting_invitations.reply(await actor("unit"), invitation, meeting, {"reply": "leave", "leave_reason": "外出检查"})
    assert await count_of(unit, "invitations") == start
    invited_police = await Invitation.exists().where(
        (Invitation.meeting == meeting_id) & (Invitation.unit == (await actor("unit_police")).unit_id))
    assert await count_of(police, "invitations") == police_start + (1 if invited_police else 0)


async def test_unit_tasks_to_acknowledge_and_due(as_user: Any) -> None:
    unit, police = await as_user("unit"), await as_user("unit_police")
    start, police_start = await cards(unit), await count_of(police, "tasks_assigned")
    task_id = (await new_task(deadline=today() - dt.timedelta(days=1)))["兰山区市场监管局"]
    found = await cards(unit)
    assert found["tasks_assigned"]["count"] == start["tasks_assigned"]["count"] + 1
    assert found["tasks_red"]["count"] == start["tasks_red"]["count"] + 1
    assert await count_of(police, "tasks_assigned") == police_start  # only the named unit's
    await tasks.acknowledge(await actor("unit"), task_id)
    assert await count_of(unit, "tasks_assigned") == start["tasks_assigned"]["count"]
    await tasks.cancel_task(await actor("office"), task_id, {"reason": "测试撤销"})
    assert await count_of(unit, "tasks_red") == start["tasks_red"]["count"]


async def test_unit_sees_minutes_distributed_to_it(as_user: Any) -> None:
    unit, other = await as_user("unit"), await as_user("street_luozhuang")
    start, other_start = await count_of(unit, "minutes_recent"), await cards(other)
    meeting_id, _item = await held_meeting()
    office_actor = await actor("office")
    minutes_id = await minutes_workflow.start_minutes(office_actor, meeting_id)
    number = await minutes_workflow.submit_minutes(office_actor, minutes_id, {})
    assert await count_of(unit, "minutes_recent") == start  # not before the convenor signs
    await minutes_workflow.approve_minutes(await actor("convenor"), minutes_id, {"number": str(number)})
    found = await cards(unit)
    assert found["minutes_recent"]["count"] == start + 1
    listed = html(await unit.get(found["minutes_recent"]["href"] + "&q=" + quote(await title_of(meeting_id))))
    assert f"/meetings/{meeting_id}" in {a["href"] for a in listed.select("a[href]")}
    assert await cards(other) == other_start  # another street's people see nothing of it


async def office_statements(who: Any, day: dt.date) -> tuple[Any, ...]:
    """The office's count statements that the workbench keeps, made afresh by their builders."""
    from conference.agenda import views as agenda_views
    from conference.mail import services as mail_services
    from conference.meetings import views as meeting_views
    from conference.tasks import views as task_views
    from conference.workbench import services as workbench

    return (await task_views.task_counts_sql(who, workbench.OFFICE_TASKS, "task_"),
            await mail_services.dead_letters_sql(who, "dead"),
            await meeting_views.plenaries_due_sql(who, day, "plenaries"),
            await agenda_views.count_items_sql(who, workbench.TRIAGE, "items_"))


async def _no_build() -> tuple[Any, ...]:
    raise AssertionError("the statements should have been kept")


@pytest.mark.parametrize("username", ("admin", "office", "office_luozhuang"))
async def test_kept_count_statements_are_the_ones_made(database_url: str, username: str) -> None:
    """workbench.services keeps the count statements that depend only on the actor, its
    conferences, the day and the settings: the kept ones are those the builders make now."""
    from conference.accounts.scope import read_once
    from conference.workbench import services as workbench

    who = await actor(username)
    day = today()
    for _ in range(2):  # made, then kept
        with read_once():
            await workbench.workbench(who)
    with read_once():
        kept = await workbench._kept("office", who, day, _no_build)
        made = await office_statements(who, day)
    for engine_type in ("sqlite", "postgres"):
        assert [q.compile_string(engine_type) for q in kept] == [q.compile_string(engine_type) for q in made]


async def test_a_new_yellow_limit_reaches_the_kept_counts(as_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from conference.accounts.scope import read_once
    from conference.settings import get_settings, reset_settings
    from conference.tasks.services import yellow_until
    from conference.workbench import services as workbench

    office = await as_user("office")
    await cards(office)
    monkeypatch.setenv("SUPERVISION_YELLOW_WORKDAYS", str(get_settings().supervision_yellow_workdays + 7))
    reset_settings()
    try:
        who = await actor("office")
        with read_once():  # the new limit is a new key: its statements are made, not the old ones kept
            kept = await workbench._kept("office", who, today(), lambda: office_statements(who, today()))
        assert yellow_until(today()) in kept[0].compile_string("sqlite")[1]
        await cards(office)  # the page with the new limit
    finally:
        monkeypatch.delenv("SUPERVISION_YELLOW_WORKDAYS")
        reset_settings()
