"""Application sessions: a token that belongs to an app first and to a user later.

SDKs modelled on ConnectyCube/QuickBlox open a session with the app's key, then
log a user in *on the same token* (``POST /login``), and log out back to an app
session. The native API only knows user sessions, so this service adds the app
stage on the same ``sessions`` rows: ``user_id`` NULL until a login binds it.
A bound token is an ordinary session token, so it also works as an XMPP password
and as a native bearer token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tidings.core.auth import failed, token_hash
from tidings.core.passwords import verify_password
from tidings.domain.errors import InvalidInput, NotFound, Unauthenticated
from tidings.domain.models import Actor, App, User
from tidings.store import apps as apps_store
from tidings.store import session_bindings as store

if TYPE_CHECKING:
    from tidings.core.hub import Core


@dataclass(frozen=True, slots=True)
class AppSession:
    """A live token: its app, its user (None for an application session), its times."""

    token: str
    app_id: int
    user_id: int | None
    created_ms: int
    expires_ms: int

    @property
    def actor(self) -> Actor:
        """The caller as the core sees it; ``user_id`` 0 for an application session,
        which may read users and sign them up but owns no dialogs."""
        return Actor(app_id=self.app_id, user_id=self.user_id or 0)


class AppSessionService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def check_app(self, app_id: object, auth_key: object) -> App:
        """The app whose id and auth key these are, or :class:`Unauthenticated`."""
        try:
            number = int(str(app_id))
        except ValueError:
            raise Unauthenticated("unknown application", code="bad_app") from None
        async with self.core.db.read() as conn:
            app = await apps_store.get_app(conn, number)
        if (
            app is None
            or not isinstance(auth_key, str)
            or not secrets.compare_digest(app.auth_key, auth_key)
        ):
            raise Unauthenticated("unknown application or wrong auth key", code="bad_app")
        return app

    async def find_by_auth_key(self, auth_key: str) -> App:
        app = await self.core.apps.find_by_auth_key(auth_key)
        if app is None:
            raise Unauthenticated("unknown auth key", code="bad_app")
        return app

    async def open(self, app: App, user: User | None = None) -> AppSession:
        session = await self.core.auth.create_session(app.id, user.id if user else None)
        now = self.core.now_ms()
        return AppSession(session.token, app.id, session.user_id, now, session.expires_ms)

    async def resolve(self, token: str | None) -> AppSession:
        """The session behind a token. Unknown and expired tokens are the same
        ``session_missing`` error: clients react to both by opening a new session."""
        if not token:
            raise Unauthenticated("a session token is required", code="session_missing")
        async with self.core.db.read() as conn:
            row = await apps_store.get_session(conn, token_hash(token))
        if row is None or row.expires_ms <= self.core.now_ms():
            raise Unauthenticated("the session does not exist", code="session_missing")
        return AppSession(token, row.app_id, row.user_id, row.created_ms, row.expires_ms)

    async def verify(
        self,
        app_id: int,
        *,
        password: object,
        login: object = None,
        email: object = None,
        client_address: str = "",
    ) -> User:
        """The user these credentials name, under the native login's failure limits."""
        ident = login if login is not None else email
        if not isinstance(ident, str) or not ident or not isinstance(password, str):
            raise InvalidInput("login (or email) and password are required", field="login")
        attempt = await self.core.auth.limits.attempt(app_id, ident, client_address)
        async with self.core.db.read() as conn:
            if login is not None:
                found = await apps_store.get_user_by_login(conn, app_id, ident)
            else:
                found = await store.get_user_by_email(conn, app_id, ident)
        user, password_hash = found if found else (None, None)
        if not await verify_password(password_hash, password) or user is None:
            failed()
        await attempt.succeeded()
        return user

    async def check_password(self, actor: Actor, password: object) -> None:
        """Refuse a password change whose ``old_password`` is wrong."""
        async with self.core.db.read() as conn:
            password_hash = await store.get_password_hash(conn, actor.user_id)
        if not isinstance(password, str) or not await verify_password(password_hash, password):
            raise Unauthenticated("old password is wrong", code="bad_credentials")

    async def bind(self, session: AppSession, user: User) -> AppSession:
        """Make ``session``'s token belong to ``user`` from now on (the SDK keeps it)."""
        if user.app_id != session.app_id:
            raise NotFound(f"no user {user.id}", code="user_not_found")
        async with self.core.db.transaction() as conn:
            await store.update_session(conn, token_hash(session.token), user_id=user.id)
        return AppSession(
            session.token, session.app_id, user.id, session.created_ms, session.expires_ms
        )

    async def unbind(self, session: AppSession) -> None:
        """Log the user out but keep the token as an application session."""
        async with self.core.db.transaction() as conn:
            await store.update_session(conn, token_hash(session.token), user_id=None)

    async def close(self, session: AppSession) -> None:
        await self.core.auth.logout(session.token)
