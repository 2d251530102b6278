"""Sessions: log in with a password, get a bearer token that expires.

Tokens are random; only their SHA-256 is stored, so a copy of the database
does not hand out live sessions. Password checks go through :mod:`.login_limits`,
which counts failures per client address and per account at that address, so a
flood of guesses is refused before it costs a hash and nobody else's failures
lock an owner out.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.login_limits import LoginLimits
from tidings.core.password_check import CLEAR_TEXT_HASH, PasswordCheck, check_password
from tidings.core.ratelimit import Limiter, create_limiter
from tidings.core.scram_credentials import keys_from_row
from tidings.core.scram_keys import ScramKeys
from tidings.domain.errors import InvalidInput, Unauthenticated
from tidings.domain.models import Actor, Session, User
from tidings.observability import note_app
from tidings.store import apps as store
from tidings.store import scram_credentials as scram_store

if TYPE_CHECKING:
    from tidings.core.hub import Core


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(self, core: Core) -> None:
        self.core = core
        #: Shared between nodes through Redis when the bus is Redis.
        self.limiter: Limiter = create_limiter(
            core.settings.bus_url, prefix=f"{core.settings.redis_namespace}:rl:"
        )
        self.limits = LoginLimits(self.limiter, core.settings)

    async def aclose(self) -> None:
        await self.limiter.aclose()

    async def login(
        self, app_id: int, login: str, password: str, *, client_address: str = ""
    ) -> Session:
        if not isinstance(login, str) or not isinstance(password, str) or not login:
            raise InvalidInput("login and password are required")
        attempt = await self.limits.attempt(app_id, login, client_address)
        async with self.core.db.read() as conn:
            found = await store.get_user_by_login(conn, app_id, login)
            user, password_hash = found if found else (None, None)
            keys = await self._clear_text_keys(conn, app_id, user)
        check = await self._check(password_hash, keys, password)
        if not check.matches or user is None:
            failed()
        await attempt.succeeded()
        return await self.create_session(app_id, user.id)

    async def check_user_password(
        self, app_id: int, user_id: int, password: str, *, client_address: str = ""
    ) -> tuple[User, PasswordCheck]:
        """A password login for a client that names the user by id (an XMPP JID) and
        needs no bearer token: the same limits as :meth:`login` (the account is the
        user's login, so failures over every protocol add up), and no write at all.
        Raises :class:`Unauthenticated` for a wrong password or an unknown user."""
        if not isinstance(password, str):
            raise InvalidInput("a password is required")
        async with self.core.db.read() as conn:
            found = await store.get_user_with_hash(conn, app_id, user_id)
            user, password_hash = found if found else (None, None)
            keys = await self._clear_text_keys(conn, app_id, user)
        if user is None or not user.login:
            # Unknown ids are guesses too: they count against the address.
            await self.limits.attempt(app_id, f"#{user_id}", client_address)
            await self._check(None, None, password)
            failed()
        attempt = await self.limits.attempt(app_id, user.login, client_address)
        check = await self._check(password_hash, keys, password)
        if not check.matches:
            failed()
        await attempt.succeeded()
        return user, check

    async def _clear_text_keys(
        self, conn: AsyncConnection, app_id: int, user: User | None
    ) -> ScramKeys | None:
        if user is None:
            return None
        row = await scram_store.get(conn, app_id, user.id, CLEAR_TEXT_HASH)
        return keys_from_row(row) if row is not None else None

    async def _check(
        self, password_hash: str | None, keys: ScramKeys | None, password: str
    ) -> PasswordCheck:
        return await check_password(
            password_hash, keys, password, iterations=self.core.settings.scram_iterations
        )

    async def create_session(self, app_id: int, user_id: int | None) -> Session:
        token = secrets.token_urlsafe(32)
        now = self.core.now_ms()
        expires = now + self.core.settings.session_ttl * 1000
        async with self.core.db.transaction() as conn:
            await store.insert_session(
                conn,
                token_hash=token_hash(token),
                app_id=app_id,
                user_id=user_id,
                created_ms=now,
                expires_ms=expires,
            )
            if user_id is not None:
                await store.update_user(conn, user_id, last_activity_ms=now)
        return Session(token=token, app_id=app_id, user_id=user_id, expires_ms=expires)

    async def authenticate(self, token: str | None) -> Actor:
        """The actor behind a bearer token, or :class:`Unauthenticated`."""
        if not token:
            raise Unauthenticated("a session token is required", code="token_required")
        async with self.core.db.read() as conn:
            row = await store.get_session(conn, token_hash(token))
        if row is None:
            raise Unauthenticated("unknown session token", code="invalid_token")
        if row.expires_ms <= self.core.now_ms():
            raise Unauthenticated("the session has expired; log in again", code="token_expired")
        note_app(row.app_id)  # for the request's access-log line
        if row.user_id is None:
            raise Unauthenticated("this session has no user; log in", code="user_required")
        return Actor(app_id=row.app_id, user_id=row.user_id, role=row.role or "user")

    async def logout(self, token: str) -> None:
        async with self.core.db.transaction() as conn:
            await store.delete_session(conn, token_hash(token))


def failed() -> NoReturn:
    """A wrong login or password: counted in metrics, the same answer for both."""
    from tidings.observability import LOGIN_FAILURES

    LOGIN_FAILURES.inc()
    raise Unauthenticated("wrong login or password", code="bad_credentials")
