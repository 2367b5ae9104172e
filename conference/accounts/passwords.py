"""Password hashing with Argon2id, run in a worker thread: a slow hash must not stall the event loop."""

from __future__ import annotations

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2-cffi defaults (RFC 9106 low-memory profile)
# Verified against when the username is unknown, so that both answers take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)
