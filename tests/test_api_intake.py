"""Intake from the 12345 hotline and the grid platform (issue 15 item 2): the Idempotency-Key (same key
and body: the same item and answer; other body: 409; the same key twice at once: one item), the
external reference stored, shown on the item page and found by the list's search, the machine
account limited to its street and denied everywhere else, and bulk submission with per-record
results."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conference.accounts.services import create_user, issue_api_token
from conference.accounts.tables import User
from conference.agenda.tables import AgendaItem, IntakeRequest
from conference.registry.tables import Conference, Street
from conference.timefmt import now
from tests import test_api
from tests.conftest import html, make_client
from tests.test_api import assert_error

api = test_api.api  # the registry API tests' fixture: clients with a fresh token


def uid() -> str:
    return uuid.uuid4().hex[:10]


def ticket(**fields: Any) -> dict[str, Any]:
    ref = fields.pop("external_ref", f"12345-{uid()}")
    return {"external_ref": ref, "external_source": "12345", "title": "沂蒙路占道经营反复出现",
            "description": "市民反映早市占道经营，影响通行。", "category": "urban_management", "urgency": "urgent", **fields}


@pytest.fixture
async def intake(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh intake account of 兰山街道 with its API token."""
    street = await Street.select(Street.id).where(Street.name == "兰山街道").first()
    user_id = await create_user(None, {"username": f"intake-{uid()}", "display_name": "12345 热线接入", "password": "x" * 12,
                                       "role": "intake", "street": str(street["id"])})
    token = await issue_api_token(None, user_id)
    async with make_client(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


async def post_ticket(client: httpx.AsyncClient, body: dict[str, Any], key: str | None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return await client.post("/api/intake/items", json=body, headers=headers)


async def test_a_ticket_becomes_a_submitted_item_of_the_accounts_street(intake, api):
    body = ticket()
    response = await post_ticket(intake, body, f"k-{uid()}")
    assert response.status_code == 201, response.text
    assert "Idempotent-Replayed" not in response.headers
    item = response.json()
    assert item["status"] == "submitted" and item["external_ref"] == body["external_ref"]
    assert item["external_source"] == "12345"
    street = await Street.select(Street.id).where(Street.name == "兰山街道").first()
    conference = await Conference.select(Conference.id).where(Conference.street == street["id"]).first()
    assert item["street"] == street["id"] and item["conference"] == conference["id"]

    # the office finds it by the ticket number, over the API and on the item page
    office = await api("office")
    found = (await office.get("/api/items", params={"q": body["external_ref"]})).json()
    assert [i["id"] for i in found["items"]] == [item["id"]]
    detail = (await office.get(f"/api/items/{item['id']}")).json()
    assert detail["external_ref"] == body["external_ref"] and detail["external_source"] == "12345"


async def test_the_item_page_shows_the_ticket(intake, as_user):
    body = ticket()
    item = (await post_ticket(intake, body, f"k-{uid()}")).json()
    page = await (await as_user("office")).get(f"/items/{item['id']}")
    assert page.status_code == 200
    assert html(page).select_one("#external-ref").get_text(" ", strip=True) == f"12345 热线 {body['external_ref']}"


async def test_same_key_same_body_answers_the_same_item_again(intake):
    key, body = f"k-{uid()}", ticket()
    first = await post_ticket(intake, body, key)
    again = await post_ticket(intake, dict(reversed(body.items())), key)  # key order does not matter
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await AgendaItem.count().where(AgendaItem.external_ref == body["external_ref"]) == 1


async def test_same_key_other_body_is_a_conflict(intake):
    key, body = f"k-{uid()}", ticket()
    assert (await post_ticket(intake, body, key)).status_code == 201
    response = await post_ticket(intake, {**body, "title": "另一件事"}, key)
    assert "Idempotency-Key" in assert_error(response, 409)["detail"]
    assert await AgendaItem.count().where(AgendaItem.external_ref == body["external_ref"]) == 1


async def test_same_key_twice_at_once_makes_one_item(intake):
    key, body = f"k-{uid()}", ticket()
    responses = await asyncio.gather(*(post_ticket(intake, body, key) for _ in range(4)))
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 3
    assert await AgendaItem.count().where(AgendaItem.external_ref == body["external_ref"]) == 1


async def test_invalid_tickets_are_refused_and_keep_the_key_free(intake):
    key = f"k-{uid()}"
    response = await post_ticket(intake, ticket(external_source="fax", title=""), key)
    errors = assert_error(response, 400)["errors"]
    assert set(errors) >= {"external_source", "title"}
    assert not await IntakeRequest.exists().where(IntakeRequest.idempotency_key == key)
    assert (await post_ticket(intake, ticket(), key)).status_code == 201  # the corrected request may use the key
    assert "Idempotency-Key" in assert_error(await post_ticket(intake, ticket(), None), 400)["errors"]
    assert "Idempotency-Key" in assert_error(await post_ticket(intake, ticket(), "has a space"), 400)["errors"]
    assert "external_ref" in assert_error(await post_ticket(intake, ticket(external_ref=""), f"k-{uid()}"), 400)["errors"]
    for control in ("12345-\x00-7", "12345\n7"):  # NUL made PostgreSQL answer 500
        errors = assert_error(await post_ticket(intake, ticket(external_ref=control), f"k-{uid()}"), 400)["errors"]
        assert errors["external_ref"] == "工单编号含有不允许的字符。"
    assert_error(await intake.post("/api/intake/items", json={**ticket(), "street": 1}, headers={"Idempotency-Key": uid()}), 400)


async def test_bulk_gives_a_result_per_record_and_is_idempotent_per_record(intake):
    good, other = ticket(), ticket(external_source="grid")
    records = [{"idempotency_key": f"b-{uid()}", "ticket": good},
               {"idempotency_key": f"b-{uid()}", "ticket": ticket(title="")},
               {"idempotency_key": None, "ticket": other},
               {"idempotency_key": f"b-{uid()}", "ticket": other}]
    response = await intake.post("/api/intake/items/bulk", json={"records": records})
    assert response.status_code == 200, response.text
    result = response.json()
    assert [r["status"] for r in result["results"]] == [201, 400, 400, 201]
    assert (result["created"], result["replayed"], result["failed"]) == (2, 0, 2)
    assert "title" in result["results"][1]["errors"]
    assert "Idempotency-Key" in result["results"][2]["errors"]
    assert result["results"][3]["item"]["external_source"] == "grid"

    again = (await intake.post("/api/intake/items/bulk", json={"records": records})).json()
    assert [r["status"] for r in again["results"]] == [200, 400, 400, 200]
    assert [r["item"]["id"] for r in again["results"] if r["item"]] == [r["item"]["id"] for r in result["results"] if r["item"]]
    assert await AgendaItem.count().where(AgendaItem.external_ref == good["external_ref"]) == 1

    too_many = [{"idempotency_key": f"m-{i}", "ticket": ticket()} for i in range(101)]
    assert "records" in assert_error(await intake.post("/api/intake/items/bulk", json={"records": too_many}), 400)["errors"]


@pytest.mark.parametrize("username", ["admin", "office", "convenor", "street", "unit"])
async def test_only_intake_accounts_may_push_tickets(api, username):
    client = await api(username)
    assert_error(await post_ticket(client, ticket(), f"k-{uid()}"), 403)
    assert_error(await client.post("/api/intake/items/bulk", json={"records": []}), 403)


@pytest.mark.parametrize("url", ["/api/items", "/api/me", "/api/units", "/api/meetings", "/api/conferences", "/api/search?q=占道"])
async def test_an_intake_account_is_denied_everything_else(intake, url):
    assert_error(await intake.get(url), 403)


async def test_an_intake_account_without_a_street_may_not_push(app):
    # create_user insists on the street; an account whose street was removed since has none
    rows = await User.insert(User(username=f"intake-{uid()}", password_hash="!unset", role="intake", created_at=now())
                             ).returning(User.id)
    user_id = rows[0]["id"]
    async with make_client(app) as client:
        client.headers["Authorization"] = f"Bearer {await issue_api_token(None, user_id)}"
        assert_error(await post_ticket(client, ticket(), f"k-{uid()}"), 403)
