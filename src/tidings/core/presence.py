"""Presence: a user is online while any node holds a live connection of theirs.

Connections are rows refreshed by their node; if a node dies its rows stop
counting after ``presence_timeout`` seconds and are swept, so presence heals
without the dead node's help. Changes go to the user's confirmed contacts.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from tidings.domain.errors import NotFound
from tidings.domain.events import PresenceChanged
from tidings.domain.models import Actor, Presence
from tidings.store import apps as users_store
from tidings.store import social as store

if TYPE_CHECKING:
    from tidings.core.hub import Core


class PresenceService:
    def __init__(self, core: Core) -> None:
        self.core = core

    def _alive_after(self) -> int:
        return self.core.now_ms() - self.core.settings.presence_timeout * 1000

    async def connect(self, actor: Actor) -> str:
        """Record a live connection; returns its id for :meth:`disconnect`."""
        connection_id = secrets.token_hex(16)
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            was_online = await store.count_live_connections(
                conn, actor.user_id, self._alive_after()
            )
            await store.insert_connection(
                conn,
                id=connection_id,
                user_id=actor.user_id,
                app_id=actor.app_id,
                node_id=self.core.settings.node_id,
                seen_ms=now,
            )
            await users_store.update_user(conn, actor.user_id, last_activity_ms=now)
            contacts = await store.confirmed_contact_ids(conn, actor.user_id)
        if not was_online:
            await self._announce(actor.app_id, actor.user_id, True, now, contacts)
        return connection_id

    async def disconnect(self, connection_id: str) -> None:
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            row = await store.delete_connection(conn, connection_id)
            if row is None:
                return
            still = await store.count_live_connections(conn, row.user_id, self._alive_after())
            await users_store.update_user(conn, row.user_id, last_activity_ms=now)
            contacts = await store.confirmed_contact_ids(conn, row.user_id)
        if not still:
            await self._announce(row.app_id, row.user_id, False, now, contacts)

    async def heartbeat(self) -> None:
        """Refresh this node's connections and sweep those of nodes that went silent."""
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            await store.touch_node(conn, self.core.settings.node_id, now)
            stale = await store.delete_stale_connections(conn, self._alive_after())
            gone = []
            for row in {r.user_id: r for r in stale}.values():
                if not await store.count_live_connections(conn, row.user_id, self._alive_after()):
                    gone.append((row, await store.confirmed_contact_ids(conn, row.user_id)))
        for row, contacts in gone:
            await self._announce(row.app_id, row.user_id, False, row.seen_ms, contacts)

    async def get_presence(self, actor: Actor, user_id: int) -> Presence:
        async with self.core.db.read() as conn:
            user = await users_store.get_user(conn, actor.app_id, user_id)
            if user is None:
                raise NotFound(f"no user {user_id}", code="user_not_found")
            online = await store.count_live_connections(conn, user_id, self._alive_after())
        return Presence(
            user_id=user_id, online=bool(online), last_activity_ms=user.last_activity_ms
        )

    async def online_among(self, user_ids: list[int]) -> set[int]:
        async with self.core.db.read() as conn:
            return await store.online_users(conn, user_ids, self._alive_after())

    async def _announce(
        self, app_id: int, user_id: int, online: bool, at_ms: int, contacts: list[int]
    ) -> None:
        await self.core.publish(
            PresenceChanged(
                app_id=app_id,
                recipients=(user_id, *contacts),
                user_id=user_id,
                online=online,
                last_activity_ms=at_ms,
            )
        )
