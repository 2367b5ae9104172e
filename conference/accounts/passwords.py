"""Password hashing with Argon2id, run in a worker thread: a slow hash must not stall the event loop."""

from __future__ import annotations

import os

import anyio
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi defaults (RFC 9106 low-memory profile). The test suite alone sets
# ARGON2_CHEAPEST_FOR_TESTS=1 (tests/conftest.py): it hashes and verifies thousands of passwords, and the
# cost is stored in each hash, so a production database never holds such a hash.
_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if os.environ.get("ARGON2_CHEAPEST_FOR_TESTS") == "1" else PasswordHasher()
# Verified against when the username is unknown, so that both answers take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)
