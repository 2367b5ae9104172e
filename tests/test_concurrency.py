"""The same action fired several times at once against a real `conference serve --workers 2`.

A double click or two office staff pressing the same button send the same request side by side.
On PostgreSQL two worker processes then run the two requests in parallel, so every rule that must
hold once ("one invitation per unit", "numbers run 1, 2, 3", "the change notice goes out once")
has to be a row lock or a constraint (conference.db.atomic, migration 2026-12-03T09:41). The
server here works on the suite's own database (SQLite file or PostgreSQL schema): the records are
set up through the services in this process, the burst goes over HTTP to the two workers, and the
effect is counted in the database. No response may be a 5xx.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conference.agenda import scheduling
from conference.agenda import services as agenda
from conference.agenda.tables import AgendaItem
from conference.audit.tables import AuditEvent
from conference.meetings import lifecycle
from conference.meetings import services as meetings
from conference.meetings.tables import Invitation
from conference.minutes.tables import Minutes
from conference.notifications.tables import Notification
from conference.registry.tables import MemberUnit
from conference.tasks import resolutions as task_resolutions
from conference.tasks import services as tasks
from conference.tasks.tables import Resolution, Task, TaskReport
from conference.timefmt import today
from tests.browser import HOST, LiveServer, _server_env, conference_command, free_port, stop_server, wait_until_healthy
from tests.conftest import DEMO_PASSWORD, html
from tests.factories import actor, make_meeting, make_past_meeting, unique

BURST = 6  # requests fired at once; more than two so that both workers take some of them
MARKET = "兰山区市场监管局"  # the unit of the demo account "unit"


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = free_port()
    url = f"http://{HOST}:{port}"
    env = _server_env(database_url, url)
    env.update({"REMINDER_INTERVAL": "0", "MAIL_INTERVAL": "0"})  # only the requests under test write
    log_path = Path(tmp_path_factory.mktemp("workers")) / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([conference_command(), "serve", "--host", HOST, "--port", str(port), "--workers", "2"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    live = LiveServer(url=url, database_url=database_url, log_path=log_path, process=process)
    wait_until_healthy(live)
    try:
        yield live
    finally:
        stop_server(live)
        assert " 500 " not in live.log_tail(10_000), live.log_tail()


async def _client(server: LiveServer, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=server.url, timeout=60, trust_env=False)
    await client.get("/login")
    response = await client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                                 "_csrf_token": client.cookies.get("csrftoken", "")})
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
async def office(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    client = await _client(server, "office")
    yield client
    await client.aclose()


@pytest.fixture
async def unit(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    client = await _client(server, "unit")
    yield client
    await client.aclose()


async def burst(client: httpx.AsyncClient, url: str, forms: list[dict[str, Any]]) -> Counter[int]:
    """POST each form at once (as a page would, CSRF token included); the status codes counted."""
    token = client.cookies.get("csrftoken", "")
    responses = await asyncio.gather(*(client.post(url, data={**form, "_csrf_token": token}) for form in forms))
    statuses = Counter(r.status_code for r in responses)
    assert not [s for s in statuses if s >= 500], (statuses, [r.text[:300] for r in responses])
    return statuses


async def _unit_id(name: str) -> int:
    row = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == name).first()
    assert row is not None
    return int(row["id"])


async def _held_meeting_with_items(count: int) -> tuple[int, list[int]]:
    meeting_id = await make_past_meeting()
    office_actor, street_actor = await actor("office"), await actor("street")
    items = []
    for _ in range(count):
        item_id = await agenda.create_item(street_actor, {
            "title": unique("议题"), "description": "背街小巷路灯长期损坏，夜间通行不便。", "category": "urban_management",
            "urgency": "normal"}, [], submit=True)
        await agenda.accept_item(office_actor, item_id)
        await scheduling.schedule_item(office_actor, item_id, {"meeting": str(meeting_id)})
        items.append(item_id)
    await lifecycle.hold_meeting(office_actor, meeting_id)
    return meeting_id, items


async def test_change_notice_goes_out_once(office: httpx.AsyncClient) -> None:
    meeting_id = await make_meeting()
    office_actor = await actor("office")
    units = await lifecycle.notify_meeting(office_actor, meeting_id)
    row = await meetings.managed_meeting(office_actor, meeting_id)
    await lifecycle.update_meeting(office_actor, meeting_id, {
        "kind": row["kind"], "title": row["title"], "date": (dt.date.today() + dt.timedelta(days=31)).isoformat(),
        "start_time": "14:00", "end_time": "16:00", "location": row["location"], "version": str(row["version"])})

    # The confirmation of the preview (when there is still something to send), posted many times
    # at once (a double click, several tabs).
    confirm = html(await office.get(f"/meetings/{meeting_id}/notify")).find("input", attrs={"name": "confirm"})
    statuses = await burst(office, f"/meetings/{meeting_id}/notify", [{"confirm": confirm["value"] if confirm else ""}] * BURST)

    invitations = [r["id"] for r in await Invitation.select(Invitation.id).where(Invitation.meeting == meeting_id)]
    notices = await Notification.count().where(
        (Notification.event == "meeting_updated") & (Notification.entity == "invitation") & Notification.entity_id.is_in(invitations))
    assert notices == units, statuses
    # The page answers a refused notify with a redirect and a message, so the audit trail tells
    # how many went through: one.
    renotified = await AuditEvent.count().where(
        (AuditEvent.entity == "meeting") & (AuditEvent.entity_id == meeting_id) & (AuditEvent.action == "renotify"))
    assert renotified == 1 and statuses == Counter({303: BURST}), (renotified, statuses)


async def test_unit_invited_once(office: httpx.AsyncClient) -> None:
    meeting_id = await make_meeting()
    police = await _unit_id("兰山区公安分局")
    await Invitation.delete().where((Invitation.meeting == meeting_id) & (Invitation.unit == police))

    statuses = await burst(office, f"/meetings/{meeting_id}/invitations", [{"unit": str(police), "role": "member"}] * BURST)

    assert await Invitation.count().where((Invitation.meeting == meeting_id) & (Invitation.unit == police)) == 1
    assert statuses[303] == 1 and sum(statuses.values()) == BURST, statuses


async def test_resolution_numbers_run_one_two_three(office: httpx.AsyncClient) -> None:
    meeting_id, (item_id,) = await _held_meeting_with_items(1)
    lead = str(await _unit_id(MARKET))
    deadline = (today() + dt.timedelta(days=30)).isoformat()
    forms = [{"item": str(item_id), "text": unique("议定事项"), "lead_unit": lead, "deadline_mode": "date", "deadline": deadline}
             for _ in range(BURST)]

    statuses = await burst(office, f"/meetings/{meeting_id}/resolutions", forms)

    numbers = sorted(r["number"] for r in await Resolution.select(Resolution.number).where(Resolution.meeting == meeting_id))
    assert numbers == list(range(1, statuses[303] + 1)), (numbers, statuses)
    assert statuses[303] == BURST, statuses  # none refused: each is a resolution of its own


async def test_agenda_positions_run_one_two_three(office: httpx.AsyncClient) -> None:
    meeting_id = await make_meeting()
    office_actor, street_actor = await actor("office"), await actor("street")
    items = []
    for _ in range(BURST):
        item_id = await agenda.create_item(street_actor, {
            "title": unique("议题"), "description": "农贸市场周边交通拥堵。", "category": "urban_management", "urgency": "normal"},
            [], submit=True)
        await agenda.accept_item(office_actor, item_id)
        items.append(item_id)
    token = office.cookies.get("csrftoken", "")

    responses = await asyncio.gather(*(office.post(f"/items/{i}/schedule", data={"meeting": str(meeting_id), "_csrf_token": token})
                                       for i in items))

    assert all(r.status_code == 303 for r in responses), [(r.status_code, r.text[:200]) for r in responses]
    positions = sorted(r["position"] for r in await AgendaItem.select(AgendaItem.position).where(AgendaItem.meeting == meeting_id))
    assert positions == list(range(1, BURST + 1))


async def test_minutes_started_once(office: httpx.AsyncClient) -> None:
    meeting_id, _items = await _held_meeting_with_items(1)

    statuses = await burst(office, f"/meetings/{meeting_id}/minutes", [{}] * BURST)

    assert await Minutes.count().where(Minutes.meeting == meeting_id) == 1
    assert statuses[303] == 1 and statuses[409] == BURST - 1, statuses


async def test_minutes_issue_numbers_distinct(office: httpx.AsyncClient) -> None:
    held = [(await _held_meeting_with_items(1))[0] for _ in range(3)]
    token = office.cookies.get("csrftoken", "")

    responses = await asyncio.gather(*(office.post(f"/meetings/{m}/minutes", data={"_csrf_token": token}) for m in held))

    assert all(r.status_code == 303 for r in responses), [(r.status_code, r.text[:200]) for r in responses]
    rows = await Minutes.select(Minutes.conference, Minutes.issue_year, Minutes.issue_number).where(Minutes.meeting.is_in(held))
    keys = [(r["conference"], r["issue_year"], r["issue_number"]) for r in rows]
    assert len(set(keys)) == 3 and all(k[2] for k in keys), keys


async def test_progress_reports_never_conflict(unit: httpx.AsyncClient) -> None:
    meeting_id, (item_id,) = await _held_meeting_with_items(1)
    resolution_id = await task_resolutions.adopt_resolution(await actor("office"), meeting_id, {
        "item": str(item_id), "text": unique("议定事项"), "lead_unit": str(await _unit_id(MARKET)), "deadline_mode": "date",
        "deadline": (today() + dt.timedelta(days=30)).isoformat()}, [])
    task = await Task.select(Task.id).where(Task.resolution == resolution_id).first()
    assert task is not None
    await tasks.acknowledge(await actor("unit"), task["id"])

    statuses = await burst(unit, f"/tasks/{task['id']}/progress", [{"text": f"第{n}次进展：已完成现场勘查。"} for n in range(BURST)])

    assert statuses == Counter({303: BURST})  # an append is never a conflict
    assert await TaskReport.count().where((TaskReport.task == task["id"]) & (TaskReport.kind == "progress")) == BURST



async def test_minutes_signed_at_once_get_distinct_document_numbers(server: LiveServer) -> None:
    """Two 签发 at the same moment, one on each worker: each minutes gets its own 文号
    (conference.documents.numbers: one UPDATE ... RETURNING on the counter row)."""
    from conference.minutes import workflow as minutes_workflow

    office_actor = await actor("office")
    ids = []
    for _ in range(BURST):
        meeting_id, _items = await _held_meeting_with_items(1)
        minutes_id = await minutes_workflow.start_minutes(office_actor, meeting_id)
        await minutes_workflow.submit_minutes(office_actor, minutes_id, {})
        ids.append(minutes_id)
    convenor = await _client(server, "convenor")
    try:
        token = convenor.cookies.get("csrftoken", "")
        responses = await asyncio.gather(*(convenor.post(f"/minutes/{m}/approve", data={"number": "1", "_csrf_token": token})
                                           for m in ids))
    finally:
        await convenor.aclose()

    assert all(r.status_code == 303 for r in responses), [(r.status_code, r.text[:200]) for r in responses]
    rows = await Minutes.select(Minutes.doc_number, Minutes.status).where(Minutes.id.is_in(ids))
    numbers = [r["doc_number"] for r in rows]
    assert all(r["status"] == "published" for r in rows) and all(numbers), rows
    assert len(set(numbers)) == BURST, numbers
