"""A password in clear, checked against the cheapest verifier the account already stores.

An account with a password keeps two verifiers of it: the argon2id hash (``users``)
and its SCRAM keys (``scram_credentials``, RFC 5802 §3, PBKDF2 at
``TIDINGS_XMPP_SCRAM_ITERATIONS``). Whoever copies the database attacks the cheaper
of the two, so the SCRAM keys already set how hard an offline guess is; checking a
password in clear against them (PBKDF2 once, about 1 ms, instead of argon2id's
~20 ms) gives an attacker nothing new, and online guessing is bounded by the login
limits either way. This is how Prosody (``internal_hashed``) and ejabberd
(``auth_password_format: scram``) check SASL PLAIN.

The argon2id hash is still checked when there are no current SCRAM keys: an account
made before SCRAM, or a password SASLprep refuses (it gets no SCRAM keys at all).
An unknown account costs a PBKDF2 of the same size, so the time of a refusal does
not say whether the account exists (only accounts without SCRAM keys take longer).
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass

from tidings.core.passwords import verify_password
from tidings.core.scram_keys import SaslPrepError, ScramKeys, derive

#: The hash whose keys check a password in clear (both are stored; SHA-256 is the newer).
CLEAR_TEXT_HASH = "SHA-256"
_DUMMY_SALT = b"\0" * 16


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """What a check found: whether the password is right, and whether it went through
    current SCRAM keys (when not, the caller may store them now)."""

    matches: bool
    used_scram_keys: bool


def _scram_matches(keys: ScramKeys, password: str) -> bool:
    try:
        candidate = derive(keys.hash_name, password, keys.salt, keys.iterations)
    except SaslPrepError:
        return False  # the stored password passed SASLprep; this one cannot be it
    return hmac.compare_digest(candidate.stored_key, keys.stored_key)


def _dummy_work(iterations: int) -> bool:
    derive(CLEAR_TEXT_HASH, "not a password", _DUMMY_SALT, iterations)
    return False


async def check_password(
    password_hash: str | None, keys: ScramKeys | None, password: str, *, iterations: int
) -> PasswordCheck:
    """Check ``password`` for an account with ``password_hash`` (None: unknown account,
    or one without a password) and SCRAM ``keys`` (None: none stored). ``iterations``
    is the configured SCRAM count: keys made with another count are not current."""
    if password_hash is None:
        await asyncio.to_thread(_dummy_work, iterations)
        return PasswordCheck(matches=False, used_scram_keys=True)
    if keys is not None:
        matches = await asyncio.to_thread(_scram_matches, keys, password)
        return PasswordCheck(matches, used_scram_keys=keys.iterations == iterations)
    return PasswordCheck(await verify_password(password_hash, password), used_scram_keys=False)
