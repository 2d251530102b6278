"""One socket (:class:`Link`) speaking one stream; no sockets here.

A transport hands a :class:`Link` the bytes it reads and gives it a small
:class:`LinkTransport` to write, close and (TCP) start TLS. The link feeds its
:class:`~protocol.XmppStream`, answers authentication and binding with the core,
and passes stanzas to :mod:`dispatch`. Binding makes a
:class:`~session.Session`, which may outlive the link (XEP-0198 resumption).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING, Any, Protocol
from xml.etree.ElementTree import Element

from tidings.domain.errors import RateLimited
from tidings.domain.models import Actor
from tidings.gateways.xmpp import dispatch
from tidings.gateways.xmpp.events import (
    AuthRequested,
    BindRequested,
    NonzaReceived,
    ResumeRequested,
    SaslResponse,
    StanzaReceived,
    StartTlsRequested,
    StreamClosed,
)
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.protocol import SM, XmppStream
from tidings.gateways.xmpp.sasl import PlainCredentials, SaslError
from tidings.gateways.xmpp.scram import ClientFirst, ScramServer
from tidings.gateways.xmpp.session import Session
from tidings.gateways.xmpp.stanza import E
from tidings.gateways.xmpp.xep_0198 import handler as sm_handler
from tidings.gateways.xmpp.xep_0352 import handler as csi_handler

if TYPE_CHECKING:
    from tidings.core.scram_credentials import ScramLogin
    from tidings.gateways.xmpp.gateway import XmppGateway

log = logging.getLogger("tidings.gateways.xmpp")


def _user_of(authcid: str) -> tuple[int, int]:
    """``(user_id, app_id)`` of a SASL name: ``<userId>-<appId>`` or a JID with that local
    part; raises :class:`JidError`."""
    local = JID.parse(authcid).local if "@" in authcid else authcid
    return parse_user_local(local)


class LinkTransport(Protocol):
    def write(self, frames: list[bytes]) -> None: ...

    def close(self) -> None: ...

    async def start_tls(self) -> None: ...

    def channel_bindings(self) -> dict[str, bytes]: ...

    @property
    def peer(self) -> str: ...


class Link:
    """One accepted socket speaking one stream."""

    def __init__(self, gateway: XmppGateway, stream: XmppStream, transport: LinkTransport) -> None:
        self.gateway = gateway
        self.stream = stream
        self.transport = transport
        self.actor: Actor | None = None
        self.session: Session | None = None
        #: The SCRAM exchange waiting for the client-final-message, and its login.
        self._scram: tuple[ScramServer, ScramLogin] | None = None
        # A peer that has not authenticated in time is shut out (TIDINGS_AUTH_TIMEOUT).
        self._auth_timer: asyncio.TimerHandle | None = None
        timeout = gateway.core.settings.auth_timeout
        if timeout > 0:
            self._auth_timer = asyncio.get_running_loop().call_later(timeout, self._auth_timeout)

    def _auth_timeout(self) -> None:
        self._auth_timer = None
        if self.actor is None and not self.stream.closed:
            # RFC 6120 §4.9.3.4; Prosody closes unauthenticated streams the same way.
            self.stream.send_stream_error("connection-timeout", "authenticate in time")
            self.flush()

    def flush(self) -> None:
        frames = self.stream.data_to_send()
        if frames:
            self.transport.write(frames)
        if self.stream.closed:
            self.transport.close()

    def write_element(self, element: Element) -> None:
        self.stream.send(element)
        self.flush()

    async def data_received(self, data: bytes) -> None:
        self.stream.receive_data(data)
        await self._process()

    async def connection_lost(self) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        self.stream.receive_eof()
        await self._process()

    def shutdown(self) -> None:
        self.stream.close()
        self.flush()

    async def _process(self) -> None:
        self.flush()
        for event in self.stream.events_received():
            try:
                await self._handle(event)
            except Exception:
                log.exception("XMPP gateway failed on %s", type(event).__name__)
                self.stream.send_stream_error("internal-server-error")
            self.flush()

    async def _handle(self, event: Any) -> None:
        if isinstance(event, StartTlsRequested):
            self.flush()
            await self.transport.start_tls()
            self.stream.tls_established(self.transport.channel_bindings())
        elif isinstance(event, AuthRequested):
            if isinstance(event.credentials, ClientFirst):
                await self._scram_first(event.credentials)
            else:
                await self._authenticate(event.credentials)
        elif isinstance(event, SaslResponse):
            await self._scram_final(event.data)
        elif isinstance(event, BindRequested):
            await self._bind(event)
        elif isinstance(event, ResumeRequested):
            await self._resume(event)
        elif isinstance(event, StanzaReceived) and self.session is not None:
            if self.session.sm is not None:
                self.session.sm.received()
            await dispatch.stanza(self.session, event.element)
        elif isinstance(event, NonzaReceived) and self.session is not None:
            if event.element.tag.startswith(f"{{{csi_handler.NS}}}"):
                csi_handler.handle(self.session, event.element)
            else:
                sm_handler.handle(self.session, event.element)
        elif isinstance(event, StreamClosed):
            await self._closed(event)

    async def _authenticate(self, creds: PlainCredentials) -> None:
        try:
            user_id, app_id = _user_of(creds.authcid)
        except JidError:
            self.stream.auth_failed("not-authorized")
            return
        try:
            actor = await self.gateway.verify(app_id, user_id, creds.password, self.transport.peer)
        except RateLimited as exc:
            self._rate_limited(exc)
            return
        if actor is None:
            self.stream.auth_failed("not-authorized")
            return
        self._authenticated(actor, "PLAIN")

    def _authenticated(self, actor: Actor, mechanism: str, additional_data: bytes = b"") -> None:
        # DEBUG: which mechanism each client chose, for operators and the client tests.
        log.debug(
            "xmpp login: user %s of app %s with %s",
            actor.user_id,
            actor.app_id,
            mechanism,
            extra={"app_id": actor.app_id, "user_id": actor.user_id, "mechanism": mechanism},
        )
        self.actor = actor
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        self.stream.auth_succeeded(additional_data)

    async def _scram_first(self, first: ClientFirst) -> None:
        """RFC 5802 §5: find the user's keys and answer with the server-first-message.
        Without keys (unknown user, or an account that never logged in since SCRAM
        came) there is nothing to check a proof against: ``not-authorized`` now, not
        after a made-up salt (RFC 5802 §9 offers one to hide which accounts exist; our
        usernames are sequential user ids, which hide nothing)."""
        self._scram = None
        try:
            user_id, app_id = _user_of(first.username)
            if first.authzid and _user_of(first.authzid) != (user_id, app_id):
                raise SaslError("invalid-authzid", "one may act only as oneself")
        except JidError:
            self.stream.auth_failed("not-authorized")
            return
        except SaslError as exc:
            self.stream.auth_failed(exc.condition, exc.text)
            return
        try:
            login = await self.gateway.scram.begin(
                app_id, user_id, first.hash_name, self.transport.peer
            )
        except RateLimited as exc:
            self._rate_limited(exc)
            return
        if login.keys is None:
            self.stream.auth_failed("not-authorized")
            return
        binding = self.stream.channel_bindings.get(first.binding, b"") if first.binding else b""
        server = ScramServer(first, login.keys, binding)
        self._scram = (server, login)
        self.stream.sasl_challenge(server.server_first)

    async def _scram_final(self, data: bytes) -> None:
        """RFC 5802 §5: check the proof (charged to the login limits first)."""
        pending, self._scram = self._scram, None
        if pending is None:  # the stream saw a challenge the link did not send: a bug
            self.stream.auth_failed("malformed-request")
            return
        server, login = pending
        try:
            await login.charge()
        except RateLimited as exc:
            self._rate_limited(exc)
            return
        try:
            server_final = server.finish(data)
        except SaslError as exc:
            login.failed()
            self.stream.auth_failed(exc.condition, exc.text)
            return
        first = server.first
        mechanism = f"SCRAM-{first.hash_name}" + ("-PLUS" if first.binding else "")
        self._authenticated(await login.succeeded(), mechanism, server_final)

    def _rate_limited(self, exc: RateLimited) -> None:
        # RFC 6120 §6.5.9: temporary, try later; not a verdict on the password.
        wait = max(1, round(exc.retry_after))
        self.stream.auth_failed("temporary-auth-failure", f"too many failed logins; {wait} s")

    async def _bind(self, event: BindRequested) -> None:
        if self.actor is None:  # the stream's state machine binds only after SASL
            self.stream.send_stream_error("not-authorized")
            return
        # Long and random: the SDK drops messages whose "from" contains its own resource.
        resource = (
            f"{event.resource[:32]}-{secrets.token_hex(10)}"
            if event.resource
            else (f"tidings-{secrets.token_hex(12)}")
        )
        session = Session(self.gateway, self.actor, resource)
        self.session = session
        session.attach(self)
        self.stream.bind_succeeded(event.iq_id, str(session.jid))
        await session.start()

    async def _resume(self, event: ResumeRequested) -> None:
        session = self.gateway.sessions_by_sm_id.get(event.previd)
        resend = None
        if (
            session is not None
            and self.actor is not None
            and session.actor == self.actor
            and session.sm is not None
        ):
            resend = session.sm.resend_after(event.h)
        if session is None or resend is None or session.sm is None:
            self.stream.send(
                E(SM, "failed", {}, E("urn:ietf:params:xml:ns:xmpp-stanzas", "item-not-found"))
            )
            return
        old = session.link
        if old is not None and old is not self:
            old.session = None
            old.stream.send_stream_error("conflict", "the session was resumed elsewhere")
            old.flush()
        self.session = session
        session.attach(self)
        self.stream.resume_succeeded(event.previd, session.sm.handled)
        for stanza in resend:
            self.stream.send(stanza)
        session.resumed()

    async def _closed(self, event: StreamClosed) -> None:
        session, self.session = self.session, None
        if session is None or session.link is not self:
            return
        if event.error == "connection-lost" and session.sm is not None and session.sm.resumable:
            session.detach()
        else:
            # Only the peer's own closing tag is a clean end; a lost connection, or a
            # stream error of ours, may have left what we wrote unread.
            await session.end(clean=not event.error)
