"""XmppGateway: what every transport shares on one node.

The core, the JID scheme, the registry that feeds sessions from the bus, the
sessions waiting for XEP-0198 resumption, and the TLS context for STARTTLS.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tidings.core.catch_up import MARGIN_MS, Missed, missed_messages
from tidings.core.scram_credentials import ScramCredentials
from tidings.core.system_messages import SystemMessageService
from tidings.domain.errors import DomainError, RateLimited
from tidings.domain.models import Actor
from tidings.gateways.xmpp.ack_timer import AckTimer
from tidings.gateways.xmpp.iq_routing import IqRouter
from tidings.gateways.xmpp.jid import Addressing
from tidings.gateways.xmpp.registry import SessionRegistry
from tidings.gateways.xmpp.relay import MessageRelay
from tidings.gateways.xmpp.services import server_caps
from tidings.gateways.xmpp.xep_0115.handler import CapsResolver
from tidings.gateways.xmpp.xep_0359.ids import SentIds

if TYPE_CHECKING:
    from tidings.core.hub import Core
    from tidings.gateways.xmpp.connection import Link
    from tidings.gateways.xmpp.session import Session

log = logging.getLogger("tidings.gateways.xmpp")


class XmppGateway:
    def __init__(self, core: Core, ssl_context: ssl.SSLContext | None = None) -> None:
        self.core = core
        self.addressing = Addressing(core.settings.xmpp_domain)
        self.registry = SessionRegistry(self._missed, margin_ms=MARGIN_MS)
        self.sessions_by_sm_id: dict[str, Session] = {}
        self.links: set[Link] = set()
        self.ssl_context = ssl_context
        #: RFC 5929 §4.1 ``tls-server-end-point`` data of our certificate (SCRAM-*-PLUS).
        self.server_end_point: bytes | None = None
        #: SCRAM keys and the login limits they share with passwords (RFC 5802).
        self.scram = ScramCredentials(core)
        self.system = SystemMessageService(core)
        delay = core.settings.xmpp_ack_delay_ms
        #: None: each message carries its own request for confirmation (the default).
        self.ack_timer = AckTimer(delay) if delay > 0 else None
        #: iqs to full JIDs, on this node or through the bus (RFC 6120 §10.5.4).
        self.iq_router = IqRouter(self)
        #: Client ids of messages sent here, for receipts and markers (XEP-0359).
        self.sent_ids = SentIds()
        #: Markers and receipts for ids the core does not know, routed live.
        self.message_relay = MessageRelay(self)
        #: XEP-0115: the server's ``<c/>`` stream feature (§6.3) and its clients' caps.
        self.caps_feature = server_caps(core.settings)
        self.caps = CapsResolver()

    async def start(self) -> None:
        self.registry.attach(self.core.bus)
        self.iq_router.attach()
        self.message_relay.attach()

    async def _missed(self, users: Iterable[tuple[int, int]], since_ms: int) -> Missed:
        """What ``users`` were sent while the bus may have been away (registry.catch_up)."""
        limit = self.core.settings.catch_up_limit
        return await missed_messages(self.core, users, since_ms, limit=limit)

    async def stop(self) -> None:
        self.registry.detach()
        self.iq_router.detach()
        self.message_relay.detach()
        self.caps.close()
        if self.ack_timer is not None:
            self.ack_timer.cancel()
        for link in list(self.links):
            with contextlib.suppress(Exception):
                link.shutdown()
        for session in list(self.registry.sessions()):
            await session.end()  # type: ignore[attr-defined]

    async def verify(self, app_id: int, user_id: int, secret: str, peer: str) -> Actor | None:
        """The user behind SASL PLAIN: a live session token of theirs, or their password
        (which also gives an account from before SCRAM its SCRAM keys).

        Passwords go through the core's login limits; :class:`RateLimited` is raised
        for the link to answer ``<temporary-auth-failure/>``."""
        try:
            actor = await self.core.auth.authenticate(secret)
        except DomainError:
            actor = None
        if actor is not None:
            return actor if (actor.app_id, actor.user_id) == (app_id, user_id) else None
        try:
            user, check = await self.core.auth.check_user_password(
                app_id, user_id, secret, client_address=peer
            )
        except RateLimited:
            raise
        except DomainError:
            return None
        if not check.used_scram_keys:
            await self._remember_scram_keys(user_id, secret)
        return Actor(app_id=app_id, user_id=user.id, role=user.role)

    async def _remember_scram_keys(self, user_id: int, password: str) -> None:
        """The password was right: an account from before SCRAM gets its keys now, so
        its next login may use SCRAM (``core/scram_credentials.py``). The login does not
        depend on it."""
        try:
            await self.scram.remember(user_id, password)
        except Exception:
            log.exception("storing SCRAM keys for user %s failed", user_id)
