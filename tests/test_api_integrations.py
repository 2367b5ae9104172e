"""Webhook endpoints and group robots over the JSON API (issue 15 items 3, 4), through HTTP with real
Bearer tokens per demo role: the page's validation (SSRF guard: https:// to public addresses only,
no private, loopback or link-local address, a well-formed URL; at least one known event; DingTalk's
SEC secret), secrets write-only (a webhook's signing secret in the creating answer only, robot keys
in the URL masked), optimistic locking, audit rows, the office scope (another conference's office
gets 404, other roles 403), and a target's deliveries with redelivery of a dead one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conference.audit.tables import AuditEvent
from conference.integrations.tables import IntegrationDelivery, IntegrationTarget
from conference.meetings.lifecycle import cancel_meeting
from tests import test_api
from tests.conftest import make_client
from tests.factories import LANSHAN_STREET, LUOZHUANG_STREET, actor, conference_id, make_meeting
from tests.test_api import assert_error

api = test_api.api  # clients with a fresh API token per demo account

# A public address given as a literal: checked without DNS. Nothing is posted to it: the tests never
# run the sender, and every target they make is deleted at the end (or later tests' sends would reach it).
PUBLIC = "https://1.1.1.1"
ROBOT_KEY = "9f3a7c1e5b2d4a6f8e0c"
DING_SECRET = "SECabcdef0123456789"


@pytest.fixture
async def made(database_url: str) -> AsyncIterator[list[int]]:
    """Ids of the targets a test made; deleted afterwards with their deliveries."""
    ids: list[int] = []
    yield ids
    await IntegrationTarget.delete().where(IntegrationTarget.id.is_in(ids or [0]))


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def create(client: Any, made: list[int], **fields: Any) -> dict[str, Any]:
    body = {"kind": "webhook", "name": "区网格化平台", "conference": await conference_id(LANSHAN_STREET),
            "url": f"{PUBLIC}/hooks/lxhy", "events": ["meeting.cancelled", "task.urged"], **fields}
    created = ok(await client.post("/api/integrations/targets", json=body), 201)
    made.append(created["target"]["id"])
    return created


async def audit_of(target_id: int) -> list[dict[str, Any]]:
    return await AuditEvent.select(AuditEvent.action, AuditEvent.after).where(
        (AuditEvent.entity == "integration_target") & (AuditEvent.entity_id == target_id)).order_by(AuditEvent.id)


async def test_webhook_secret_is_shown_once_and_changes_are_audited(api: Any, made: list[int]) -> None:
    office = await api("office")
    created = await create(office, made)
    target, secret = created["target"], created["secret"]
    assert secret.startswith("whsec_") and target["has_secret"] is True and "secret" not in target
    assert target["kind"] == "webhook" and sorted(target["events"]) == ["meeting.cancelled", "task.urged"]
    assert target["url"] == f"{PUBLIC}/hooks/lxhy" and target["active"] is True and target["version"] == 1
    url = f"/api/integrations/targets/{target['id']}"
    read = await office.get(url)
    assert ok(read) == target and secret not in read.text
    listing = await office.get("/api/integrations/targets", params={"kind": "webhook", "q": "网格化"})
    assert target["id"] in [t["id"] for t in ok(listing)["items"]] and secret not in listing.text
    # Defaults as the page's form: a webhook gets every event.
    every = (await create(office, made, name="全部事件", events=None))["target"]
    assert len(every["events"]) == 9

    changed = ok(await office.patch(url, json={"version": 1, "name": "网格化平台（新）", "events": ["minutes.published"]}))
    assert changed["name"] == "网格化平台（新）" and changed["events"] == ["minutes.published"] and changed["version"] == 2
    assert changed["url"] == target["url"]  # left out: kept
    assert_error(await office.patch(url, json={"version": 1, "name": "过期的版本"}), 409)
    assert_error(await office.patch(url, json={"version": 1, "active": False}), 409)
    assert ok(await office.patch(url, json={"version": 2, "active": False}))["active"] is False
    fresh = ok(await office.post(f"{url}/secret"))
    assert fresh["secret"].startswith("whsec_") and fresh["secret"] != secret
    stored = await IntegrationTarget.select(IntegrationTarget.secret).where(IntegrationTarget.id == target["id"]).first()
    assert stored["secret"] == fresh["secret"]
    assert_error(await office.patch(url, json={"version": 4, "secret": "SECx"}), 400)  # a webhook's secret is generated

    rows = await audit_of(target["id"])
    assert [r["action"] for r in rows] == ["create", "update", "disable", "new_secret"]
    assert secret not in json.dumps([r["after"] for r in rows], default=str)
    assert fresh["secret"] not in json.dumps([r["after"] for r in rows], default=str)


async def test_robot_keys_are_masked_and_kept_when_the_masked_url_comes_back(api: Any, made: list[int]) -> None:
    office = await api("office")
    robot_url = f"{PUBLIC}/robot/send?access_token={ROBOT_KEY}"
    created = await create(office, made, kind="dingtalk", name="兰山街道议事群", url=robot_url, secret=DING_SECRET,
                           events=None)
    target = created["target"]
    assert created["secret"] is None and target["has_secret"] is True
    assert target["url"] == f"{PUBLIC}/robot/send?access_token=9f3a****"
    assert "task.urged" in target["events"] and "item.status_changed" not in target["events"]  # a group's notices
    url = f"/api/integrations/targets/{target['id']}"
    for response in (await office.get(url), await office.get("/api/integrations/targets", params={"per_page": 200})):
        assert ROBOT_KEY not in response.text and DING_SECRET not in response.text
    # The URL as read (masked) sent back is no change; the real key stays.
    ok(await office.patch(url, json={"version": 1, "url": target["url"], "name": "议事群"}))
    row = await IntegrationTarget.select().where(IntegrationTarget.id == target["id"]).first()
    assert row["url"] == robot_url and row["secret"] == DING_SECRET and row["name"] == "议事群"
    bad = assert_error(await office.patch(url, json={"version": 2, "secret": "abc"}), 400)
    assert "SEC" in bad["errors"]["secret"]
    ok(await office.patch(url, json={"version": 2, "secret": "SECnew0123"}))
    assert (await IntegrationTarget.select(IntegrationTarget.secret).where(
        IntegrationTarget.id == target["id"]).first())["secret"] == "SECnew0123"
    assert_error(await office.post(f"{url}/secret"), 409)  # robots have no signing secret to generate
    assert not any(DING_SECRET in json.dumps(r["after"], default=str) for r in await audit_of(target["id"]))


async def test_unsafe_and_invalid_input_is_a_400_with_chinese_messages(api: Any, made: list[int]) -> None:
    office = await api("office")
    base = {"kind": "webhook", "name": "测试", "conference": await conference_id(LANSHAN_STREET), "events": ["task.urged"]}
    cases = {
        "http://1.1.1.1/hook": "https://",
        "https://10.1.2.3/hook": "内部网络",
        "https://192.168.1.1/hook": "内部网络",
        "https://127.0.0.1/hook": "内部网络",
        "https://169.254.169.254/latest": "内部网络",
        "https://[::1": "https://",
        "ftp://1.1.1.1/x": "https://",
        "https://user:pw@1.1.1.1/x": "用户名或密码",
        "not a url": "https://",
    }
    for url, words in cases.items():
        body = assert_error(await office.post("/api/integrations/targets", json={**base, "url": url}), 400)
        assert words in body["errors"]["url"], (url, body)
    assert "事件" in assert_error(await office.post("/api/integrations/targets", json={**base, "url": f"{PUBLIC}/h", "events": []}),
                                400)["errors"]["events"]
    assert "推送事件" in assert_error(await office.post("/api/integrations/targets", json={
        **base, "url": f"{PUBLIC}/h", "events": ["task.deleted"]}), 400)["errors"]["events"]
    missing = assert_error(await office.post("/api/integrations/targets", json={"kind": "webhook"}), 400)["errors"]
    assert {"name", "conference", "url"} <= set(missing)
    for body in ({**base, "kind": "slack", "url": f"{PUBLIC}/h"}, {**base, "url": f"{PUBLIC}/h", "conference": "一"},
                 {**base, "url": f"{PUBLIC}/h", "secret": "whsec_mine"}, {**base, "url": f"{PUBLIC}/h", "extra": 1}, []):
        assert_error(await office.post("/api/integrations/targets", json=body), 400)
    # Another conference's id is not one of the office's.
    other = await conference_id(LUOZHUANG_STREET)
    assert "conference" in assert_error(await office.post("/api/integrations/targets", json={
        **base, "url": f"{PUBLIC}/h", "conference": other}), 400)["errors"]
    target = (await create(office, made))["target"]
    url = f"/api/integrations/targets/{target['id']}"
    assert "内部网络" in assert_error(await office.patch(url, json={"version": 1, "url": "https://10.0.0.1/"}), 400)["errors"]["url"]
    for body in ({"name": "无版本"}, {"version": 0}, {"version": 1, "events": "task.urged"}, {"version": 1, "active": "off"}):
        assert_error(await office.patch(url, json=body), 400)
    assert (await IntegrationTarget.select(IntegrationTarget.version).where(IntegrationTarget.id == target["id"]).first())["version"] == 1
    assert not await IntegrationTarget.exists().where(IntegrationTarget.name == "测试")


async def test_office_scope_and_roles(api: Any, app: Any, made: list[int]) -> None:
    office, other = await api("office"), await api("office_luozhuang")
    target = (await create(office, made))["target"]
    theirs = (await create(other, made, name="罗庄平台", conference=await conference_id(LUOZHUANG_STREET)))["target"]
    url = f"/api/integrations/targets/{target['id']}"
    assert_error(await other.get(url), 404)
    assert_error(await other.patch(url, json={"version": 1, "name": "改"}), 404)
    assert_error(await other.post(f"{url}/secret"), 404)
    assert_error(await other.get(f"{url}/deliveries"), 404)
    assert target["id"] not in [t["id"] for t in ok(await other.get("/api/integrations/targets", params={"per_page": 200}))["items"]]
    assert theirs["id"] not in [t["id"] for t in ok(await office.get("/api/integrations/targets", params={"per_page": 200}))["items"]]
    assert ok(await (await api("admin")).get(url))["id"] == target["id"]
    for role in ("unit", "street", "convenor"):
        client = await api(role)
        for response in (await client.get("/api/integrations/targets"), await client.get(url),
                         await client.post("/api/integrations/targets", json={"kind": "webhook"}),
                         await client.patch(url, json={"version": 1, "active": False}), await client.get(f"{url}/deliveries")):
            assert_error(response, 403)
    async with make_client(app) as anonymous:
        assert_error(await anonymous.get("/api/integrations/targets"), 401)
    assert (await IntegrationTarget.select(IntegrationTarget.active).where(IntegrationTarget.id == target["id"]).first())["active"]


async def test_deliveries_of_a_target_and_redelivery(api: Any, made: list[int]) -> None:
    office, other = await api("office"), await api("office_luozhuang")
    target = (await create(office, made, events=["meeting.cancelled"]))["target"]
    meeting_id = await make_meeting()
    await cancel_meeting(await actor("office"), meeting_id, {"reason": "场地冲突"})  # the event, through the outbox
    url = f"/api/integrations/targets/{target['id']}/deliveries"
    page = ok(await office.get(url))
    assert page["total"] == 1 and page["items"][0]["status"] == "queued" and page["items"][0]["event_type"] == "meeting.cancelled"
    delivery = page["items"][0]
    assert ok(await office.get(f"/api/integrations/targets/{target['id']}"))["pending"] == 1
    # The retry period ran out (as the sender leaves it after its last attempt).
    await IntegrationDelivery.update({IntegrationDelivery.status: "dead", IntegrationDelivery.attempts: 9,
                                      IntegrationDelivery.last_error: "HTTP 503", IntegrationDelivery.response_status: 503,
                                      IntegrationDelivery.next_attempt_at: None}).where(IntegrationDelivery.id == delivery["id"])
    dead = ok(await office.get(url, params={"status": "dead"}))["items"]
    assert [(d["id"], d["attempts"], d["last_error"], d["response_status"]) for d in dead] == [(delivery["id"], 9, "HTTP 503", 503)]
    assert ok(await office.get(url, params={"status": "queued"}))["total"] == 0
    assert ok(await office.get(url, params={"q": "503"}))["total"] == 1
    assert_error(await office.get(url, params={"status": "lost"}), 400)
    assert_error(await other.post(f"/api/integrations/deliveries/{delivery['id']}/redeliver"), 404)
    again = ok(await office.post(f"/api/integrations/deliveries/{delivery['id']}/redeliver"))
    assert again["status"] == "queued" and again["id"] == delivery["id"]
    assert_error(await office.post(f"/api/integrations/deliveries/{delivery['id']}/redeliver"), 409)
    rows = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "integration_delivery") & (AuditEvent.entity_id == delivery["id"]))
    assert [r["action"] for r in rows] == ["redeliver"]
