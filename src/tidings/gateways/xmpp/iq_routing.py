"""iqs between users' resources (RFC 6120 §10.5.4), on this node or another.

An iq addressed to another user's full JID is the resource's to answer, not the
server's: it is handed to that session with ``from`` stamped as the sender's
full JID (§8.1.2.1) and its ``id`` untouched, and the answer (``result`` or
``error``) travels back the same way, to the requester's full JID.

A resource may be bound on any node. The session is looked up here first; when
it is elsewhere the stanza goes out on the bus as a
:class:`~tidings.domain.events.GatewayRelay` (``topic="iq"``), every node's
router looks for the resource among its own sessions, and the one that holds it
delivers it and, for a request, says so (``topic="iq_taken"``). A request that
no node takes within :data:`TAKE_SECONDS` (or whose user is not online at all)
is answered with ``service-unavailable`` by the server (§10.5.3.2, §8.5 via
§10.5.4), so a client never waits for an answer that cannot come. Relays name
no recipients, so no session receives them as domain events.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, ParseError, fromstring

from tidings.domain.events import Event, GatewayRelay
from tidings.domain.models import Actor
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.stanza import error_reply, serialize

if TYPE_CHECKING:
    from tidings.gateways.xmpp.gateway import XmppGateway
    from tidings.gateways.xmpp.session import Session

log = logging.getLogger("tidings.gateways.xmpp")

#: The ``gateway`` field of our relays.
GATEWAY = "xmpp"
#: How long a request waits for a node to say it holds the resource.
TAKE_SECONDS = 3.0


class IqRouter:
    """Hands iqs to full JIDs on any node; one per gateway (per node)."""

    def __init__(self, gateway: XmppGateway) -> None:
        self.gateway = gateway
        self.node = secrets.token_hex(8)
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.gateway.core.bus.subscribe(self._on_bus)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()

    # -- sending side --------------------------------------------------------------

    def target(self, session: Session, to: JID) -> int | None:
        """The user id behind ``to`` if it is a user of the session's app, else None."""
        if not session.addressing.is_local(to) or not to.local:
            return None
        try:
            user_id, app_id = parse_user_local(to.local)
        except JidError:
            return None
        return user_id if app_id == session.app_id else None

    def route(self, session: Session, iq: Element, to: JID, user_id: int) -> Element | None:
        """Hand ``iq`` to ``to`` (a full JID of ``user_id``); an error reply if it cannot be."""
        iq.set("from", str(session.jid))
        local = self._local(session.app_id, user_id, to.resource)
        if local is not None:
            local.send(iq)
            return None
        is_request = iq.get("type") in ("get", "set")
        key = secrets.token_hex(8) if is_request else ""
        relay = GatewayRelay(
            app_id=session.app_id,
            gateway=GATEWAY,
            topic="iq",
            payload={
                "user_id": user_id,
                "resource": to.resource,
                "stanza": serialize(iq),
                "node": self.node,
                "key": key,
            },
        )
        if is_request:
            self._waiting[key] = asyncio.get_running_loop().create_future()
        task = asyncio.get_running_loop().create_task(self._relay(session, iq, user_id, relay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def _relay(
        self, session: Session, iq: Element, user_id: int, relay: GatewayRelay
    ) -> None:
        key = relay.payload["key"]
        try:
            if key:
                presence = await self.gateway.core.presence.get_presence(
                    Actor(session.app_id, session.user_id), user_id
                )
                if not presence.online:
                    session.send(_unavailable(iq))
                    return
            await self.gateway.core.publish(relay)
            if key:
                try:
                    await asyncio.wait_for(self._waiting[key], TAKE_SECONDS)
                except TimeoutError:
                    session.send(_unavailable(iq))
        except Exception:
            log.exception("could not route an iq")
            if key:
                session.send(_unavailable(iq))
        finally:
            if key:
                self._waiting.pop(key, None)

    # -- receiving side ------------------------------------------------------------

    async def _on_bus(self, event: Event) -> None:
        """The bus handler: never waits (it queues a publish for the answer)."""
        if not isinstance(event, GatewayRelay) or event.gateway != GATEWAY:
            return
        p = event.payload
        try:
            if event.topic == "iq_taken":
                waiting = self._waiting.get(str(p["key"]))
                if p["node"] == self.node and waiting is not None and not waiting.done():
                    waiting.set_result(None)
            elif event.topic == "iq" and p["node"] != self.node:
                self._take(event.app_id, p)
        except (KeyError, TypeError, ValueError, ParseError):
            log.warning("xmpp: unreadable iq relay")

    def _take(self, app_id: int, p: dict[str, Any]) -> None:
        session = self._local(app_id, int(p["user_id"]), str(p["resource"]))
        if session is None:
            return
        session.send(fromstring(str(p["stanza"])))
        if p["key"]:
            taken = GatewayRelay(
                app_id=app_id,
                gateway=GATEWAY,
                topic="iq_taken",
                payload={"node": p["node"], "key": p["key"]},
            )
            task = asyncio.get_running_loop().create_task(self.gateway.core.publish(taken))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _local(self, app_id: int, user_id: int, resource: str) -> Session | None:
        for member in self.gateway.registry.of_user(app_id, user_id):
            session: Session = member  # type: ignore[assignment]
            if session.jid.resource == resource and not session.ended:
                return session
        return None


def _unavailable(iq: Element) -> Element:
    """§10.5.3.2: no such resource; the error comes from the JID that was asked."""
    return error_reply(iq, "service-unavailable")
