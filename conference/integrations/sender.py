"""The outbox's sending side: posts queued deliveries, each once however many processes send.

Claim as the mail sender does (conference.mail.sender): due rows (queued and `next_attempt_at`
reached, or `sending` whose lease ran out) become `sending` with `attempts + 1` and a lease, in one
short transaction committed before any request is made. PostgreSQL: SELECT ... FOR UPDATE SKIP
LOCKED then UPDATE; SQLite: one conditional UPDATE ... RETURNING in an IMMEDIATE transaction. Two
senders running at once therefore never post the same delivery, and (target, event) is unique in
the table, so one event reaches one target through one delivery.

A 2xx answer (and, for the robots, errcode 0 in the JSON they answer) is delivered; anything else
(another status, a timeout, a refused connection, an address that is no longer allowed) is retried
after WEBHOOK_RETRY_SECONDS, doubling up to an hour, until WEBHOOK_RETRY_HOURS after the first
failure; then the delivery is dead and the office sees it at /integrations/deliveries?status=dead,
where it can deliver it again. Redirects are never followed and no proxy from the environment is used."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from conference import db
from conference.integrations.messages import dingtalk_url, webhook_headers
from conference.integrations.urls import UnsafeUrl, check_url, pinned
from conference.settings import Settings, get_settings
from conference.timefmt import now

log = logging.getLogger("conference.integrations")

BATCH = 20
MAX_BACKOFF = 3600.0
COLUMNS = ("d.id, d.event, d.body, d.attempts, d.failing_since, t.kind, t.url, t.secret")


async def _run(sql: str, *params: Any) -> list[dict[str, Any]]:
    rows = await db.engine().run_querystring(QueryString(sql, *params))
    return [dict(r) for r in rows or []]


def _due(ids: list[int] | None) -> str:
    where = ("((status = 'queued' AND next_attempt_at <= {}) OR (status = 'sending' AND next_attempt_at <= {}))")
    if ids is not None:
        where += f" AND id IN ({db.int_list(ids)})"
    return where


def lease_seconds(settings: Settings) -> float:
    return max(300.0, BATCH * settings.webhook_timeout * 2)


async def claim(limit: int = BATCH, *, ids: list[int] | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    settings = settings or get_settings()
    at = now()
    lease = at + dt.timedelta(seconds=lease_seconds(settings))
    where = _due(ids)
    async with db.atomic():
        if isinstance(db.engine(), PostgresEngine):
            locked = await _run(f"SELECT id FROM integration_delivery WHERE {where} ORDER BY id LIMIT {int(limit)} "
                                "FOR UPDATE SKIP LOCKED", at, at)
            if not locked:
                return []
            claimed = await _run("UPDATE integration_delivery SET status = 'sending', attempts = attempts + 1, "
                                 f"next_attempt_at = {{}} WHERE id IN ({db.int_list(r['id'] for r in locked)}) RETURNING id",
                                 lease)
        else:
            claimed = await _run(
                "UPDATE integration_delivery SET status = 'sending', attempts = attempts + 1, next_attempt_at = {} "
                f"WHERE id IN (SELECT id FROM integration_delivery WHERE {where} ORDER BY id LIMIT {int(limit)}) "
                f"AND {where} RETURNING id", lease, at, at, at, at)
        if not claimed:
            return []
        return await _run(f"SELECT {COLUMNS} FROM integration_delivery d JOIN integration_target t ON t.id = d.target "
                          f"WHERE d.id IN ({db.int_list(r['id'] for r in claimed)}) ORDER BY d.id")


def backoff(attempts: int, settings: Settings) -> float:
    first = max(0.0, float(settings.webhook_retry_seconds))
    return min(MAX_BACKOFF, first * 2.0 ** min(max(0, attempts - 1), 30))


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def _delivered(row: dict[str, Any], status: int) -> None:
    await _run("UPDATE integration_delivery SET status = 'delivered', delivered_at = {}, next_attempt_at = NULL, "
               "response_status = {}, last_error = '' WHERE id = {} AND status = 'sending'", now(), status, row["id"])


async def _failed(row: dict[str, Any], error: str, status: int | None, settings: Settings) -> str:
    at = now()
    since = _as_datetime(row.get("failing_since")) or at
    give_up = since + dt.timedelta(hours=max(0.0, settings.webhook_retry_hours))
    if at >= give_up:
        await _run("UPDATE integration_delivery SET status = 'dead', next_attempt_at = NULL, last_error = {}, "
                   "response_status = {}, failing_since = {} WHERE id = {} AND status = 'sending'",
                   error[:1000], status, since, row["id"])
        return "dead"
    retry_at = min(at + dt.timedelta(seconds=backoff(int(row["attempts"]), settings)), give_up)
    await _run("UPDATE integration_delivery SET status = 'queued', next_attempt_at = {}, last_error = {}, "
               "response_status = {}, failing_since = {} WHERE id = {} AND status = 'sending'",
               retry_at, error[:1000], status, since, row["id"])
    return "retry"


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

