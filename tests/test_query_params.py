"""Numeric query parameters are read by one bounded parser (conference.web.listing.parse_int):
every GET route, filled with existing demo ids, answers values that are malformed (`²`, which
str.isdigit() accepts and int() refuses; `1e9`), negative or far too large (an SQLite OFFSET
overflow) without a 5xx, for the admin and an office, on pages and in the API."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute

from conference.accounts.services import issue_api_token
from conference.accounts.tables import User
from conference.db import fetch
from conference.web.listing import MAX_PAGE, parse_int
from tests.conftest import make_client

BAD_VALUES = ["²", "-1", "1e9", "99999999999999999"]
# Every numeric (or choice) parameter some route reads from the query string.
PARAMS = ["page", "per_page", "conference", "year", "status", "unit", "street", "meeting", "person", "kind",
          "urgency", "a", "b", "start", "end", "date", "deadline_from", "deadline_to", "group", "alert", "view",
          "desc", "sort", "q", "entity", "action", "event"]
ALWAYS = ["page", "per_page", "conference", "year", "status", "unit", "street", "meeting"]

TABLE_OF_PARAM = {
    "meeting_id": "meeting", "request_id": "special_meeting_request", "invitation_id": "invitation",
    "item_id": "agenda_item", "task_id": "task", "street_id": "street", "conference_id": "conference",
    "unit_id": "member_unit", "person_id": "person", "membership_id": "membership",
    "appointment_id": "convenor_appointment", "notification_id": "notification", "minutes_id": "minutes",
    "user_id": "app_user",
}
RECORD_TABLES = {"/registry/streets/": "street", "/registry/units/": "member_unit", "/registry/convenors/": "person",
                 "/registry/conferences/": "conference", "/accounts/streets/": "street", "/accounts/units/": "member_unit",
                 "/accounts/convenors/": "person"}
DOCUMENTS = (".pdf", ".xlsx", ".csv", ".ics")
SKIPPED = ("/static/", "/schema", "/r/", "/t/", "/password/", "/feeds/", "/minutes/{minutes_id:int}/versions/",
           "/minutes/{minutes_id:int}/publications/")


def test_parse_int_rule():
    assert parse_int("12", 1, 100) == 12
    assert parse_int(" 007 ", 1, 100) == 7
    for bad in [*BAD_VALUES, "", None, "+3", "3.0", "１２", "0", "101", "0x10", "1_000"]:
        assert parse_int(bad, 1, 100) is None, bad
    assert parse_int("99999999999999999", 1, MAX_PAGE) is None


async def _first_id(table: str) -> int:
    rows = await fetch(f"SELECT MIN(id) AS id FROM {table}")  # fixed table names from this file
    return int(rows[0]["id"] or 1)


async def _get_routes(app: Any) -> list[tuple[str, list[str]]]:
    """Every GET path of the app with its path parameters filled with an existing record's id, and
    the query parameters to try one at a time there."""
    paths = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.methods or route.path.startswith(SKIPPED):
            continue
        handler = next(h for h in route.route_handlers if "GET" in h.http_methods)
        declared = [p for p in handler.parsed_fn_signature.parameters if p not in ("request", "data")]
        path = route.path
        for name in re.findall(r"\{(\w+):int\}", path):
            if name == "record_id":
                table = next(t for prefix, t in RECORD_TABLES.items() if path.startswith(prefix))
            elif name == "attachment_id":
                table = "task_attachment" if path.startswith("/task-") else "attachment"
            else:
                table = TABLE_OF_PARAM.get(name, "")
            # a path parameter this test does not know yet still gets checked, with id 1
            path = path.replace(f"{{{name}:int}}", str(await _first_id(table) if table else 1))
        # the one string path parameter a GET page takes: which paper of a meeting
        path = path.replace("{name:str}", "signin.pdf")
        assert "{" not in path, path
        # Alone, each parameter is tried on list routes (a record's own page takes few parameters,
        # all of which the all-at-once request reaches); the API ignores undeclared ones.
        single = set(declared) if route.path.startswith("/api/") else set() if "{" in route.path else {*ALWAYS, *declared}
        paths.append((path, sorted(p for p in single if not p.endswith("_id"))))
    return paths


@pytest.mark.parametrize("username", ["admin", "office"])
async def test_every_get_route_survives_bad_numbers(app, as_user, username):
    """Each value is sent in every parameter at once (a page reads all of its filters before it
    answers), and on list routes on its own in each parameter (so that a parameter read after
    another one was refused is reached too)."""
    browser = await as_user(username)
    row = await User.select(User.id).where(User.username == username).first()
    api = make_client(app)
    api.headers["Authorization"] = f"Bearer {await issue_api_token(None, row['id'])}"
    failures: list[str] = []
    limit = asyncio.Semaphore(8)

    async def probe(client: httpx.AsyncClient, path: str, query: dict[str, str], label: str) -> None:
        async with limit:
            try:
                response = await client.get(path, params=query)
            except Exception as exc:  # noqa: BLE001 - an exception out of the app is a failure to report,
                # and must not end the gather early: the other probes would run on into later tests
                failures.append(f"{exc!r} GET {path}?{label}")
                return
        if response.status_code >= 500:
            failures.append(f"{response.status_code} GET {path}?{label}")

    try:
        probes = []
        for path, declared in await _get_routes(app):
            client = api if path.startswith("/api/") else browser
            # A document (PDF, spreadsheet, calendar) reads the same filters as its page: one request
            # with every parameter set is enough, and each render costs seconds.
            one_by_one = [] if path.endswith(DOCUMENTS) else declared
            for value in BAD_VALUES:
                probes.append(probe(client, path, dict.fromkeys(PARAMS, value), f"*={value}"))
                probes += [probe(client, path, {name: value}, f"{name}={value}") for name in one_by_one]
        await asyncio.gather(*probes)
    finally:
        await api.aclose()
    assert not failures, "\n".join(sorted(failures))


async def test_api_answers_bad_page_with_chinese_400(api_client):
    for value in ["²", "-1", "99999999999999999"]:
        response = await api_client.get("/api/meetings", params={"page": value})
        assert response.status_code == 400, (value, response.text)
        assert response.json()["errors"]["page"].startswith("页码")


async def test_pages_ignore_bad_filters_and_clamp_pages(as_user):
    client = await as_user("office")
    for url in ["/meetings?conference=²", "/meetings?page=²", "/meetings?page=99999999999999999",
                "/items?page=-1", "/tasks?per_page=1e9", "/supervision/ledger?page=99999999999999999"]:
        response = await client.get(url)
        assert response.status_code == 200, (url, response.status_code)


@pytest.fixture
async def api_client(app: Any) -> Any:
    row = await User.select(User.id).where(User.username == "office").first()
    client = make_client(app)
    client.headers["Authorization"] = f"Bearer {await issue_api_token(None, row['id'])}"
    yield client
    await client.aclose()
