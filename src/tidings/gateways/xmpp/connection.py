"""One socket (:class:`Link`) and one bound resource (:class:`Session`); no sockets here.

A transport hands a :class:`Link` the bytes it reads and gives it a small
:class:`LinkTransport` to write, close and (TCP) start TLS. The link feeds its
:class:`~protocol.XmppStream`, answers authentication and binding with the core,
and passes stanzas to :mod:`dispatch`.

A :class:`Session` is what binding creates: the user's full JID, its XEP-0198
state and its place in the registry, so it hears domain events from the bus. It
outlives its link when stream management allows resumption: stanzas for a
detached session are kept unacknowledged and sent again on ``<resume/>``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
from typing import TYPE_CHECKING, Any, Protocol
from xml.etree.ElementTree import Element

from tidings.core.errors import DomainError
from tidings.core.models import Actor
from tidings.gateways.xmpp import dispatch, outbound
from tidings.gateways.xmpp.events import (
    AuthRequested,
    BindRequested,
    NonzaReceived,
    ResumeRequested,
    StanzaReceived,
    StartTlsRequested,
    StreamClosed,
)
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.protocol import SM, XmppStream
from tidings.gateways.xmpp.stanza import E
from tidings.gateways.xmpp.xep_0198 import handler as sm_handler
from tidings.gateways.xmpp.xep_0198.stanza import StreamManagement

if TYPE_CHECKING:
    from tidings.gateways.xmpp.gateway import XmppGateway

log = logging.getLogger("tidings.gateways.xmpp")

#: Domain events queued per session before it counts as too slow.
EVENT_QUEUE = 1000


class LinkTransport(Protocol):
    def write(self, frames: list[bytes]) -> None: ...

    def close(self) -> None: ...

    async def start_tls(self) -> None: ...

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
            self.stream.tls_established()
        elif isinstance(event, AuthRequested):
            await self._authenticate(event)
        elif isinstance(event, BindRequested):
            await self._bind(event)
        elif isinstance(event, ResumeRequested):
            await self._resume(event)
        elif isinstance(event, StanzaReceived) and self.session is not None:
            if self.session.sm is not None:
                self.session.sm.received()
            await dispatch.stanza(self.session, event.element)
        elif isinstance(event, NonzaReceived) and self.session is not None:
            sm_handler.handle(self.session, event.element)
        elif isinstance(event, StreamClosed):
            await self._closed(event)

    async def _authenticate(self, event: AuthRequested) -> None:
        creds = event.credentials
        try:
            local = JID.parse(creds.authcid).local if "@" in creds.authcid else creds.authcid
            user_id, app_id = parse_user_local(local)
        except JidError:
            self.stream.auth_failed("not-authorized")
            return
        actor = await self.gateway.verify(app_id, user_id, creds.password, self.transport.peer)
        if actor is None:
            self.stream.auth_failed("not-authorized")
            return
        self.actor = actor
        self.stream.auth_succeeded()

    async def _bind(self, event: BindRequested) -> None:
        assert self.actor is not None
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

    async def _closed(self, event: StreamClosed) -> None:
        session, self.session = self.session, None
        if session is None or session.link is not self:
            return
        if event.error == "connection-lost" and session.sm is not None and session.sm.resumable:
            session.detach()
        else:
            await session.end()


class Session:
    """A bound resource: identity, stream management, carbons, and its bus events."""

    def __init__(self, gateway: XmppGateway, actor: Actor, resource: str) -> None:
        self.gateway = gateway
        self.core = gateway.core
        self.addressing = gateway.addressing
        self.actor = actor
        self.app_id = actor.app_id
        self.user_id = actor.user_id
        self.jid = self.addressing.user(actor.user_id, actor.app_id, resource)
        self.link: Link | None = None
        self.sm: StreamManagement | None = None
        self.carbons = False
        self.available = False
        self.roster_requested = False
        self.wants_receipts = False
        self.dialog_types: dict[str, str] = {}
        self.private_dialogs: dict[int, str] = {}
        # Made on the first event; a task runs only while it is non-empty, so an idle
        # session holds neither a task nor a queue.
        self._events: collections.deque[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._presence_id: str | None = None
        self.ended = False

    # -- life cycle ----------------------------------------------------------------

    def attach(self, link: Link) -> None:
        self.link = link
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def detach(self) -> None:
        """The socket died; keep the session for ``<resume/>`` a while."""
        self.link = None
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(
            sm_handler.RESUME_SECONDS, lambda: asyncio.ensure_future(self.end())
        )

    async def start(self) -> None:
        self.gateway.registry.add(self)
        try:
            self._presence_id = await self.core.presence.connect(self.actor)
        except Exception:  # presence is best effort; the session works without it
            log.exception("could not record XMPP presence")

    async def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.gateway.registry.remove(self)
        if self.sm is not None:
            self.gateway.sessions_by_sm_id.pop(self.sm.id, None)
        if self._expiry is not None:
            self._expiry.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._presence_id is not None:
            with contextlib.suppress(Exception):
                await self.core.presence.disconnect(self._presence_id)

    # -- output ----------------------------------------------------------------------

    def send(self, stanza: Element) -> None:
        """Send a stanza, counted for XEP-0198 and kept until acked."""
        if self.sm is not None:
            self.sm.sending(stanza)
        if self.link is not None:
            self.link.write_element(stanza)

    def write_nonza(self, element: Element) -> None:
        if self.link is not None:
            self.link.write_element(element)

    def close_with_error(self, condition: str, text: str) -> None:
        if self.link is not None:
            self.link.stream.send_stream_error(condition, text)
            self.link.flush()

    # -- registry subscriber ------------------------------------------------------------

    def push(self, event: Any) -> bool:
        """Deliver a bus event, or queue it; False when the session is too far behind.

        With nothing queued and the dialog's type known, the stanzas are written right
        here: a fan-out to 1,000 sessions is then one loop rather than 1,000 tasks. An
        event that needs a lookup, or arrives behind queued ones, waits for the task.
        """
        if self._events is None:
            if self.ended:
                return True
            if outbound.lookup_needed(self, event) is None:
                self._deliver(event)
                return True
            self._events = collections.deque()
        elif len(self._events) >= EVENT_QUEUE:
            return False
        self._events.append(event)
        if self._task is None and not self.ended:
            self._task = asyncio.get_running_loop().create_task(self._follow())
        return True

    def _deliver(self, event: Any) -> None:
        try:
            for stanza in outbound.stanzas_for(self, event):
                self.send(stanza)
        except DomainError:
            pass  # e.g. the dialog went away between the event and now
        except Exception:
            log.exception("could not deliver %s over XMPP", type(event).__name__)

    def kick(self, condition: str, text: str) -> None:
        self.close_with_error(condition, text)
        asyncio.ensure_future(self.end())

    async def _follow(self) -> None:
        """Deliver queued events in order; ends when the queue is empty (push restarts it)."""
        events = self._events
        assert events is not None
        try:
            while events:
                # The deque stays in place while we wait: push() keeps queueing behind us.
                event = events.popleft()
                dialog_id = outbound.lookup_needed(self, event)
                if dialog_id is not None:
                    try:
                        await outbound.dialog_type(self, dialog_id)
                    except DomainError:
                        continue  # the dialog went away between the event and now
                    except Exception:
                        log.exception("could not look up dialog %s for XMPP", dialog_id)
                        continue
                self._deliver(event)
        finally:
            self._task = None
            if not events:
                self._events = None
