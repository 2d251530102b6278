"""Who a service-desk client is: an app's anonymous device or its verified user.

The gateway reads the claim off the wire (:class:`~tidings.core.desk_models.DeskClaim`);
here the core decides whether to believe it: a user with a security key is checked
with the app's authorization service, an unverified user is accepted only where
the app allows it, and once an app uses external authorization its anonymous
chats are refused. Each identity is a core user of the app (``desk:<device>`` or
``desk-ext:<user>``), created on first sight.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from tidings.core.desk_models import DeskClaim, DeskIdentity
from tidings.domain.errors import Conflict, Forbidden
from tidings.domain.models import App
from tidings.store import apps as users_store

if TYPE_CHECKING:
    from tidings.core.hub import Core


class DeskIdentities:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def find_app(self, desk_app_id: str) -> App:
        app = await self.core.apps.find_by_desk_app_id(desk_app_id) if desk_app_id else None
        if app is None:
            raise Forbidden("unknown app_id", code="unknown_app")
        return app

    async def identify(self, desk_app_id: str, claim: DeskClaim) -> DeskIdentity:
        """Resolve the caller. Refusals are :class:`Forbidden` (the client's
        "authorization failed"); a failing authorization service is
        :class:`~tidings.core.desk_auth.AuthUnavailable`."""
        app = await self.find_app(desk_app_id)
        if claim.user and claim.security_key:
            await self.core.desk_auth.verify(app, claim.user, claim.security_key)
            kind, key = "ext", claim.user
        elif claim.security_key:
            raise Forbidden("a security key needs a user id", code="auth_refused")
        elif claim.device:
            kind, key = "anon", claim.device
        elif not claim.user:
            raise Forbidden("a device id or a user id is required", code="auth_refused")
        elif app.config.get("desk_allow_unverified"):
            kind, key = "ext", claim.user
        else:
            raise Forbidden("a user id needs a security_key", code="auth_refused")
        if kind == "anon" and app.auth_url:
            # Once an app uses external authorization, anonymous chats vanish.
            raise Forbidden("this app requires external authorization", code="auth_refused")
        name = claim.author_name if claim.author_name and claim.author_name.strip() else None
        login = f"desk:{key}" if kind == "anon" else f"desk-ext:{key}"
        uid = await self.user_for(app, login, name)
        return DeskIdentity(app=app, kind=kind, key=key, user_id=uid, instance_id=claim.instance_id)

    async def user_for(self, app: App, login: str, name: str | None) -> int:
        """The core user with ``login`` (created on first sight); ``name`` renames it."""
        async with self.core.db.read() as conn:
            found = await users_store.get_user_by_login(conn, app.id, login)
        if found is not None:
            user = found[0]
            if name and user.full_name != name[:200]:
                async with self.core.db.transaction() as conn:
                    await users_store.update_user(conn, user.id, full_name=name[:200])
            return user.id
        try:
            user = await self.core.users.create_user(
                app.id,
                login=login,
                password=secrets.token_urlsafe(24),
                full_name=(name or "Guest")[:200],
            )
            return user.id
        except Conflict:
            async with self.core.db.read() as conn:
                found = await users_store.get_user_by_login(conn, app.id, login)
            assert found is not None
            return found[0].id
