"""Accounts within the office's scope and the unit's calendar feed token over the JSON API (issue 15
item 1), through HTTP with real Bearer tokens per demo role: the office opens an account for a record
its conference registered (set-password link through the outbox, audited), lists and reads only its
own, deactivates and reactivates (the account's token stops working), cannot change role or record;
another conference's office gets 404, other roles 403. The feed token: GET never shows the address,
POST rotates it (the old address answers 404 at once), DELETE revokes it, each audited."""

from __future__ import annotations

from typing import Any

from conference.accounts.services import issue_api_token
from conference.accounts.tables import User
from conference.audit.tables import AuditEvent
from conference.calendar.tables import CalendarFeed
from tests import test_api
from tests.conftest import make_client
from tests.factories import unique
from tests.test_accounts_onboarding import actions_on, new_unit, sent_link
from tests.test_api import assert_error

api = test_api.api  # clients with a fresh API token per demo account


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_office_opens_lists_and_reads_accounts_of_its_records(api: Any) -> None:
    office = await api("office")
    unit_id = await new_unit("office")
    account = ok(await office.post("/api/accounts", json={"kind": "units", "record": unit_id}), 201)
    # The page's suggestions: user name unit<id>, the unit's name and its liaison's address; no password yet.
    assert account["username"] == f"unit{unit_id}" and account["role"] == "unit" and account["kind"] == "units"
    assert account["record"] == unit_id and account["record_name"] and account["email"].endswith("@example.gov.cn")
    assert account["active"] is True and account["password_set"] is False
    assert not {"password", "password_hash", "api_token_hash"} & set(account)
    assert "create" in await actions_on(account["id"])
    assert (await sent_link(account["id"])).startswith("/password/")  # the set-password link went out

    listing = ok(await office.get("/api/accounts", params={"kind": "units", "q": account["username"]}))
    assert listing["total"] == 1 and listing["items"][0]["id"] == account["id"]
    assert set(listing) == {"items", "total", "page", "per_page"}
    assert ok(await office.get(f"/api/accounts/{account['id']}")) == account
    everyone = ok(await office.get("/api/accounts", params={"per_page": 200}))
    assert {a["role"] for a in everyone["items"]} <= {"unit", "street", "convenor"}  # no office or admin accounts
    assert ok(await office.get("/api/accounts", params={"kind": "streets", "q": account["username"]}))["total"] == 0

    # One account per record; the same rules and messages as the page.
    assert_error(await office.post("/api/accounts", json={"kind": "units", "record": unit_id, "username": unique("u")}), 409)
    other = await new_unit("office")
    bad = assert_error(await office.post("/api/accounts", json={"kind": "units", "record": other, "username": "office",
                                                                "email": "not-an-address"}), 400)
    assert set(bad["errors"]) == {"username", "email"}
    assert not await User.exists().where(User.unit == other)
    named = ok(await office.post("/api/accounts", json={"kind": "units", "record": other, "username": unique("u"),
                                                        "display_name": "联络员", "email": "liaison@example.gov.cn"}), 201)
    assert named["display_name"] == "联络员" and named["email"] == "liaison@example.gov.cn"
    for body in ({"kind": "offices", "record": other}, {"kind": "units", "record": 2**40}, {"kind": "units"},
                 {"kind": "units", "record": other, "password": "x" * 12}, [1]):
        assert_error(await office.post("/api/accounts", json=body), 400)
    assert_error(await office.get("/api/accounts", params={"kind": "nobody"}), 400)
    assert_error(await office.post("/api/accounts", json={"kind": "units", "record": 2_000_000_000}), 404)


async def test_an_office_reaches_only_its_own_accounts_and_other_roles_none(api: Any, app: Any) -> None:
    office, other, admin = await api("office"), await api("office_luozhuang"), await api("admin")
    account = ok(await office.post("/api/accounts", json={"kind": "units", "record": await new_unit("office")}), 201)
    theirs = ok(await other.post("/api/accounts", json={"kind": "units", "record": await new_unit("office_luozhuang")}), 201)
    url = f"/api/accounts/{account['id']}"
    # 罗庄街道's office neither sees nor changes 兰山区's accounts, nor opens one for its records.
    assert_error(await other.get(url), 404)
    assert_error(await other.patch(url, json={"active": False}), 404)
    assert_error(await other.post(f"{url}/deactivate"), 404)
    assert_error(await other.post(f"{url}/reset-link"), 404)
    assert_error(await other.post("/api/accounts", json={"kind": "units", "record": account["record"]}), 404)
    assert account["id"] not in [a["id"] for a in ok(await other.get("/api/accounts", params={"per_page": 200}))["items"]]
    assert_error(await office.get(f"/api/accounts/{theirs['id']}"), 404)
    # No office manages the offices' accounts; the admin sees them all.
    luozhuang = await User.select(User.id).where(User.username == "office_luozhuang").first()
    assert_error(await office.get(f"/api/accounts/{luozhuang['id']}"), 404)
    assert_error(await office.patch(f"/api/accounts/{luozhuang['id']}", json={"active": False}), 404)
    assert ok(await admin.get(f"/api/accounts/{luozhuang['id']}"))["role"] == "office"
    assert ok(await admin.get(url))["id"] == account["id"]
    assert (await User.select(User.active).where(User.id == account["id"]).first())["active"] is True
    for role in ("unit", "street", "convenor"):
        client = await api(role)
        for response in (await client.get("/api/accounts"), await client.get(url),
                         await client.post("/api/accounts", json={"kind": "units", "record": account["record"]}),
                         await client.patch(url, json={"active": False}), await client.post(f"{url}/deactivate")):
            assert_error(response, 403)
    async with make_client(app) as anonymous:
        assert_error(await anonymous.get("/api/accounts"), 401)


