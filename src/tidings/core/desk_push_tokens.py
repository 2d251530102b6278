"""Push tokens of service-desk devices, within the desk's own rate limits.

The desk keeps each installation's token in its own table (agent replies push
through it) and mirrors it into the core's device registry when the platform is
one the registry pushes to, so the rest of the server reaches the device too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tidings.core.desk_models import DeskIdentity, PushToken
from tidings.domain.errors import RateLimited
from tidings.store import tickets as store

if TYPE_CHECKING:
    from tidings.core.hub import Core

log = logging.getLogger("tidings.tickets")

PUSH_WINDOW_MS = 5 * 60_000


class DeskPushTokens:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def set(self, ident: DeskIdentity, push: PushToken) -> None:
        """Register (or, with no token, remove) this device's push token, at most
        ``desk_push_limit_user`` times (default 1) per 5 minutes per user and
        ``desk_push_limit_app`` (default 5) per app."""
        per_user = int(ident.app.config.get("desk_push_limit_user", 1))
        per_app = int(ident.app.config.get("desk_push_limit_app", 5))
        now = self.core.now_ms()
        since = now - PUSH_WINDOW_MS
        async with self.core.db.transaction() as conn:
            if (
                await store.count_push_calls(conn, since_ms=since, user_id=ident.user_id)
                >= per_user
            ):
                raise RateLimited(
                    "a push token may be set once per 5 minutes per user",
                    retry_after=PUSH_WINDOW_MS / 1000,
                )
            if await store.count_push_calls(conn, since_ms=since, app_id=ident.app.id) >= per_app:
                raise RateLimited(
                    "push tokens of this app may be set 5 times per 5 minutes in total",
                    retry_after=PUSH_WINDOW_MS / 1000,
                )
            await store.prune_push_calls(conn, since - PUSH_WINDOW_MS)
            await store.insert_push_call(
                conn, app_id=ident.app.id, user_id=ident.user_id, at_ms=now
            )
            await store.set_push_token(
                conn,
                user_id=ident.user_id,
                instance_id=ident.instance_id or ident.key,
                app_id=ident.app.id,
                token=push.token or "",
                type=push.kind[:64],
                updated_ms=now,
            )
        await self._mirror(ident, push)

    async def _mirror(self, ident: DeskIdentity, push: PushToken) -> None:
        """Mirror the token into the core's device registry, when there is one."""
        devices = getattr(self.core, "devices", None)
        if devices is None or push.platform is None:
            return
        device_id = f"desk:{ident.instance_id or ident.key}"[:200]
        try:
            if push.token:
                await devices.register(
                    ident.actor, platform=push.platform, token=push.token, device_id=device_id
                )
            else:
                await devices.unregister(ident.actor, device_id)
        except Exception:  # the desk's own table already holds the token
            log.exception("could not mirror a desk push token into core.devices")
