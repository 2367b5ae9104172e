"""Delivery under failure and shutdown, against a real SMTP server (aiosmtpd on 127.0.0.1).

- Temporary failures (421, the connection dropped after DATA, an unreachable server) go back to the
  queue with a delay of at least 30 s, doubling up to an hour, for MAIL_RETRY_HOURS from the first
  failure; a 5xx to RCPT TO (550 unknown mailbox) is a dead letter at once, with the server's reply
  on /mail/dead-letters. A run never claims again a message it has just failed.
- Shutdown: cancelling the sender mid-batch (in this process), and SIGTERM to a real
  `conference serve` (one worker and two) or `conference send-mail --loop` whose sender is
  mid-batch against a slow SMTP server: the message in flight is sent once and marked sent, the
  rest of the batch is queued again at once (attempts not counted), nothing stays `sending`.
  kill -9 instead: the batch waits out its lease, and then only the message that was in flight
  arrives a second time, with the same Message-ID.

The server subprocess gets a database of its own (a SQLite file, or a PostgreSQL schema), which this
process also uses for the duration of the test to queue and inspect messages."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from conference import db
from conference.cli import migrate_forwards
from conference.mail import sender as mail_sender
from conference.mail.sender import MIN_RETRY, backoff, send_pending
from conference.mail.transports import SmtpTransport
from conference.notifications.services import queue
from conference.notifications.tables import Notification
from conference.outbox import MAX_BACKOFF
from conference.settings import Settings
from conference.timefmt import now
from tests import browser, dbsetup
from tests.conftest import html
from tests.factories import LANSHAN_STREET, conference_id, unique
from tests.test_mail import smtp_settings

pytestmark = pytest.mark.usefixtures("database_url")
N = Notification
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<notification\.(\d+)\.[^>]*>)", re.MULTILINE | re.IGNORECASE)


class Handler:
    """An SMTP server that answers what a test queues, can be slow, can drop the connection after
    DATA, and notes when each message's DATA began (`started`) and which it accepted (`received`)."""

    def __init__(self) -> None:
        self.started: list[int] = []  # notification ids, in the order their DATA arrived
        self.received: list[int] = []  # notification ids the server accepted (a repeat appears twice)
        self.message_ids: list[str] = []  # the Message-ID header of each accepted message
        self.rcpt_replies: list[str] = []
        self.data_replies: list[str] = []
        self.drops = 0  # the next `drops` DATA commands lose the connection instead of a reply
        self.delay = 0.0
        self.keep_before_reply = False  # accept the message before the delay (as a server does before "250")

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = MESSAGE_ID.search(bytes(envelope.content))
        notification_id = int(found.group(2)) if found else 0
        header = found.group(1).decode() if found else ""
        self.started.append(notification_id)
        if self.drops:
            self.drops -= 1
            server.transport.close()
            return "421 4.4.2 Connection dropped"
        if self.data_replies:
            return self.data_replies.pop(0)
        if self.keep_before_reply:
            self.received.append(notification_id)
            self.message_ids.append(header)
        await asyncio.sleep(self.delay)
        if not self.keep_before_reply:
            self.received.append(notification_id)
            self.message_ids.append(header)
        return "250 2.0.0 Ok: queued"


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = browser.free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()




async def queue_messages(count: int, *, conference: int | None = None) -> list[int]:
    ids = []
    for _ in range(count):
        notification_id = await queue("test_mail", conference_id=conference, subject=f"【测试】{unique('投递')}",
                                      body="测试邮件", email=f"{unique('liaison')}@example.gov.cn")
        assert notification_id is not None
        ids.append(notification_id)
    return ids


async def rows(ids: list[int]) -> dict[int, dict[str, Any]]:
    found = await N.select(N.id, N.status, N.attempts, N.next_attempt_at, N.last_error, N.failing_since, N.sent_at).where(
        N.id.is_in(ids))
    return {r["id"]: r for r in found}


async def make_due(ids: list[int]) -> None:
    await N.update({N.next_attempt_at: now() - dt.timedelta(seconds=1)}).where(N.id.is_in(ids))


async def send(port: int, ids: list[int], **changes: Any) -> mail_sender.Outcome:
    settings = smtp_settings(port, **changes)
    return await send_pending(SmtpTransport(settings), settings=settings, ids=ids)


def seconds_until(value: dt.datetime) -> float:
    return (value - now()).total_seconds()


# ---------------------------------------------------------------- temporary and permanent failures


