"""Message stanzas the core keeps nothing of, routed live to a user's resources.

A chat marker or a receipt naming an id the server never stored (a message sent
around it, or one it forgot) changes no state in the core, yet the addressee's
clients want it (RFC 6120 §8.4, RFC 6121 §8.5.2.1.1). It goes out on the bus as a
:class:`~tidings.domain.events.GatewayRelay` (``topic="message"``) and every
node hands it to the available resources of the addressee it holds, with
``from`` stamped as the sender's full JID and ``to`` as the resource. Nothing is
stored: a resource that is offline does not get it, as with chat states.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.events import Event, GatewayRelay
from tidings.gateways.xmpp.stanza import serialize
from tidings.gateways.xmpp.xmlstream import XmlStreamError, parse_one

if TYPE_CHECKING:
    from tidings.gateways.xmpp.gateway import XmppGateway
    from tidings.gateways.xmpp.session import Session

log = logging.getLogger("tidings.gateways.xmpp")

GATEWAY = "xmpp"
TOPIC = "message"


async def send(session: Session, user_id: int, stanza: Element) -> None:
    """Route ``stanza`` from ``session`` to every available resource of ``user_id``."""
    stanza.set("from", str(session.jid))
    stanza.attrib.pop("to", None)
    relay = GatewayRelay(
        app_id=session.app_id,
        gateway=GATEWAY,
        topic=TOPIC,
        payload={"user_id": user_id, "stanza": serialize(stanza)},
    )
    await session.core.publish(relay)


class MessageRelay:
    """The receiving side, one per gateway: hands relayed stanzas to local sessions."""

    def __init__(self, gateway: XmppGateway) -> None:
        self.gateway = gateway
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.gateway.core.bus.subscribe(self._on_bus)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def _on_bus(self, event: Event) -> None:
        if not isinstance(event, GatewayRelay) or event.gateway != GATEWAY:
            return
        if event.topic != TOPIC:
            return
        try:
            user_id = int(event.payload["user_id"])
            text = str(event.payload["stanza"])
        except (KeyError, TypeError, ValueError):
            log.warning("xmpp: unreadable message relay")
            return
        sessions = [
            s
            for s in self.gateway.registry.of_user(event.app_id, user_id)
            if s.available and not s.ended  # type: ignore[attr-defined]
        ]
        for session in sessions:
            try:
                stanza = parse_one(text.encode())
            except XmlStreamError:
                return
            stanza.set("to", str(session.jid))  # type: ignore[attr-defined]
            session.send(stanza)  # type: ignore[attr-defined]
