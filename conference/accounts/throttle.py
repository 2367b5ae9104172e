"""Brute-force protection (ASVS 2.2.1): failed log-ins, wrong old passwords and guessed reply or
feed links are counted per key in the database (table `login_throttle`), so every server process
sees the same count. Past a number of free failures a key is locked for an exponentially growing
time, capped at `cap` seconds: a lock always ends.

The keys are chosen so that an attacker cannot lock the real user out:

- `(account, address)`: a few wrong passwords from one address lock that account *from that
  address* only; the owner logging in from elsewhere is not affected.
- `address`: a generous limit on failures for any account from one address (password spraying).
- `link address`: wrong /r/<token> or /feeds/<token>.ics addresses from one address.

Attempts refused while a key is locked are not counted, so a lock never outlasts its window
because the attacker kept trying; the first failure after the window locks again, for longer.
A success clears the (account, address) key. Keys are stored as SHA-256 digests."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Any

from conference import db
from conference.accounts.tables import LoginThrottle
from conference.timefmt import now


@dataclass(frozen=True)
class Policy:
    free: int  # the failure that locks for the first time
    base: float  # seconds of the first lock; doubled for every further failure
    cap: float  # the longest lock
    forget: float = 3600.0  # a key without failures for this long starts again from zero


PAIR = Policy(free=5, base=30, cap=900)
ADDRESS = Policy(free=100, base=60, cap=900)
LINK = Policy(free=50, base=60, cap=900)  # the tokens carry 192 bits or more: this only slows a scan


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def client_address(request: Any) -> str:
    """The peer address as the ASGI server reports it (uvicorn applies X-Forwarded-For only from
    trusted proxies, so a client cannot choose its own key)."""
    client = getattr(request, "client", None)
    return client.host if client and client.host else "unknown"


def account_key(username: str, address: str) -> str:
    return f"account|{username.strip().casefold()}|{address}"


def address_key(address: str) -> str:
    return f"address|{address}"


def link_key(address: str) -> str:
    return f"link|{address}"


async def retry_after(*keys: str) -> int:
    """Seconds until every given key is unlocked (0: none is locked)."""
    # Through the reused read connection (db.fetch): this runs before every feed poll and reply link.
    digests = [_digest(k) for k in keys]
    rows = await db.fetch("SELECT locked_until FROM login_throttle WHERE key_hash IN ({})", db.listed(digests))
    current = now()
    waits = [(until - current).total_seconds() for r in rows if (until := db.as_datetime(r["locked_until"])) and until > current]
    return max((math.ceil(w) for w in waits), default=0)


def lock_seconds(failures: int, policy: Policy) -> float:
    """0 below `free` failures; at `free`, base seconds, then 2 x base, 4 x base ... up to cap."""
    over = failures - policy.free
    if over < 0:
        return 0.0
    return min(policy.base * 2 ** min(over, 30), policy.cap)


async def failed(key: str, policy: Policy) -> None:
    """Count one failure for `key`, locking it when past the free ones."""
    digest = _digest(key)
    current = now()
    async with db.atomic():
        await LoginThrottle.insert(LoginThrottle(key_hash=digest, failures=0, locked_until=None, updated_at=current)).on_conflict(
            target=LoginThrottle.key_hash, action="DO NOTHING")
        row = await LoginThrottle.select().where(LoginThrottle.key_hash == digest).first()
        if row is None:  # removed by a success in between: nothing to add to
            return
        await db.lock_row(LoginThrottle, row["id"])
        row = await LoginThrottle.select().where(LoginThrottle.id == row["id"]).first()
        if row is None:
            return
        updated = db.as_datetime(row["updated_at"]) or current
        failures = int(row["failures"]) if (current - updated).total_seconds() < policy.forget else 0
        failures += 1
        seconds = lock_seconds(failures, policy)
        until = current + dt.timedelta(seconds=seconds) if seconds else None
        await LoginThrottle.update({LoginThrottle.failures: failures, LoginThrottle.locked_until: until,
                                    LoginThrottle.updated_at: current}).where(LoginThrottle.id == row["id"])
        if until is not None:  # now and then, forget keys nobody has used for a day
            await LoginThrottle.delete().where(LoginThrottle.updated_at < current - dt.timedelta(days=1))


async def succeeded(key: str) -> None:
    await LoginThrottle.delete().where(LoginThrottle.key_hash == _digest(key))


def wait_message(seconds: int) -> str:
    from conference.i18n import gettext as _

    minutes = max(1, math.ceil(seconds / 60))
    return _("尝试次数过多，请 {minutes} 分钟后再试。").format(minutes=minutes)
