"""Argon2id password hashing, off the event loop (hashing is deliberately slow)."""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tidings.core.scram_keys import ScramKeys, derive_all

# OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the login is unknown, so timing does not reveal which logins exist.
_DUMMY_HASH = _hasher.hash("not a password")


@functools.cache
def _hasher_for(memory_kib: int, iterations: int) -> PasswordHasher:
    return PasswordHasher(time_cost=iterations, memory_cost=memory_kib, parallelism=1)


async def hash_password(password: str, *, memory_kib: int = 19456, iterations: int = 2) -> str:
    """An argon2id hash at the given cost (settings ``password_hash_*``); verifying reads
    the cost from the hash, so hashes made at another cost keep working."""
    return await asyncio.to_thread(_hasher_for(memory_kib, iterations).hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


async def derive_scram_keys(password: str, iterations: int) -> tuple[ScramKeys, ...]:
    """RFC 5802 §3 stored keys for every SCRAM hash: PBKDF2, so off the loop too."""
    return await asyncio.to_thread(derive_all, password, iterations)
