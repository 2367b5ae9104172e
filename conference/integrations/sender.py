"""The outbox's sending side: posts queued deliveries, each once however many processes send.

Claim, back-off and dead letters follow the outbox rules shared with the mail sender
(conference.outbox): due rows become `sending` with a lease in one short transaction committed
before any request is made, so two senders running at once never post the same delivery, and
(target, event) is unique in the table, so one event reaches one target through one delivery.

A 2xx answer (and, for the robots, errcode 0 in the JSON they answer) is delivered; anything else
(another status, a timeout, a refused connection, an address that is no longer allowed) is retried
after WEBHOOK_RETRY_SECONDS, doubling up to an hour, until WEBHOOK_RETRY_HOURS after the first
failure; then the delivery is dead and the office sees it at /integrations/deliveries?status=dead,
where it can deliver it again. Redirects are never followed and no proxy from the environment is used."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from piccolo.querystring import QueryString

from conference import db
from conference.integrations.messages import dingtalk_url, webhook_headers
from conference.integrations.urls import UnsafeUrl, check_url, pinned
from conference.outbox import Outbox, RetryPolicy, run
from conference.settings import Settings, get_settings
from conference.timefmt import now

log = logging.getLogger("conference.integrations")

BATCH = 20
OUTBOX = Outbox("integration_delivery")
COLUMNS = QueryString("d.id, d.event, d.body, d.attempts, d.failing_since, t.kind, t.url, t.secret")


def lease_seconds(settings: Settings) -> float:
    return max(300.0, BATCH * settings.webhook_timeout * 2)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(float(settings.webhook_retry_seconds), settings.webhook_retry_hours)


async def claim(limit: int = BATCH, *, ids: list[int] | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Claims up to `limit` due deliveries and returns them with their target's kind, url and secret."""
    settings = settings or get_settings()
    claimed = await OUTBOX.claim(limit, lease_seconds=lease_seconds(settings), ids=ids)
    if not claimed:
        return []
    return await run("SELECT {} FROM integration_delivery d JOIN integration_target t ON t.id = d.target "
                     "WHERE d.id IN ({}) ORDER BY d.id", COLUMNS, db.ids(r["id"] for r in claimed))


async def _delivered(row: dict[str, Any], status: int) -> None:
    await OUTBOX.delivered(row, "delivered", delivered_at=now(), response_status=status)


async def _failed(row: dict[str, Any], error: str, status: int | None, settings: Settings) -> str:
    return await OUTBOX.failed(row, error, retry_policy(settings), response_status=status)


def _request(row: dict[str, Any]) -> tuple[str, dict[str, str]]:
    body = row["body"]
    if row["kind"] == "webhook":
        return row["url"], webhook_headers(row["secret"], int(row["event"]), int(time.time()), body)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if row["kind"] == "dingtalk":
        return dingtalk_url(row["url"], row["secret"], int(time.time() * 1000)), headers
    return row["url"], headers


def _robot_error(row: dict[str, Any], response: httpx.Response) -> str | None:
    """WeCom and DingTalk answer 200 with {"errcode": n, "errmsg": ...}; only errcode 0 is success."""
    if row["kind"] == "webhook":
        return None
    try:
        answer = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(answer, dict) and answer.get("errcode", 0) == 0:
        return None
    return f"errcode {answer.get('errcode') if isinstance(answer, dict) else '?'}: " \
           f"{answer.get('errmsg', '') if isinstance(answer, dict) else str(answer)[:200]}"


async def _send_one(client: httpx.AsyncClient, row: dict[str, Any], settings: Settings) -> str:
    status: int | None = None
    try:
        address = await check_url(row["url"], settings)
        url, headers = _request(row)
        url, host, extensions = pinned(url, address)  # connect to the address just checked, not a new DNS answer
        response = await client.post(url, content=row["body"].encode(), headers={**headers, **host}, extensions=extensions)
        status = response.status_code
        if not 200 <= status < 300:
            error: str | None = f"HTTP {status}: {response.text[:200]}"
        else:
            error = _robot_error(row, response)
    except UnsafeUrl as exc:
        error = str(exc)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}".strip()
    if error is None:
        await _delivered(row, status or 0)
        return "delivered"
    result = await _failed(row, error, status, settings)
    log.warning("integration delivery %s: %s (%s)", row["id"], error, result)
    return result


@dataclass
class Outcome:
    delivered: int = 0
    retried: int = 0
    dead: int = 0


async def send_pending(*, settings: Settings | None = None, ids: list[int] | None = None, batch: int = BATCH,
                       max_batches: int = 50) -> Outcome:
    """Claims and posts due deliveries batch by batch until none is due (or `max_batches`)."""
    settings = settings or get_settings()
    outcome = Outcome()
    async with httpx.AsyncClient(timeout=settings.webhook_timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(max_batches):
            rows = await claim(batch, ids=ids, settings=settings)
            if not rows:
                break
            for row in rows:
                # Shielded: a shutdown lets the request in flight finish and be recorded.
                result = await asyncio.shield(_send_one(client, row, settings))
                outcome.delivered += result == "delivered"
                outcome.retried += result == "retry"
                outcome.dead += result == "dead"
    return outcome


async def webhook_loop(interval_seconds: float) -> None:
    """Run by every server process; claims make concurrent loops safe."""
    while True:
        try:
            outcome = await send_pending()
            if outcome.delivered or outcome.retried or outcome.dead:
                log.info("integrations: %d delivered, %d to retry, %d dead", outcome.delivered, outcome.retried, outcome.dead)
        except Exception:  # the loop must survive a bad tick (database restart, ...)
            log.exception("integration delivery run failed")
        await asyncio.sleep(interval_seconds)

