"""The tasks JSON API (issue 15 item 1): the list with the page's filters and scope, one task with its
record, and every action end to end over the API (acknowledge, progress with files as multipart,
extension request and decision, done, return, close, rating, reopen, 催办 one and many, cancel), each
through the services (audited), and the permission matrix per role including the intake account."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conference.accounts.services import create_user, issue_api_token
from conference.audit.tables import AuditEvent
from conference.registry.tables import Street
from conference.timefmt import today
from tests import test_api
from tests.conftest import make_client
from tests.test_api import assert_error
from tests.test_tasks import MARKET, PDF, PNG, new_task

api = test_api.api  # the registry API tests' fixture: clients with a fresh token


@pytest.fixture
async def intake(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    street = await Street.select(Street.id).where(Street.name == "兰山街道").first()
    user_id = await create_user(None, {"username": f"intake-{uuid.uuid4().hex[:10]}", "password": "x" * 12,
                                       "role": "intake", "street": str(street["id"])})
    async with make_client(app) as client:
        client.headers["Authorization"] = f"Bearer {await issue_api_token(None, user_id)}"
        yield client


async def audited(task_id: int) -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "task") & (AuditEvent.entity_id == task_id)).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


def multipart(**fields: str) -> list[tuple[str, tuple[None, str]]]:
    """Form fields sent as multipart/form-data (what the report endpoints take), with no file."""
    return [(name, (None, value)) for name, value in fields.items()]


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_task_action_over_the_api(api):
    task_id = (await new_task(MARKET))[MARKET]
    unit, office, street = await api("unit"), await api("office"), await api("street")
    url = f"/api/tasks/{task_id}"

    task = ok(await unit.get(url))
    assert task["status"] == "assigned" and task["actions"]["acknowledge"] and not task["actions"]["close"]
    assert ok(await unit.post(f"{url}/acknowledge"))["status"] == "acknowledged"

    files = [("files", ("现场照片.png", PNG, "image/png")), ("files", ("整改方案.pdf", PDF, "application/pdf"))]
    task = ok(await unit.post(f"{url}/progress", data={"text": "已约谈商户，限期整改。"}, files=files))
    assert task["status"] == "in_progress"
    progress = [r for r in task["reports"] if r["kind"] == "progress"][-1]
    assert sorted(f["filename"] for f in progress["files"]) == ["整改方案.pdf", "现场照片.png"]
    assert "text" in assert_error(await unit.post(f"{url}/progress", files=multipart(text="")), 400)["errors"]
    bad = [("files", ("x.exe", b"MZ\x90\x00", "application/octet-stream"))]
    assert_error(await unit.post(f"{url}/progress", data={"text": "附件不对"}, files=bad), 400)

    later = (today() + dt.timedelta(days=60)).isoformat()
    task = ok(await unit.post(f"{url}/extension", json={"extension_deadline": later, "extension_reason": "需协调上级部门审批"}))
    assert task["extension_status"] == "requested"
    assert "comment" in assert_error(await office.post(f"{url}/extension/decision", json={"approve": False}), 400)["errors"]
    task = ok(await office.post(f"{url}/extension/decision", json={"approve": True}))
    assert task["extension_status"] == "approved" and task["deadline"] == later

    urged = ok(await office.post(f"{url}/urge", json={"message": "请于本周五前报送办结情况。"}))
    assert any(r["kind"] == "urge" for r in urged["reports"])
    assert ok(await office.post("/api/tasks/urge", json={"tasks": [task_id], "message": "再次催办"})) == {"urged": 1, "skipped": 0}

    assert ok(await unit.post(f"{url}/done", files=multipart(evidence="已全部整改到位。")))["status"] == "reported_done"
    assert ok(await office.post(f"{url}/return", json={"reason": "佐证不足"}))["status"] == "returned"
    assert ok(await unit.post(f"{url}/done", data={"evidence": "补充了整改前后照片。"},
                              files=[("files", ("after.png", PNG, "image/png"))]))["status"] == "reported_done"
    assert ok(await office.post(f"{url}/close", json={"comment": "核实无误"}))["status"] == "closed"
    assert "rating_comment" in assert_error(await street.post(f"{url}/rating", json={"rating": "dissatisfied"}), 400)["errors"]
    assert ok(await street.post(f"{url}/rating", json={"rating": "dissatisfied", "rating_comment": "仍有占道"}))["rating"] == "dissatisfied"
    task = ok(await office.post(f"{url}/reopen", json={"reason": "请彻底整治", "deadline": later}))
    assert task["status"] == "in_progress" and task["reopened"] == 1
    assert ok(await office.post(f"{url}/cancel", json={"reason": "已由其他任务覆盖"}))["status"] == "cancelled"
    assert_error(await office.post(f"{url}/close", json={}), 409)

    actions = await audited(task_id)
    assert len(actions) >= 12, actions


async def test_task_list_has_the_pages_filters_and_scope(api):
    task_id = (await new_task(MARKET))[MARKET]
    for username, sees in (("office", True), ("unit", True), ("street", True), ("convenor", True),
                           ("unit_police", False), ("street_luozhuang", False), ("office_luozhuang", False)):
        client = await api(username)
        listing = ok(await client.get("/api/tasks", params={"status": "assigned", "per_page": 200, "sort": "assigned_at",
                                                            "desc": "true"}))
        assert (task_id in [t["id"] for t in listing["items"]]) is sees, username
        assert set(listing) == {"items", "total", "page", "per_page"}
        response = await client.get(f"/api/tasks/{task_id}")
        assert response.status_code == (200 if sees else 404), (username, response.text)
    office = await api("office")
    closed = ok(await office.get("/api/tasks", params={"status": "closed", "per_page": 200}))
    assert all(t["status"] == "closed" for t in closed["items"])
    assert_error(await office.get("/api/tasks", params={"status": "nonsense"}), 400)
    assert_error(await office.get("/api/tasks", params={"deadline_from": "2026-13-40"}), 400)
    assert (await office.get("/api/tasks/0")).status_code in (400, 404)


@pytest.mark.parametrize(("username", "action", "body"), [
    ("office", "acknowledge", None), ("street", "acknowledge", None), ("convenor", "acknowledge", None),
    ("unit", "close", {}), ("street", "close", {}), ("convenor", "urge", {"message": "x"}),
    ("unit", "urge", {"message": "x"}), ("unit", "rating", {"rating": "satisfied"}),
    ("office", "rating", {"rating": "satisfied"}), ("unit", "extension/decision", {"approve": True}),
])
async def test_roles_that_may_not_take_an_action_are_refused(api, username, action, body):
    task_id = (await new_task(MARKET))[MARKET]
    client = await api(username)
    response = await client.post(f"/api/tasks/{task_id}/{action}", json=body) if body is not None else \
        await client.post(f"/api/tasks/{task_id}/{action}")
    assert_error(response, 403)


async def test_another_unit_cannot_act_on_a_task(api):
    task_id = (await new_task(MARKET))[MARKET]
    assert_error(await (await api("unit_police")).post(f"/api/tasks/{task_id}/acknowledge"), 404)


@pytest.mark.parametrize("url", ["/api/tasks", "/api/tasks/1"])
async def test_intake_accounts_see_no_tasks(intake, url):
    assert_error(await intake.get(url), 403)
    assert_error(await intake.post("/api/tasks/1/acknowledge"), 403)


async def test_the_audit_trail_reads_as_on_the_page(api, intake):
    task_id = (await new_task(MARKET))[MARKET]
    await (await api("unit")).post(f"/api/tasks/{task_id}/acknowledge")
    office = await api("office")
    listing = ok(await office.get("/api/audit", params={"entity": "task", "per_page": 50}))
    mine = [e for e in listing["items"] if e["entity_id"] == task_id]
    assert mine and all(e["entity"] == "task" for e in listing["items"])
    assert mine[0]["record"] == "督办任务" and mine[0]["url"] == f"/tasks/{task_id}"
    assert_error(await office.get("/api/audit", params={"start": "2026-02-30"}), 400)
    luozhuang = ok(await (await api("office_luozhuang")).get("/api/audit", params={"entity": "task", "per_page": 200}))
    assert task_id not in [e["entity_id"] for e in luozhuang["items"]]
    for username in ("convenor", "street", "unit"):
        assert_error(await (await api(username)).get("/api/audit"), 403)
    assert_error(await intake.get("/api/audit"), 403)
