"""One visibility rule per entity (issue 14 item 3): for every demo account, the ids a list shows
(every page, no filter) are exactly the ids whose detail answers 200 among all ids in the database;
every other id answers 404 (out of scope, like a missing id) or 403 (a role that never reads that
kind of record). Meetings, special-meeting requests, agenda items, tasks, resolutions and minutes;
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
import pytest

from conference.agenda import services as agenda
from conference.agenda.tables import AgendaItem
from conference.demo.accounts import DEMO_ACCOUNTS
from conference.meetings.tables import Meeting, SpecialMeetingRequest
from conference.minutes.tables import Minutes
from conference.tasks.tables import Resolution, Task
from conference.web.listing import MAX_PER_PAGE
from tests import test_api
from tests.factories import actor, make_meeting, unique
from tests.test_tasks import MARKET, held_meeting, new_task

api = test_api.api  # clients with a fresh API token per demo account

ACCOUNTS = [username for username, _name, _role, _link in DEMO_ACCOUNTS]
REFUSED = (403, 404)  # out of scope (404, as a missing id) or a role that never reads the kind (403)


async def all_ids(table: Any) -> list[int]:
    return [int(r["id"]) for r in await table.select(table.id).order_by(table.id)]


async def listed(client: httpx.AsyncClient, path: str) -> set[int] | None:
    """The ids of every page of an API list; None when the role may not call it (403)."""
    ids: set[int] = set()
    page = 1
    while True:
        response = await client.get(path, params={"page": page, "per_page": MAX_PER_PAGE})
        if response.status_code == 403:
            return None
        assert response.status_code == 200, (path, response.text[:500])
        body = response.json()
        ids |= {int(row["id"]) for row in body["items"]}
        if page * MAX_PER_PAGE >= body["total"]:
            assert len(ids) == body["total"], (path, len(ids), body["total"])  # no row on two pages
            return ids
        page += 1


async def answers(paths: Iterable[tuple[int, str]], get: Callable[[str], Awaitable[httpx.Response]]) -> dict[int, httpx.Response]:
    """The response to each (id, path), ten requests at a time."""
    pending = list(paths)
    result: dict[int, httpx.Response] = {}
    for start in range(0, len(pending), 10):
        chunk = pending[start:start + 10]
        for (record_id, _path), response in zip(chunk, await asyncio.gather(*(get(p) for _i, p in chunk)), strict=True):
            result[record_id] = response
        # (a chunk at a time keeps SQLite's single reader connection and the pool from queueing up)
    return result


async def accepted(client: httpx.AsyncClient, path: str, ids: list[int]) -> set[int]:
    """The ids among `ids` whose detail (`path` with {id}) answers 200; every other answers 403/404."""
    found = await answers(((i, path.format(id=i)) for i in ids), client.get)
    for record_id, response in found.items():
        assert response.status_code == 200 or response.status_code in REFUSED, (path, record_id, response.text[:300])
    return {i for i, r in found.items() if r.status_code == 200}


async def test_meetings_listed_are_the_meetings_opened(api):
    # A draft the units are invited to but not yet told of: the office sees it, no unit does.
    draft = await make_meeting("office")
    ids = await all_ids(Meeting)
    for username in ACCOUNTS:
        client = await api(username)
        shown = await listed(client, "/api/meetings")
        assert shown is not None, username
        assert shown == await accepted(client, "/api/meetings/{id}", ids), username
        if username in ("admin", "office", "unit", "unit_police"):
            assert (draft in shown) == (username in ("admin", "office")), username


async def test_special_requests_listed_are_the_requests_opened(api):
    ids = await all_ids(SpecialMeetingRequest)
    for username in ACCOUNTS:
        client = await api(username)
        shown = await listed(client, "/api/special-requests")
        opened = await accepted(client, "/api/special-requests/{id}", ids)
        assert (shown or set()) == opened, username
        if shown is None:  # units are not party to requests: the list and every request refuse them
            assert opened == set(), username


async def test_items_listed_are_the_items_opened(api):
    # The street's own draft: its street sees it, no office does.
    draft = await agenda.create_item(await actor("street"), {
        "title": unique("议题"), "description": "背街小巷路灯损坏，夜间出行不便，需要协调维修。", "category": "urban_management",
        "urgency": "normal"}, [], submit=False)
    ids = await all_ids(AgendaItem)
    for username in ACCOUNTS:
        client = await api(username)
        shown = await listed(client, "/api/items")
        opened = await accepted(client, "/api/items/{id}", ids)
        assert (shown or set()) == opened, username
        if shown is None:  # units deal with tasks, not items: the list and every item refuse them
            assert opened == set(), username
        assert (draft in opened) == (username == "street"), username


async def test_tasks_listed_are_the_tasks_opened(api):
    market_task = (await new_task(MARKET))[MARKET]
    ids = await all_ids(Task)
    for username in ACCOUNTS:
        client = await api(username)
        shown = await listed(client, "/api/tasks")
        assert shown is not None, username
        assert shown == await accepted(client, "/api/tasks/{id}", ids), username
        if username != "convenor":
            assert (market_task in shown) == (username in ("admin", "office", "street", "unit")), username


async def test_resolutions_listed_are_the_resolutions_opened(api):
    """The resolutions the meeting pages list (GET /api/meetings/{id}/resolutions, for every meeting
    the account lists) and, for a unit, those of the tasks its task list shows, are those
    GET /api/resolutions/{id} answers."""
    meeting_id, item_id = await held_meeting()
    await new_task(MARKET, meeting=(meeting_id, item_id))  # the meeting's other units hold no task of it
    ids = await all_ids(Resolution)
    resolution_of = {int(r["id"]): int(r["resolution"]) for r in await Task.select(Task.id, Task.resolution)}
    for username in ACCOUNTS:
        client = await api(username)
        meetings = await listed(client, "/api/meetings")
        assert meetings is not None, username
        pages = await answers(((m, f"/api/meetings/{m}/resolutions") for m in sorted(meetings)), client.get)
        on_pages: set[int] = set()
        for response in pages.values():
            assert response.status_code == 200, response.text[:300]
            on_pages |= {int(r["id"]) for r in response.json()["items"]}
        shown = set(on_pages)
        if username.startswith("unit"):  # a unit's task list names the resolution of each task
            shown |= {resolution_of[t] for t in await listed(client, "/api/tasks") or set()}
        opened = await accepted(client, "/api/resolutions/{id}", ids)
        assert shown == opened and on_pages <= opened, username


async def test_minutes_listed_are_the_minutes_opened(api, as_user):
    """The minutes of the meetings an account lists (for streets and units those published) are the
    minutes GET /api/minutes/{meeting} answers for, and the published ones among them are the copies
    /minutes/{id}/published.pdf serves."""
    rows = await Minutes.select(Minutes.id, Minutes.meeting, Minutes.published_version)
    if not rows:
        pytest.skip("no minutes in the demo data")
    of_meeting = {int(r["meeting"]): int(r["id"]) for r in rows}
    published = {int(r["id"]) for r in rows if r["published_version"] is not None}
    for username in ACCOUNTS:
        client = await api(username)
        meetings = await listed(client, "/api/meetings")
        assert meetings is not None, username
        shown = {of_meeting[m] for m in meetings if m in of_meeting}
        readable = shown if username in ("admin", "office", "office_luozhuang", "convenor") else shown & published

        found = await answers(((m, f"/api/minutes/{m}") for m in sorted(of_meeting)), client.get)
        opened: set[int] = set()
        for meeting_id, response in found.items():
            assert response.status_code == 200 or response.status_code in REFUSED, (username, meeting_id)
            if response.status_code == 200:
                assert response.json()["minutes_id"] == of_meeting[meeting_id]
                opened.add(of_meeting[meeting_id])
        assert opened == readable, username

        browser = await as_user(username)
        copies = await answers(((i, f"/minutes/{i}/published.pdf") for i in sorted(of_meeting.values())), browser.get)
        for minutes_id, response in copies.items():
            assert response.status_code == 200 or response.status_code in REFUSED, (username, minutes_id)
        assert {i for i, r in copies.items() if r.status_code == 200} == shown & published, username
