"""Webhooks and WeCom / DingTalk group robots (issue 15 items 3, 4), against a real HTTP server on
loopback: signatures, payload shapes, DingTalk's timestamp + sign, retries, dead letters, one
delivery per event even with two senders at once, and each office sees only its own targets."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conference import db
from conference.integrations import sender
from conference.integrations.tables import IntegrationDelivery, IntegrationTarget
from conference.integrations.urls import UnsafeUrl, check_url, pinned
from conference.registry.tables import Membership, MemberUnit
from conference.settings import get_settings, reset_settings
from conference.tasks.tables import Task
from conference.tasks.urging import URGEABLE, urge_task
from conference.timefmt import now
from tests.conftest import html, post_form
from tests.factories import LANSHAN_STREET, actor, conference_id, make_meeting


class Receiver:
    """A loopback HTTP server that records each POST and answers with the next queued status."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib calls it by this name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                answer = b'{"errcode":0,"errmsg":"ok"}' if status == 200 else b'{"errcode":500,"errmsg":"busy"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture(autouse=True)
async def loopback_allowed(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setenv("WEBHOOK_ALLOW_HTTP_LOOPBACK", "1")
    monkeypatch.setenv("WEBHOOK_RETRY_SECONDS", "30")
    reset_settings()
    yield
    # Targets left behind would collect deliveries from every later test of the session.
    await IntegrationTarget.delete(force=True)
    monkeypatch.delenv("WEBHOOK_ALLOW_HTTP_LOOPBACK")
    reset_settings()


async def _create(client: Any, **fields: Any) -> Any:
    data = {"name": "测试接收", "kind": "webhook", "conference": str(await conference_id(LANSHAN_STREET)),
            "events": ["meeting.cancelled", "task.urged", "item.status_changed"], **fields}
    return await post_form(client, "/integrations/new", data)


async def _webhook(as_user: Any, receiver: Receiver) -> tuple[int, str]:
    office = await as_user("office")
    response = await _create(office, url=receiver.url + "/hook")
    assert response.status_code == 200, response.text
    secret = html(response).select_one("#webhook-secret").get_text(strip=True)
    row = await IntegrationTarget.select(IntegrationTarget.id).where(IntegrationTarget.url == receiver.url + "/hook").first()
    return int(row["id"]), secret


async def _cancel_a_meeting(*, uninvited: bool = False) -> int:
    from conference.meetings.lifecycle import cancel_meeting
    from conference.meetings.tables import Invitation

    meeting_id = await make_meeting()
    if uninvited:
        await Invitation.delete().where(Invitation.meeting == meeting_id)
    await cancel_meeting(await actor("office"), meeting_id, {"reason": "场地冲突"})
    return meeting_id


async def _deliveries(target_id: int) -> list[dict[str, Any]]:
    return await IntegrationDelivery.select().where(IntegrationDelivery.target == target_id).order_by(IntegrationDelivery.id)


async def _make_due(target_id: int) -> None:
    await IntegrationDelivery.update({IntegrationDelivery.next_attempt_at: now() - dt.timedelta(seconds=1)}).where(
        (IntegrationDelivery.target == target_id) & (IntegrationDelivery.status == "queued"))


async def test_webhook_is_signed_and_carries_the_event(as_user: Any, receiver: Receiver) -> None:
    target_id, secret = await _webhook(as_user, receiver)
    assert secret.startswith("whsec_")
    stored = await IntegrationTarget.select(IntegrationTarget.secret).where(IntegrationTarget.id == target_id).first()
    assert stored["secret"] == secret
    meeting_id = await _cancel_a_meeting()
    outcome = await sender.send_pending()
    assert outcome.delivered == 1 and outcome.retried == 0
    (request,) = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    body = request["body"].decode()
    timestamp = headers["x-conference-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-conference-signature"], expected)
    event = json.loads(body)
    assert event["type"] == "meeting.cancelled"
    assert event["entity"] == "meeting" and event["entity_id"] == meeting_id
    assert event["after"]["status"] == "cancelled"
    assert headers["x-conference-event-id"] == event["id"]
    assert headers["content-type"].startswith("application/json")
    (delivery,) = await _deliveries(target_id)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1 and delivery["response_status"] == 200
    # The secret is never in the audit trail.
    from conference.audit.tables import AuditEvent

    trail = await AuditEvent.select(AuditEvent.after).where(
        (AuditEvent.entity == "integration_target") & (AuditEvent.entity_id == target_id)).first()
    assert secret not in json.dumps(trail["after"] if not isinstance(trail["after"], str) else json.loads(trail["after"]))


