"""XmppGateway: what every transport shares on one node.

The core, the JID scheme, the registry that feeds sessions from the bus, the
sessions waiting for XEP-0198 resumption, and the TLS context for STARTTLS.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from typing import TYPE_CHECKING

from tidings.core.errors import DomainError
from tidings.core.models import Actor
from tidings.core.system_messages import SystemMessageService
from tidings.gateways.xmpp.jid import Addressing
from tidings.gateways.xmpp.registry import SessionRegistry

if TYPE_CHECKING:
    from tidings.core.hub import Core
    from tidings.gateways.xmpp.connection import Link, Session

log = logging.getLogger("tidings.gateways.xmpp")


class XmppGateway:
    def __init__(self, core: Core, ssl_context: ssl.SSLContext | None = None) -> None:
        self.core = core
        self.addressing = Addressing(core.settings.xmpp_domain)
        self.registry = SessionRegistry()
        self.sessions_by_sm_id: dict[str, Session] = {}
        self.links: set[Link] = set()
        self.ssl_context = ssl_context
        self.system = SystemMessageService(core)

    async def start(self) -> None:
        self.registry.attach(self.core.bus)

    async def stop(self) -> None:
        self.registry.detach()
        for link in list(self.links):
            with contextlib.suppress(Exception):
                link.shutdown()
        for session in list(self.registry.sessions()):
            await session.end()  # type: ignore[attr-defined]

    async def verify(self, app_id: int, user_id: int, secret: str, peer: str) -> Actor | None:
        """The user behind SASL PLAIN: a live session token of theirs, or their password."""
        try:
            actor = await self.core.auth.authenticate(secret)
        except DomainError:
            actor = None
        if actor is not None:
            return actor if (actor.app_id, actor.user_id) == (app_id, user_id) else None
        try:
            user = await self.core.users.get_user(Actor(app_id, user_id), user_id)
            session = await self.core.auth.login(app_id, user.login, secret, client_address=peer)
        except DomainError:
            return None
        if session.user_id != user_id:
            return None
        return Actor(app_id=app_id, user_id=user_id, role=user.role)