async def test_deactivate_ends_the_token_and_role_and_record_stay(api: Any, app: Any) -> None:
    office = await api("office")
    account = ok(await office.post("/api/accounts", json={"kind": "units", "record": await new_unit("office")}), 201)
    url = f"/api/accounts/{account['id']}"
    holder = make_client(app)
    holder.headers["Authorization"] = f"Bearer {await issue_api_token(None, account['id'])}"
    try:
        assert (await holder.get("/api/me")).status_code == 200
        for body in ({"role": "street"}, {"unit": account["record"] + 1}, {"conference": 1}):
            field = next(iter(body))
            assert "不能修改" in assert_error(await office.patch(url, json=body), 400)["errors"][field]
        assert ok(await office.patch(url, json={"role": "unit", "unit": account["record"]}))["active"] is True  # unchanged values
        assert_error(await office.patch(url, json={"active": "no"}), 400)
        assert ok(await office.patch(url, json={"active": False}))["active"] is False
        assert (await holder.get("/api/me")).status_code == 401  # its token ended with the deactivation
        assert_error(await office.post(f"{url}/reset-link"), 409)  # a deactivated account gets no link
        assert ok(await office.patch(url, json={"active": True}))["active"] is True
        sent = ok(await office.post(f"{url}/reset-link"))
        assert sent["sent"] is True and sent["account"]["id"] == account["id"]
        assert ok(await office.post(f"{url}/deactivate"))["active"] is False
        assert await actions_on(account["id"]) == ["create", "issue_token", "deactivate", "activate", "send_reset_link",
                                                 "deactivate"]
        assert (await User.select(User.role, User.unit).where(User.id == account["id"]).first()) == {
            "role": "unit", "unit": account["record"]}
    finally:
        await holder.aclose()


# ---------------------------------------------------------------- the feed token


async def feed_actions(unit: str) -> list[str]:
    user = await User.select(User.unit).where(User.username == unit).first()
    feeds = await CalendarFeed.select(CalendarFeed.id).where(CalendarFeed.unit == user["unit"])
    rows = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "calendar_feed") & AuditEvent.entity_id.is_in([f["id"] for f in feeds] or [0])).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


async def test_feed_token_is_shown_once_rotated_and_revoked(api: Any, app: Any) -> None:
    unit = await api("unit_police")
    feed = make_client(app)  # a calendar program: no token
    try:
        before = await feed_actions("unit_police")
        first = ok(await unit.post("/api/calendar/feed"), 201)
        assert first["active"] is True and first["urls"]["https"].endswith(".ics")
        assert first["urls"]["webcal"].startswith("webcal://")
        old = first["urls"]["https"].rsplit("/", 1)[1]
        assert (await feed.get(f"/feeds/{old}")).status_code == 200
        state = await unit.get("/api/calendar/feed")
        assert state.headers["cache-control"] == "private, no-store"
        shown = ok(state)
        assert shown["active"] is True and shown["urls"] is None and old.removesuffix(".ics") not in state.text
        assert "****" in shown["masked_url"]

        second = ok(await unit.post("/api/calendar/feed"), 201)
        new = second["urls"]["https"].rsplit("/", 1)[1]
        assert new != old and "原地址已停用" in second["message"]
        assert (await feed.get(f"/feeds/{old}")).status_code == 404  # the old address stops at once
        assert (await feed.get(f"/feeds/{new}")).status_code == 200

        assert ok(await unit.delete("/api/calendar/feed"))["revoked"] == 1
        assert (await feed.get(f"/feeds/{new}")).status_code == 404
        assert ok(await unit.get("/api/calendar/feed")) == {"active": False, "created_at": None, "masked_url": None,
                                                            "urls": None, "message": "本单位尚未生成订阅地址，或原地址已停用。"}
        assert ok(await unit.delete("/api/calendar/feed"))["revoked"] == 0
        assert (await feed_actions("unit_police"))[len(before):] == ["issue_feed", "issue_feed", "revoke_feed"]
    finally:
        await feed.aclose()
    for role in ("office", "street", "convenor", "admin"):
        client = await api(role)
        for response in (await client.get("/api/calendar/feed"), await client.post("/api/calendar/feed"),
                         await client.delete("/api/calendar/feed")):
            assert_error(response, 403)