async def test_unsubscribed_events_and_disabled_targets_get_nothing(as_user: Any, receiver: Receiver) -> None:
    target_id, _secret = await _webhook(as_user, receiver)
    await make_meeting()  # creating a meeting is no event
    assert await _deliveries(target_id) == []
    response = await post_form(await as_user("office"), f"/integrations/{target_id}/disable", {})
    assert response.status_code == 303
    await _cancel_a_meeting()
    assert await _deliveries(target_id) == []


async def test_a_500_is_retried_with_back_off_then_delivered(as_user: Any, receiver: Receiver) -> None:
    target_id, _secret = await _webhook(as_user, receiver)
    receiver.statuses = [500, 503]
    await _cancel_a_meeting()
    first = await sender.send_pending()
    assert (first.delivered, first.retried) == (0, 1)
    (row,) = await _deliveries(target_id)
    assert row["status"] == "queued" and row["attempts"] == 1 and row["response_status"] == 500
    assert "HTTP 500" in row["last_error"]
    assert dt.timedelta(seconds=25) < row["next_attempt_at"] - now() <= dt.timedelta(seconds=31)
    assert (await sender.send_pending()).delivered == 0  # not due yet: nothing is sent
    await _make_due(target_id)
    await sender.send_pending()
    (row,) = await _deliveries(target_id)
    assert row["attempts"] == 2
    assert dt.timedelta(seconds=55) < row["next_attempt_at"] - now() <= dt.timedelta(seconds=61)  # doubled
    await _make_due(target_id)
    assert (await sender.send_pending()).delivered == 1
    (row,) = await _deliveries(target_id)
    assert row["status"] == "delivered" and row["attempts"] == 3
    assert len(receiver.requests) == 3
    assert len({r["headers"]["X-Conference-Event-Id"] for r in receiver.requests}) == 1  # the same event each time


async def test_dead_letter_after_the_retry_window_and_redelivery(as_user: Any, receiver: Receiver) -> None:
    target_id, _secret = await _webhook(as_user, receiver)
    receiver.statuses = [500, 500]
    await _cancel_a_meeting()
    await sender.send_pending()
    (row,) = await _deliveries(target_id)
    # The first failure was more than WEBHOOK_RETRY_HOURS ago: the next failure makes it dead.
    hours = get_settings().webhook_retry_hours
    await IntegrationDelivery.update({IntegrationDelivery.failing_since: now() - dt.timedelta(hours=hours + 1),
                                      IntegrationDelivery.next_attempt_at: now()}).where(IntegrationDelivery.id == row["id"])
    assert (await sender.send_pending()).dead == 1
    (row,) = await _deliveries(target_id)
    assert row["status"] == "dead" and row["next_attempt_at"] is None
    office = await as_user("office")
    page = html(await office.get("/integrations/deliveries?status=dead"))
    line = page.select_one(f"tr[data-id='{row['id']}']")
    assert line is not None and "HTTP 500" in line.select_one(".last-error").get_text()
    assert line.select_one("button.redeliver").get_text(strip=True) == "重新投递"
    # Another conference's office cannot see or redeliver it.
    other = await as_user("office_luozhuang")
    assert html(await other.get("/integrations/deliveries?status=dead")).select_one(f"tr[data-id='{row['id']}']") is None
    assert (await post_form(other, f"/integrations/deliveries/{row['id']}/redeliver", {})).status_code == 404
    response = await post_form(office, f"/integrations/deliveries/{row['id']}/redeliver", {})
    assert response.status_code == 303
    assert (await sender.send_pending()).delivered == 1
    (row,) = await _deliveries(target_id)
    assert row["status"] == "delivered"