async def test_421_is_retried_and_then_delivered(smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    [notification_id] = await queue_messages(1)
    handler.data_replies.append("421 4.3.2 Service shutting down, try again later")
    outcome = await send(port, [notification_id])
    assert (outcome.sent, outcome.retried, outcome.dead) == (0, 1, 0)
    row = (await rows([notification_id]))[notification_id]
    assert row["status"] == "queued" and row["attempts"] == 1
    assert row["last_error"].startswith("421 4.3.2")
    assert row["failing_since"] is not None
    assert 50 < seconds_until(row["next_attempt_at"]) <= 60

    await make_due([notification_id])
    assert (await send(port, [notification_id])).sent == 1
    row = (await rows([notification_id]))[notification_id]
    assert row["status"] == "sent" and row["failing_since"] is None and row["last_error"] == ""
    assert handler.received == [notification_id]


async def test_550_for_the_recipient_is_a_dead_letter_at_once(smtp: tuple[Handler, int], as_user: Any) -> None:
    handler, port = smtp
    lanshan = await conference_id(LANSHAN_STREET)
    refused, fine = await queue_messages(2, conference=lanshan)
    handler.rcpt_replies.append("550 5.1.1 <nobody@example.gov.cn>: Recipient address rejected: User unknown")
    outcome = await send(port, [refused, fine])
    assert (outcome.sent, outcome.retried, outcome.dead) == (1, 0, 1)  # the batch went on after the refusal
    found = await rows([refused, fine])
    assert found[refused]["status"] == "dead" and found[refused]["attempts"] == 1
    assert found[refused]["next_attempt_at"] is None
    assert found[refused]["last_error"] == "550 5.1.1 <nobody@example.gov.cn>: Recipient address rejected: User unknown"
    assert found[fine]["status"] == "sent" and handler.received == [fine]

    # The office sees the server's reply on the dead-letter page.
    subject = (await N.select(N.subject).where(N.id == refused).first())["subject"]
    page = html(await (await as_user("office")).get(f"/mail/dead-letters?q={subject}"))
    line = page.find("tr", attrs={"data-id": str(refused)})
    assert line is not None
    assert "550 5.1.1" in line.find(class_="last-error").get_text()
    assert "24 小时" in page.find(class_="help").get_text()


async def test_connection_dropped_after_data_is_retried(smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    dropped, after = await queue_messages(2)
    handler.drops = 1
    outcome = await send(port, [dropped, after])
    # The transport reconnects for the next message of the batch.
    assert (outcome.sent, outcome.retried, outcome.dead) == (1, 1, 0)
    found = await rows([dropped, after])
    assert found[dropped]["status"] == "queued" and found[dropped]["attempts"] == 1
    assert "Disconnected" in found[dropped]["last_error"] or "disconnect" in found[dropped]["last_error"].lower()
    assert found[after]["status"] == "sent"
    await make_due([dropped])
    assert (await send(port, [dropped])).sent == 1
    assert sorted(handler.received) == sorted([dropped, after])


async def test_unreachable_server_retries_the_batch_and_ends_the_run() -> None:
    ids = await queue_messages(3)
    settings = smtp_settings(browser.free_port())  # nobody listens there
    outcome = await send_pending(SmtpTransport(settings), settings=settings, ids=ids, batch=1)
    # One batch learns that the server is down; the next run tries again rather than 50 batches now.
    assert (outcome.sent, outcome.retried, outcome.dead, outcome.unreachable) == (0, 1, 0, True)
    found = await rows(ids)
    assert [found[i]["attempts"] for i in ids] == [1, 0, 0]
    assert all(found[i]["status"] == "queued" for i in ids)
    await N.update({N.status: "sent"}).where(N.id.is_in(ids))


# ---------------------------------------------------------------- the retry schedule


def test_backoff_has_a_floor_doubles_and_is_capped() -> None:
    settings = smtp_settings(25, mail_retry_seconds=60)
    assert [backoff(n, settings) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(10_000, settings) == MAX_BACKOFF
    zero = smtp_settings(25, mail_retry_seconds=0)
    assert backoff(1, zero) == MIN_RETRY == 30 and backoff(2, zero) == 60
    # Over 24 hours a message is tried about thirty times, none more than an hour apart.
    waits, elapsed, attempt = [], 0.0, 1
    while elapsed < 24 * 3600:
        waits.append(backoff(attempt, settings))
        elapsed += waits[-1]
        attempt += 1
    assert 25 <= len(waits) <= 35 and max(waits) == 3600


async def test_retry_seconds_zero_does_not_burn_the_retries_in_one_run(smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    [notification_id] = await queue_messages(1)
    handler.data_replies += ["451 4.3.0 Try again later"] * 20
    outcome = await send(port, [notification_id], mail_retry_seconds=0)
    assert (outcome.sent, outcome.retried) == (0, 1)
    row = (await rows([notification_id]))[notification_id]
    assert row["attempts"] == 1 and row["status"] == "queued"
    assert MIN_RETRY - 5 < seconds_until(row["next_attempt_at"]) <= MIN_RETRY
    assert handler.started == [notification_id]
    handler.data_replies.clear()
    await N.update({N.status: "sent"}).where(N.id == notification_id)


async def test_a_failed_message_is_not_claimed_again_in_the_same_run(smtp: tuple[Handler, int],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with no delay at all (the floor patched away) a run tries a failing message once."""
    handler, port = smtp
    monkeypatch.setattr(mail_sender, "MIN_RETRY", 0.0)
    ids = await queue_messages(2)
    handler.data_replies += ["451 4.3.0 Try again later"] * 20
    settings = smtp_settings(port, mail_retry_seconds=0)
    outcome = await send_pending(SmtpTransport(settings), settings=settings, ids=ids, batch=1, max_batches=10)
    assert outcome.retried == 2 and sorted(outcome.failed_ids) == sorted(ids)
    assert sorted(handler.started) == sorted(ids)  # once each, although each was due again at once
    assert all(r["attempts"] == 1 for r in (await rows(ids)).values())
    handler.data_replies.clear()
    await N.update({N.status: "sent"}).where(N.id.is_in(ids))


async def test_temporary_failures_end_as_dead_letters_after_the_retry_period(smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    young, old = await queue_messages(2)
    # Failing for almost 24 hours: one more retry, at the very end of the period.
    await N.update({N.failing_since: now() - dt.timedelta(hours=23, minutes=59, seconds=30)}).where(N.id == young)
    # Failing for longer than the period: this failure is the last.
    await N.update({N.failing_since: now() - dt.timedelta(hours=24, seconds=1)}).where(N.id == old)
    handler.data_replies += ["421 4.4.5 Server busy"] * 2
    outcome = await send(port, [young, old])
    assert (outcome.retried, outcome.dead) == (1, 1)
    found = await rows([young, old])
    assert found[young]["status"] == "queued"
    assert 0 < seconds_until(found[young]["next_attempt_at"]) <= 31  # capped at the end of the period, not 60 s
    assert found[old]["status"] == "dead" and found[old]["last_error"].startswith("421 4.4.5")
    # A shorter period is configurable.
    handler.data_replies.append("421 4.4.5 Server busy")
    await make_due([young])
    assert (await send(port, [young], mail_retry_hours=1)).dead == 1


# ---------------------------------------------------------------- shutdown in this process


async def wait_for(condition: Any, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_cancelled_sender_finishes_the_message_in_flight_and_returns_the_rest(smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    handler.delay = 0.5
    ids = await queue_messages(6)
    settings = smtp_settings(port)
    task = asyncio.create_task(send_pending(SmtpTransport(settings), settings=settings, ids=ids))
    await wait_for(lambda: len(handler.started) == 2, what="the second message's DATA")
    in_flight = handler.started[-1]
    assert (await rows([in_flight]))[in_flight]["status"] == "sending"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    found = await rows(ids)
    assert handler.received == ids[:2] and in_flight == ids[1]  # the message in flight got its "250"
    assert [found[i]["status"] for i in ids] == ["sent", "sent", "queued", "queued", "queued", "queued"]
    # The rest is due at once, its claim not counted as an attempt.
    assert all(found[i]["attempts"] == 0 and found[i]["next_attempt_at"] is None for i in ids[2:])
    handler.delay = 0
    assert (await send(port, ids)).sent == 4
    assert collections.Counter(handler.received) == dict.fromkeys(ids, 1)


# ---------------------------------------------------------------- a real server stopped mid-batch


@pytest.fixture
async def server_database(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for a `conference serve` subprocess, made this process's engine
    too for the duration of the test (the session's engine is restored afterwards)."""
    saved = db.engine()
    schema = f"ct_mailserve_{os.getpid()}"
    if dbsetup.backend() == "postgres":
        url = await dbsetup.fresh_postgres_schema(schema)
    else:
        url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    settings = Settings(database_url=url)
    db.use_engine(db.make_engine(settings))
    try:
        await db.start(settings)
        try:
            await migrate_forwards()
            yield url
        finally:
            await db.stop()
    finally:
        db.use_engine(saved)
        if dbsetup.backend() == "postgres":
            await dbsetup.drop_postgres_schema(url)


def start(command: str, database_url: str, smtp_port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """`conference serve` (ready once /healthz answers) or `conference send-mail --loop`, sending
    every second to the test's SMTP server."""
    port = browser.free_port()
    url = f"http://{browser.HOST}:{port}"
    env = browser._server_env(database_url, url)
    env.update({"MAIL_INTERVAL": "1", "REMINDER_INTERVAL": "0", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port),
                "SMTP_SECURITY": "none", "SMTP_USER": "", "SMTP_PASSWORD": "", "SMTP_TIMEOUT": "10"})
    serving = command.startswith("serve")
    args = ["serve", "--host", browser.HOST, "--port", str(port), *command.split()[1:]] if serving else ["send-mail", "--loop"]
    with log_path.open("wb") as log:
        process = subprocess.Popen([browser.conference_command(), *args], cwd=browser.ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    if not serving:
        return process
    deadline = time.monotonic() + browser.STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"`conference serve` exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if browser._get(f"{url}/healthz") == 200:
                return process
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"`conference serve` did not answer:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.1)


@pytest.mark.parametrize("command", ["serve", "serve --workers 2", "send-mail"])
async def test_sigterm_mid_batch_sends_the_message_in_flight_once_and_requeues_the_rest(
        smtp: tuple[Handler, int], server_database: str, tmp_path: Path, command: str) -> None:
    handler, port = smtp
    handler.delay = 1.5
    log_path = tmp_path / "server.log"
    process = start(command, server_database, port, log_path)
    try:
        async with db.atomic():  # all at once: one claim takes the whole batch
            ids = await queue_messages(8)
        await wait_for(lambda: len(handler.started) == 3, what="the third message's DATA")
        in_flight = handler.started[-1]
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(process.wait, 60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = log_path.read_text(errors="replace")
    if command.startswith("serve"):
        # Uvicorn shuts down gracefully, then re-raises the signal it caught: ended by SIGTERM, after
        # "Application shutdown complete".
        assert returncode in (0, -signal.SIGTERM), log
        assert "Application shutdown complete" in log, log
    else:
        assert returncode == 0 and "已停止" in log, log
    assert "Traceback" not in log, log
    found = await rows(ids)
    statuses = [found[i]["status"] for i in ids]
    assert "sending" not in statuses, (statuses, log)
    # The message in flight finished: accepted once by the server, marked sent.
    assert handler.started == ids[:3] and in_flight == ids[2]
    assert collections.Counter(handler.received) == dict.fromkeys(ids[:3], 1)
    assert statuses == ["sent"] * 3 + ["queued"] * 5
    assert found[in_flight]["sent_at"] is not None
    # The rest of the batch is back in the queue, due at once and with no attempt counted.
    assert all(found[i]["attempts"] == 0 and found[i]["next_attempt_at"] is None for i in ids[3:])
    handler.delay = 0
    assert (await send(port, ids)).sent == 5
    assert collections.Counter(handler.received) == dict.fromkeys(ids, 1)


async def test_kill_9_mid_batch_resends_only_the_message_in_flight_with_its_message_id(
        smtp: tuple[Handler, int], server_database: str, tmp_path: Path) -> None:
    handler, port = smtp
    # The server keeps each message as DATA ends and answers "250" only after a while: the sender is
    # killed between the two, the one moment a message can be both delivered and not marked sent.
    handler.keep_before_reply = True
    handler.delay = 20.0
    process = start("serve", server_database, port, tmp_path / "server.log")
    try:
        async with db.atomic():  # all at once: one claim takes the whole batch
            ids = await queue_messages(5)
        await wait_for(lambda: len(handler.started) == 1, what="the first message's DATA")
        process.kill()
        await asyncio.to_thread(process.wait, 30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    [in_flight] = handler.started
    found = await rows(ids)
    # Nothing could record anything: the batch stays claimed until its lease runs out.
    assert {found[i]["status"] for i in ids} == {"sending"}
    handler.delay = 0
    handler.keep_before_reply = False
    assert (await send(port, ids)).sent == 0  # leased
    await make_due(ids)  # the lease ran out
    assert (await send(port, ids)).sent == 5
    counts = collections.Counter(handler.received)
    assert counts == {**dict.fromkeys(ids, 1), in_flight: 2}
    # The repeat is the same message, with the same Message-ID, so the receiving side can drop it.
    repeated = [m for n, m in zip(handler.received, handler.message_ids, strict=True) if n == in_flight]
    assert len(repeated) == 2 and repeated[0] == repeated[1]
    assert {r["status"] for r in (await rows(ids)).values()} == {"sent"}
