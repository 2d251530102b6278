"""Presence: a user is online while any node holds a live connection of theirs.

Connections are rows refreshed by their node; if a node dies its rows stop
counting after ``presence_timeout`` seconds and are swept, so presence heals
without the dead node's help. Changes go to the user's confirmed contacts.

An XMPP connection also keeps, in its row, the presence its resource broadcast
(RFC 6121 §4: show, status, priority), so a login on any node can probe its
contacts' resources; each change goes on the bus as a ``ResourcePresenceChanged``
to the user's other resources and to the contacts subscribed to them.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from tidings.domain.errors import NotFound
from tidings.domain.events import PresenceChanged, ResourcePresenceChanged
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
        if row.presence is not None and row.resource is not None:
            await self._broadcast(row.app_id, row.user_id, row.resource, None)
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
        for dead in stale:  # RFC 6121 §4.6 / §4.5: a resource that vanished is unavailable
            if dead.presence is not None and dead.resource is not None:
                await self._broadcast(dead.app_id, dead.user_id, dead.resource, None)
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

    # -- per resource (RFC 6121 §4) -------------------------------------------------------

    async def set_resource(
        self, actor: Actor, connection_id: str, resource: str, presence: dict[str, Any] | None
    ) -> None:
        """§4.2/§4.4/§4.5: a broadcast presence (None: unavailable), kept and announced."""
        async with self.core.db.transaction() as conn:
            row = await store.get_connection(conn, connection_id)
            if row is None:
                return
            await store.set_connection_presence(conn, connection_id, resource, presence)
        if presence is None and row.presence is None:
            return  # unavailable while unavailable: nobody heard otherwise
        await self._broadcast(actor.app_id, actor.user_id, resource, presence)

    async def directed(
        self,
        actor: Actor,
        resource: str,
        to_user: int,
        to_resource: str | None,
        presence: dict[str, Any] | None,
    ) -> None:
        """§4.6: a presence for one user (or one of its resources), not the contacts."""
        await self.core.publish(
            _event(actor.app_id, actor.user_id, resource, presence, (to_user,), to_resource)
        )

    async def probe(self, actor: Actor) -> list[ResourcePresenceChanged]:
        """§4.3: the available resources of the contacts whose presence the user gets."""
        publishers = await self.core.contacts.publishers(actor.user_id)
        async with self.core.db.read() as conn:
            blocked = await store.blocked_either_way(conn, actor.user_id) if publishers else set()
            wanted = [u for u in publishers if u not in blocked]  # XEP-0016 §2.3, XEP-0191 §3.3
            rows = await store.available_resources(conn, wanted, self._alive_after())
        return [
            _event(r.app_id, r.user_id, r.resource or "", r.presence, (actor.user_id,))
            for r in rows
        ]

    async def replay(self, app_id: int, from_user: int, to_user: int, gone: bool = False) -> None:
        """A subscription changed: ``to_user`` gets ``from_user``'s resources' presence
        (§3.1.5), or hears they are unavailable (``gone``, §3.2.2, §3.3.3)."""
        async with self.core.db.read() as conn:
            rows = await store.available_resources(conn, [from_user], self._alive_after())
        events = [
            _event(app_id, from_user, r.resource or "", None if gone else r.presence, (to_user,))
            for r in rows
        ]
        if events:
            await self.core.publish(*events)

    async def restamp_avatar(self, actor: Actor, digest: str | None) -> None:
        """XEP-0153 §3.2: the avatar changed, so each available resource of the user
        announces its presence again with the new hash (``""``: no avatar any more)."""
        async with self.core.db.transaction() as conn:
            rows = await store.available_resources(conn, [actor.user_id], self._alive_after())
            stamped = []
            for row in rows:
                presence = {**(row.presence or {}), "avatar_hash": digest or ""}
                await store.set_connection_presence(conn, row.id, row.resource or "", presence)
                stamped.append((row.resource or "", presence))
        for resource, presence in stamped:
            await self._broadcast(actor.app_id, actor.user_id, resource, presence)

    async def _broadcast(
        self, app_id: int, user_id: int, resource: str, presence: dict[str, Any] | None
    ) -> None:
        """§4.2.2: to the user's own resources and every contact subscribed to it, but
        for those the user blocks or is blocked by (XEP-0016 §2.3, XEP-0191 §3.3)."""
        subscribers = await self.core.contacts.subscribers(user_id)
        if subscribers:
            async with self.core.db.read() as conn:
                blocked = await store.blocked_either_way(conn, user_id)
            subscribers = [u for u in subscribers if u not in blocked]
        await self.core.publish(
            _event(app_id, user_id, resource, presence, (user_id, *subscribers))
        )

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


def _event(
    app_id: int,
    user_id: int,
    resource: str,
    presence: dict[str, Any] | None,
    recipients: tuple[int, ...],
    to_resource: str | None = None,
) -> ResourcePresenceChanged:
    data = presence or {}
    priority = data.get("priority", 0)
    avatar_hash = data.get("avatar_hash")
    return ResourcePresenceChanged(
        app_id=app_id,
        recipients=recipients,
        user_id=user_id,
        resource=resource,
        available=presence is not None,
        show=data.get("show"),
        status=data.get("status"),
        priority=priority if isinstance(priority, int) else 0,
        to_resource=to_resource,
        avatar_hash=avatar_hash if isinstance(avatar_hash, str) else None,
    )