async def test_one_delivery_per_event_with_two_senders_at_once(as_user: Any, receiver: Receiver) -> None:
    target_id, _secret = await _webhook(as_user, receiver)
    for _ in range(6):
        await _cancel_a_meeting()
    results = await asyncio.gather(sender.send_pending(batch=2), sender.send_pending(batch=2))
    assert sum(r.delivered for r in results) == 6
    ids = [r["headers"]["X-Conference-Event-Id"] for r in receiver.requests]
    assert len(ids) == 6 and len(set(ids)) == 6
    rows = await _deliveries(target_id)
    assert all(r["status"] == "delivered" and r["attempts"] == 1 for r in rows)
    # The table itself refuses a second delivery of the same event to the same target.
    with pytest.raises(Exception):  # noqa: B017 - sqlite3.IntegrityError or asyncpg's UniqueViolationError
        await IntegrationDelivery.insert(IntegrationDelivery(target=target_id, event=rows[0]["event"], body="{}",
                                                             created_at=now()))


async def _urgeable_task() -> dict[str, Any]:
    conf = await conference_id(LANSHAN_STREET)
    task = await Task.select(Task.id, Task.unit, Task.conference).where(
        (Task.conference == conf) & Task.status.is_in(list(URGEABLE))).order_by(Task.id).first()
    assert task is not None
    return task


