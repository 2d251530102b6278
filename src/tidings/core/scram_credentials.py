"""Logins with SCRAM (RFC 5802, RFC 7677): the stored keys, the login limits, the upgrade.

A gateway speaking SCRAM asks :meth:`ScramCredentials.begin` for the keys of the
user a client names, and charges one attempt (:meth:`ScramLogin.charge`) to the
same limits a password login uses (``core/login_limits.py``) before checking the
client's proof, so SCRAM is no side door for guessing; :meth:`ScramLogin.succeeded`
gives it back once the proof is right.

Keys are written whenever a password is set (``core/users.py``). Accounts made
before SCRAM existed have only their argon2id hash, from which no SCRAM key can
be computed: :meth:`ScramCredentials.remember` derives them the next time such a
user logs in with the password in clear (PLAIN), and also re-derives keys made
with another iteration count than the configured one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tidings.core.login_limits import LoginAttempt, LoginLimits
from tidings.core.passwords import derive_scram_keys, verify_password
from tidings.core.scram_keys import SCRAM_HASHES, ScramKeys
from tidings.domain.models import Actor
from tidings.store import apps as users_store
from tidings.store import scram_credentials as store
from tidings.store.session_bindings import get_password_hash

if TYPE_CHECKING:
    from tidings.core.hub import Core

log = logging.getLogger("tidings.core.auth")


def key_rows(keys: Iterable[ScramKeys]) -> list[dict[str, object]]:
    """``scram_credentials`` rows for ``keys`` (the user id is added by the store)."""
    return [dataclasses.asdict(k) for k in keys]


def keys_from_row(row: Any) -> ScramKeys:
    """A ``scram_credentials`` row as :class:`ScramKeys` (drivers return memoryviews)."""
    return ScramKeys(
        hash_name=row.hash_name,
        salt=bytes(row.salt),
        iterations=row.iterations,
        stored_key=bytes(row.stored_key),
        server_key=bytes(row.server_key),
    )


@dataclass(slots=True)
class ScramLogin:
    """One SCRAM login in progress: the keys (None: unknown user, or no keys yet)."""

    keys: ScramKeys | None
    actor: Actor | None
    limits: LoginLimits
    account: str
    address: str
    _attempt: LoginAttempt | None = None

    async def charge(self) -> None:
        """Charge the attempt, right before the proof is checked (raises
        :class:`RateLimited`, nothing charged, when the budget is spent)."""
        app_id = self.actor.app_id if self.actor is not None else 0
        self._attempt = await self.limits.attempt(app_id, self.account, self.address)

    async def succeeded(self) -> Actor:
        """The proof was right: give the attempt back; the actor is who logged in."""
        assert self.actor is not None and self._attempt is not None
        await self._attempt.succeeded()
        return self.actor

    def failed(self) -> None:
        """A wrong proof: the attempt stays charged, and is counted."""
        from tidings.observability import LOGIN_FAILURES

        LOGIN_FAILURES.inc()


class ScramCredentials:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def begin(self, app_id: int, user_id: int, hash_name: str, address: str) -> ScramLogin:
        """The user's keys for ``hash_name``. Nothing is charged yet: a client trying
        each mechanism in turn with one password would otherwise pay for guesses
        it never made; the link charges before checking a proof
        (:meth:`ScramLogin.charge`), and charges an unknown user at once."""
        if hash_name not in SCRAM_HASHES:
            raise ValueError(f"no SCRAM-{hash_name}")
        async with self.core.db.read() as conn:
            user = await users_store.get_user(conn, app_id, user_id)
            row = await store.get(conn, app_id, user_id, hash_name) if user else None
        limits = self.core.auth.limits
        if user is None or not user.login:
            # Unknown ids are guesses too (as core/auth.py counts them).
            await limits.attempt(app_id, f"#{user_id}", address)
            return ScramLogin(None, None, limits, f"#{user_id}", address)
        actor = Actor(app_id=app_id, user_id=user_id, role=user.role)
        if row is None:
            log.info(
                "user %s of app %s has no SCRAM keys yet: one login with the password in "
                "clear (PLAIN) or a password change makes them",
                user_id,
                app_id,
                extra={"app_id": app_id, "user_id": user_id},
            )
            return ScramLogin(None, actor, limits, user.login, address)
        return ScramLogin(keys_from_row(row), actor, limits, user.login, address)

    async def remember(self, user_id: int, password: str) -> bool:
        """After ``password`` logged the user in: store SCRAM keys for it if the user has
        none, or has them with another iteration count. True when keys were written.

        The password is checked again against the hash read here, and the keys are
        written only if that hash is still the user's, so a password changed meanwhile
        never gets keys of the old one."""
        wanted = self.core.settings.scram_iterations
        async with self.core.db.read() as conn:
            counts = await store.iterations(conn, user_id)
            password_hash = await get_password_hash(conn, user_id)
        if counts == {wanted} or password_hash is None:
            return False
        if not await verify_password(password_hash, password):
            return False
        keys = await derive_scram_keys(password, wanted)
        if not keys:
            return False
        async with self.core.db.transaction() as conn:
            if await get_password_hash(conn, user_id) != password_hash:
                return False
            await store.replace(conn, user_id, key_rows(keys))
        log.info("stored SCRAM keys for user %s", user_id, extra={"user_id": user_id})
        return True
