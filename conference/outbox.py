"""Outbox delivery rules shared by every sender: claiming due rows, backing off, dead letters.

An outbox is a table whose rows wait to be delivered (mail in `notification`, webhooks and group
robots in `integration_delivery`). Each has `status` (queued, sending, then a delivered status or
dead), `attempts`, `next_attempt_at`, `failing_since` and `last_error`. The rules here hold for all
of them, so they are written once:

1. Claim: due rows (queued with `next_attempt_at` reached or unset, or `sending` whose lease ran
   out because their sender died) become `sending`, with `attempts + 1` and a lease in
   `next_attempt_at`, in one short transaction that commits before any network I/O. PostgreSQL:
   SELECT ... FOR UPDATE SKIP LOCKED, then UPDATE: concurrent senders skip each other's rows
   instead of waiting for them. SQLite: one UPDATE ... WHERE status = 'queued' ... RETURNING inside
   an IMMEDIATE transaction: SQLite has one writer, so a row is claimed once.
2. Retry (RetryPolicy): after a failure the row is queued again, the wait doubling from the first
   delay up to a ceiling, until the retry period after the first failure is over; then, or at once
   when the failure is permanent, the row is dead and waits for the office to send it again.
3. Release: rows a stopping sender claimed but will not finish go back to the queue, due at once;
   `until_signal` stops a sender run from the command line as a server shutdown does.

What a row is and how it is delivered (SMTP, HTTP) belongs to the sender that uses an Outbox
(conference.mail.sender, conference.integrations.sender); this module imports no domain package.
Statements are composed of QueryString fragments: every value and id is bound; table and column
names come from the senders' constants, quoted by db.identifier."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections.abc import Collection, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from conference import db
from conference.timefmt import now

T = TypeVar("T")

# A retry never waits longer than an hour: delivery should resume within the hour after an outage
# ends, not six hours later.
MAX_BACKOFF = 3600.0


async def run(query: QueryString | str, *params: Any) -> list[dict[str, Any]]:
    """Rows of one statement (reads and writes alike): a QueryString, or a constant template with
    `{}` placeholders and its values."""
    if isinstance(query, str):
        query = QueryString(query, *params)
    rows = await db.engine().run_querystring(query)
    return [dict(r) for r in rows or []]


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed row is tried again: `first_seconds` (at least `floor_seconds`), doubled after
    each attempt, at most `max_seconds`, for `period_hours` from the first failure."""

    first_seconds: float
    period_hours: float
    floor_seconds: float = 0.0
    max_seconds: float = MAX_BACKOFF

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt after `attempts` attempts."""
        first = max(self.floor_seconds, float(self.first_seconds))
        return min(self.max_seconds, max(first, first * 2.0 ** min(max(0, attempts - 1), 30)))

    def period(self) -> dt.timedelta:
        return dt.timedelta(hours=max(0.0, self.period_hours))


@dataclass(frozen=True)
class Outbox:
    """One outbox table. `returning` are the columns claim() hands back; `deliverable` is a fixed SQL
    condition rows must also meet to be claimed (mail without an address is never sent)."""

    table: str
    returning: str = "id"
    deliverable: str = ""

    def _table(self) -> QueryString:
        return db.identifier(self.table)

    def _due(self, at: dt.datetime, ids: Sequence[int] | None, exclude: Collection[int]) -> QueryString:
        """Rows a sender may take at `at`."""
        where = [QueryString("((status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= {})) "
                             "OR (status = 'sending' AND next_attempt_at <= {}))", at, at)]
        if self.deliverable:
            where.insert(0, QueryString(self.deliverable))  # a sender's constant condition
        if ids is not None:
            where.append(QueryString("id IN ({})", db.ids(ids)))
        if exclude:
            where.append(QueryString("id NOT IN ({})", db.ids(exclude)))
        return db.joined(where, " AND ")

    async def claim(self, limit: int, *, lease_seconds: float, ids: Sequence[int] | None = None,
                    exclude: Collection[int] = ()) -> list[dict[str, Any]]:
        """Marks up to `limit` due rows `sending` for this sender, leased for `lease_seconds`, and
        returns them by id. `ids` narrows the candidates (tests, the office's "send again");
        `exclude` leaves out rows this run already tried."""
        at = now()
        lease = at + dt.timedelta(seconds=lease_seconds)
        table, where, returning = self._table(), self._due(at, ids, exclude), QueryString(self.returning)
        claim = QueryString("UPDATE {} SET status = 'sending', attempts = attempts + 1, next_attempt_at = {} ", table, lease)
        async with db.atomic():
            if isinstance(db.engine(), PostgresEngine):
                locked = await run("SELECT id FROM {} WHERE {} ORDER BY id LIMIT {} FOR UPDATE SKIP LOCKED",
                                   table, where, int(limit))
                if not locked:
                    return []
                rows = await run("{}WHERE id IN ({}) RETURNING {}", claim, db.ids(r["id"] for r in locked), returning)
            else:
                rows = await run("{}WHERE id IN (SELECT id FROM {} WHERE {} ORDER BY id LIMIT {}) AND {} RETURNING {}",
                                 claim, table, where, int(limit), where, returning)
        return sorted(rows, key=lambda r: r["id"])

    async def _finish(self, row_id: int, status: str, columns: dict[str, Any]) -> None:
        """Sets `status` and `columns` on a row this sender still holds (status `sending`)."""
        names = db.joined(QueryString("{} = {}", db.identifier(name), value) for name, value in columns.items())
        await run("UPDATE {} SET status = {}, {} WHERE id = {} AND status = 'sending'", self._table(), status, names, row_id)

    async def delivered(self, row: dict[str, Any], status: str, **columns: Any) -> None:
        """Records a delivery: `status` (sent, delivered) and the sender's own columns."""
        await self._finish(int(row["id"]), status, {"next_attempt_at": None, "last_error": "", **columns})

    async def failed(self, row: dict[str, Any], error: str, policy: RetryPolicy, *, permanent: bool = False,
                     **columns: Any) -> str:
        """Back to the queue with a later `next_attempt_at` while the retry period lasts ("retry"),
        else, or at once when `permanent`, dead ("dead"). `columns` are the sender's own."""
        at = now()
        since = db.as_datetime(row.get("failing_since")) or at
        give_up = since + policy.period()
        recorded = {"last_error": error[:1000], "failing_since": since, **columns}
        if permanent or at >= give_up:
            await self._finish(int(row["id"]), "dead", {"next_attempt_at": None, **recorded})
            return "dead"
        # The last retry falls on the end of the period, so the row gets the whole period.
        retry_at = min(at + dt.timedelta(seconds=policy.backoff(int(row["attempts"]))), give_up)
        await self._finish(int(row["id"]), "queued", {"next_attempt_at": retry_at, **recorded})
        return "retry"

    async def release(self, rows: Sequence[dict[str, Any]], *, attempted: bool = False) -> None:
        """Claimed rows this sender will not finish (it is stopping) go back to the queue, due at
        once, so another process sends them now rather than after the lease. An attempt that never
        started is not counted."""
        if not rows:
            return
        uncount = QueryString("" if attempted else ", attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END")
        await run("UPDATE {} SET status = 'queued', next_attempt_at = NULL{} WHERE id IN ({}) AND status = 'sending'",
                  self._table(), uncount, db.ids(r["id"] for r in rows))


async def until_signal(coro: Coroutine[Any, Any, T]) -> T | None:
    """`conference send-mail` / `send-webhooks`: SIGTERM or SIGINT stops the sender as a server
    shutdown does (the delivery in flight is finished, the rest of the batch queued again) instead
    of killing it mid-delivery. None when it was stopped so."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # this caller is being cancelled, not the sender stopped by a signal
        return None
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