async def test_group_robots_get_markdown_with_mentions_and_dingtalk_sign(as_user: Any, receiver: Receiver) -> None:
    task = await _urgeable_task()
    await MemberUnit.update({MemberUnit.liaison_phone: "13800138000"}).where(MemberUnit.id == task["unit"])
    office = await as_user("office")
    events = ["task.urged"]
    secret = "SEC0123456789abcdef"
    assert (await _create(office, kind="dingtalk", name="钉钉群", url=receiver.url + "/robot/send?access_token=abc",
                          secret=secret, events=events)).status_code == 303
    assert (await _create(office, kind="wecom", name="企业微信群", url=receiver.url + "/cgi-bin/webhook/send?key=k",
                          events=events)).status_code == 303
    # another member of the task's conference (the form offers only members; other tests add units)
    other_unit = await Membership.select(Membership.unit.as_alias("id")).where(
        (Membership.conference == task["conference"]) & (Membership.unit != task["unit"])).order_by(Membership.id).first()
    assert (await _create(office, kind="wecom", name="别的单位群", url=receiver.url + "/other",
                          unit=str(other_unit["id"]), events=events)).status_code == 303
    await urge_task(await actor("office"), int(task["id"]), {"message": "请本周内反馈进展"})
    outcome = await sender.send_pending()
    assert outcome.delivered == 2  # the other unit's group hears nothing of this task
    by_path = {urllib.parse.urlsplit(r["path"]).path: r for r in receiver.requests}
    assert set(by_path) == {"/robot/send", "/cgi-bin/webhook/send"}

    ding = by_path["/robot/send"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding["path"]).query)
    assert query["access_token"] == ["abc"]
    timestamp = query["timestamp"][0]
    assert abs(int(timestamp) - time.time() * 1000) < 60_000
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]  # parse_qs undoes the URL encoding
    message = json.loads(ding["body"])
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["title"].startswith("【催办】")
    assert "请本周内反馈进展" in message["markdown"]["text"] and "@13800138000" in message["markdown"]["text"]
    assert message["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}

    wecom = json.loads(by_path["/cgi-bin/webhook/send"]["body"])
    assert wecom["msgtype"] == "text"  # WeCom's markdown cannot @ by mobile number
    assert wecom["text"]["mentioned_mobile_list"] == ["13800138000"]
    assert "请本周内反馈进展" in wecom["text"]["content"]


async def test_wecom_markdown_without_mentions(as_user: Any, receiver: Receiver) -> None:
    office = await as_user("office")
    assert (await _create(office, kind="wecom", name="企业微信群", url=receiver.url + "/wecom",
                          events=["meeting.cancelled"])).status_code == 303
    await _cancel_a_meeting(uninvited=True)  # nobody invited: nobody to @
    assert (await sender.send_pending()).delivered == 1
    message = json.loads(receiver.requests[0]["body"])
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["content"].startswith("### 【会议取消】")
    assert "场地冲突" in message["markdown"]["content"]


async def test_a_robot_error_code_is_retried(as_user: Any, receiver: Receiver) -> None:
    office = await as_user("office")
    assert (await _create(office, kind="dingtalk", name="钉钉群", url=receiver.url + "/robot",
                          events=["meeting.cancelled"])).status_code == 303
    receiver.statuses = [201]  # 2xx but not {"errcode": 0}
    await _cancel_a_meeting()
    assert (await sender.send_pending()).retried == 1


async def test_form_refuses_unsafe_urls_and_keeps_input(as_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    office = await as_user("office")
    response = await _create(office, url="https://10.1.2.3/hook", name="内网地址")
    assert response.status_code == 400
    page = html(response)
    assert "内部网络" in page.select_one("#e-url").get_text()
    assert page.select_one("#f-name")["value"] == "内网地址"
    assert page.select_one("input[name=events][value='task.urged']").has_attr("checked")
    response = await _create(office, url="https://example.test/hook", events=[])
    assert "请至少选择一种事件" in html(response).select_one("#e-events").get_text()
    monkeypatch.delenv("WEBHOOK_ALLOW_HTTP_LOOPBACK")
    settings = reset_settings()
    for url in ("http://127.0.0.1:9/hook", "https://127.0.0.1/hook", "https://[::1]/x", "https://169.254.169.254/",
                "https://192.168.1.1/", "ftp://example.com/", "https://user:pw@example.com/"):
        with pytest.raises(UnsafeUrl):
            await check_url(url, settings)
    response = await _create(office, url="http://127.0.0.1:9/hook")
    assert response.status_code == 400 and html(response).select_one("#e-url") is not None
    monkeypatch.setenv("WEBHOOK_ALLOW_HTTP_LOOPBACK", "1")


async def test_a_malformed_url_is_a_message_not_a_500(as_user: Any) -> None:
    """urlsplit raises ValueError for an unbalanced or invalid [IPv6] host: the form says so beside the field."""
    office = await as_user("office")
    for url in ("https://[::1", "https://[zz]/hook"):
        response = await _create(office, url=url, name="格式错误")
        assert response.status_code == 400, (url, response.status_code)
        page = html(response)
        assert "https://" in page.select_one("#e-url").get_text()
        assert page.select_one("#f-name")["value"] == "格式错误"


async def test_the_post_goes_to_the_address_that_was_checked(as_user: Any, receiver: Receiver) -> None:
    """The sender connects to the address check_url approved (the host name kept in Host and, for
    https, in SNI and the certificate check), so a DNS answer that changes after the check (DNS
    rebinding) cannot point the post into the server's own network."""
    assert pinned("https://hooks.example.com:8443/h?x=1", "203.0.113.7") == (
        "https://203.0.113.7:8443/h?x=1", {"Host": "hooks.example.com:8443"}, {"sni_hostname": "hooks.example.com"})
    assert pinned("https://hooks.example.com/h", "2001:db8::1")[0] == "https://[2001:db8::1]/h"
    port = receiver.url.rsplit(":", 1)[1]
    office = await as_user("office")
    response = await _create(office, url=f"http://localhost:{port}/hook")
    assert response.status_code == 200, response.text
    await _cancel_a_meeting()
    assert (await sender.send_pending()).delivered == 1
    (request,) = receiver.requests
    assert {k.lower(): v for k, v in request["headers"].items()}["host"] == f"localhost:{port}"


async def test_each_office_sees_only_its_own_targets(as_user: Any, receiver: Receiver) -> None:
    target_id, _secret = await _webhook(as_user, receiver)
    office = await as_user("office")
    page = html(await office.get("/integrations"))
    assert page.select_one(f"tr[data-id='{target_id}']") is not None
    other = await as_user("office_luozhuang")
    assert html(await other.get("/integrations")).select_one(f"tr[data-id='{target_id}']") is None
    assert (await other.get(f"/integrations/{target_id}/edit")).status_code == 404
    for action in ("edit", "disable", "enable", "secret"):
        response = await post_form(other, f"/integrations/{target_id}/{action}", {"name": "x"})
        assert response.status_code == 404, action
    # An office cannot register a target for a conference outside its reach.
    response = await _create(other, url=receiver.url + "/x")
    assert response.status_code == 400 and html(response).select_one("#e-conference") is not None
    for username in ("unit", "street", "convenor"):
        assert (await (await as_user(username)).get("/integrations")).status_code == 403, username


async def test_edit_keeps_the_secret_and_new_secret_is_shown_once(as_user: Any, receiver: Receiver) -> None:
    target_id, secret = await _webhook(as_user, receiver)
    office = await as_user("office")
    page = html(await office.get(f"/integrations/{target_id}/edit"))
    assert secret not in str(page)
    form = {"name": "改名", "conference": page.select_one("#f-conference option[selected]")["value"],
            "url": receiver.url + "/hook2", "events": ["minutes.published"],
            "version": page.select_one("input[name=version]")["value"]}
    assert (await post_form(office, f"/integrations/{target_id}/edit", form)).status_code == 303
    row = await IntegrationTarget.select().where(IntegrationTarget.id == target_id).first()
    assert row["name"] == "改名" and row["secret"] == secret
    response = await post_form(office, f"/integrations/{target_id}/secret", {})
    fresh = html(response).select_one("#webhook-secret").get_text(strip=True)
    assert fresh != secret and fresh.startswith("whsec_")


async def test_no_event_rows_without_a_target() -> None:
    before = await db.fetch("SELECT COUNT(*) AS n FROM integration_event")
    await _cancel_a_meeting()
    after = await db.fetch("SELECT COUNT(*) AS n FROM integration_event")
    assert after[0]["n"] == before[0]["n"]


async def test_a_change_that_rolls_back_leaves_no_delivery(as_user: Any, receiver: Receiver) -> None:
    from conference.meetings.lifecycle import cancel_meeting

    target_id, _secret = await _webhook(as_user, receiver)
    meeting_id = await make_meeting()
    with pytest.raises(RuntimeError):
        async with db.atomic():
            await cancel_meeting(await actor("office"), meeting_id, {"reason": "场地冲突"})
            raise RuntimeError("the transaction fails after the change")
    assert await _deliveries(target_id) == []


async def test_reminder_alerts_reach_the_units_group(as_user: Any, receiver: Receiver) -> None:
    from conference.tasks.reminders import run_reminders

    task = await _urgeable_task()
    await MemberUnit.update({MemberUnit.liaison_phone: "13900139000"}).where(MemberUnit.id == task["unit"])
    office = await as_user("office")
    assert (await _create(office, kind="dingtalk", name="单位群", url=receiver.url + "/unit-robot", unit=str(task["unit"]),
                          events=["task.alert"])).status_code == 303
    far = dt.date.today() + dt.timedelta(days=800)  # every open task is overdue by then
    assert await run_reminders(far) > 0
    await sender.send_pending()
    messages = [json.loads(r["body"]) for r in receiver.requests]
    assert messages and all(m["at"]["atMobiles"] == ["13900139000"] for m in messages)  # only this unit's tasks
    assert any(m["markdown"]["title"].startswith("【催办") for m in messages)
