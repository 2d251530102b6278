"""One bound resource (:class:`Session`): what it is sent and what it confirmed; no sockets.

Binding creates a session: the user's full JID, its XEP-0198 state and its place
in the registry, so it hears domain events from the bus. It outlives its link
when stream management allows resumption: stanzas for a detached session are kept
unacknowledged and sent again on ``<resume/>``.

Delivered means the client has it (ARCHITECTURE). Every stored message a session
writes is followed, in the same write, by a request the client must answer in
stream order (``<r/>`` with XEP-0198, else an XEP-0199 ping); the answer moves the
user's delivered marker (:mod:`confirmations`). What was never confirmed stays
after the marker, so the user's next session is handed it from the store
(:mod:`backfill`), whatever became of this one. The one exception: a client that
closes its stream cleanly without stream management read everything written
before our closing tag (RFC 6120 §4.4), so that counts as confirmed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

from tidings.core.delivered_marks import Audience, audience_for
from tidings.domain import events as ev
from tidings.domain.errors import DomainError
from tidings.domain.models import Actor
from tidings.fanout import SentSeqs
from tidings.gateways.xmpp import backfill, outbound
from tidings.gateways.xmpp.confirmations import Confirmations
from tidings.gateways.xmpp.muc import handler as muc_handler
from tidings.gateways.xmpp.muc import occupants as muc_occupants
from tidings.gateways.xmpp.presence import handler as presence_handler
from tidings.gateways.xmpp.xep_0115.stanza import Caps
from tidings.gateways.xmpp.xep_0198 import handler as sm_handler
from tidings.gateways.xmpp.xep_0198.stanza import StreamManagement, request
from tidings.gateways.xmpp.xep_0199.stanza import ping
from tidings.gateways.xmpp.xep_0352.hold import ClientState

if TYPE_CHECKING:
    from tidings.gateways.xmpp.connection import Link
    from tidings.gateways.xmpp.gateway import XmppGateway

log = logging.getLogger("tidings.gateways.xmpp")

#: Domain events queued per session before it counts as too slow.
EVENT_QUEUE = 1000

#: A stored message on its way: its ``to_dict()`` and who hears of its delivery.
Handed = tuple[dict[str, Any], Audience]


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
        #: Wall-clock ms of binding: messages stored before it were "offline" ones.
        self.bound_ms = self.core.clock.now_ms()
        self.link: Link | None = None
        self.sm: StreamManagement | None = None
        self.carbons = False
        #: RFC 6121 §4.2: initial presence sent (and no unavailable presence since).
        self.available = False
        #: Wall-clock ms of the initial presence; older messages are not news to it.
        self.available_since_ms = 0
        self.roster_requested = False
        #: RFC 6121 §2.6: it asked for the roster with a version, so pushes carry one.
        self.roster_versioned = False
        #: RFC 6121 §4.6: (user id, resource or None) given directed presence.
        self.directed: set[tuple[int, str | None]] = set()
        self.dialog_types: dict[str, str] = {}
        self.private_dialogs: dict[int, str] = {}
        #: The stored messages handed over, so none is handed twice.
        self.sent = SentSeqs()
        # Made on the first message written (an idle session holds none).
        self._confirmations: Confirmations[Handed] | None = None
        # Offline delivery (backfill): the running pass, whether another is due, and
        # live messages held back until it is done.
        self.backfill_task: asyncio.Task[None] | None = None
        self.backfill_wanted = False
        self.held: list[Any] | None = None
        # Made on the first event; a task runs only while it is non-empty, so an idle
        # session holds neither a task nor a queue.
        self._events: collections.deque[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._presence_id: str | None = None
        self.ended = False
        #: XEP-0352: made on the client's first ``<inactive/>``; holds what can wait.
        self.csi: ClientState | None = None
        #: XEP-0115: the caps its presence announced (None: none), and their features
        #: once verified (None while being resolved); :mod:`.xep_0115.handler`.
        self.caps: Caps | None = None
        self.features: frozenset[str] | None = None

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

    def resumed(self) -> None:
        """The stanzas after the client's ``h`` were written again: ask for their ack."""
        if self.csi is not None:  # XEP-0352 §5.2: a resumed stream starts active
            self.client_state(inactive=False)
        if self._confirmations and self.link is not None:
            self._confirmations.requested()
            self.link.write_element(request())

    async def start(self) -> None:
        self.gateway.registry.add(self)
        try:
            self._presence_id = await self.core.presence.connect(self.actor)
        except Exception:  # presence is best effort; the session works without it
            log.exception("could not record XMPP presence")

    async def end(self, *, clean: bool = False) -> None:
        """Leave the registry; ``clean``: the client closed its stream (RFC 6120 §4.4)."""
        if self.ended:
            return
        self.ended = True
        self.gateway.registry.remove(self)
        self.gateway.caps.ended(self)
        muc_handler.session_ended(self)  # XEP-0045 §7.14: it leaves its rooms
        if clean and self.sm is None and self._confirmations:
            self._confirm(self._confirmations.rest())
        if self.sm is not None:
            self.gateway.sessions_by_sm_id.pop(self.sm.id, None)
        if self._expiry is not None:
            self._expiry.cancel()
        for task in (self._task, self.backfill_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._presence_id is not None:
            with contextlib.suppress(Exception):
                await presence_handler.ended(self)  # §4.6.3: directed ones hear it too
            with contextlib.suppress(Exception):
                await self.core.presence.disconnect(self._presence_id)

    # -- presence ----------------------------------------------------------------------

    @property
    def connection_id(self) -> str | None:
        """The core's row for this connection, where its broadcast presence is kept."""
        return self._presence_id

    def became_available(self) -> None:
        """Initial presence: hand over what is waiting in the store, then live messages."""
        if self.available:
            return
        self.available = True
        self.available_since_ms = self.core.clock.now_ms()
        backfill.request(self)

    def became_unavailable(self) -> None:
        """Messages wait in the store again until the next available presence."""
        self.available = False

    def request_backfill(self) -> None:
        """Hand over every stored message the user has not confirmed (after a bus gap)."""
        if self.available:
            backfill.request(self)

    # -- output ----------------------------------------------------------------------

    def send(self, stanza: Element, handed: Handed | None = None) -> None:
        """Send a stanza, counted for XEP-0198 and kept until acked.

        ``handed``: the stored message the stanza carries. A request for
        confirmation follows it in the same write (or, with an ack delay, soon
        after); the answer marks it delivered.

        While the client is inactive (XEP-0352) what can wait is held, uncounted
        until written; an important stanza first releases what was held, in order
        (an iq passes without: :mod:`.xep_0352.hold`).
        """
        csi = self.csi
        if csi is not None:
            if handed is None and csi.hold(stanza):
                if csi.overflowing():
                    self._release_held(csi)
                return
            if csi.releases(stanza):
                self._release_held(csi)
        self._send_now(stanza, handed)

    def client_state(self, *, inactive: bool) -> None:
        """XEP-0352 §4.2 ``<inactive/>`` / ``<active/>``: hold, or release what was held."""
        if self.csi is None:
            if not inactive:
                return
            self.csi = ClientState()
        self.csi.inactive = inactive
        if not inactive and len(self.csi):
            self._release_held(self.csi)

    def _release_held(self, csi: ClientState) -> None:
        for stanza in csi.release():
            self._send_now(stanza, None)

    def _send_now(self, stanza: Element, handed: Handed | None) -> None:
        sm = self.sm
        if sm is not None:
            sm.sending(stanza)
        link = self.link
        if handed is None:
            if link is not None:
                link.write_element(stanza)
            return
        if self._confirmations is None:
            self._confirmations = Confirmations()
        self._confirmations.wrote(handed, sm.sent if sm is not None else None)
        if link is None:
            return
        link.stream.send(stanza)
        if self.gateway.ack_timer is None:
            self._write_request(link, self._confirmations)
        else:
            self.gateway.ack_timer.owe(self)
        link.flush()

    def request_confirmation(self) -> None:
        """Ask the client to confirm what it was sent since the last request."""
        link, books = self.link, self._confirmations
        if link is not None and books is not None and books.unrequested and not self.ended:
            self._write_request(link, books)
            link.flush()

    def _write_request(self, link: Link, books: Confirmations[Handed]) -> None:
        if self.sm is not None:
            books.requested()
            link.stream.send(request())
        else:
            ping_id = books.ping()
            link.stream.send(ping(ping_id, self.addressing.domain, str(self.jid)))

    def write_nonza(self, element: Element) -> None:
        if self.link is not None:
            self.link.write_element(element)

    def close_with_error(self, condition: str, text: str) -> None:
        if self.link is not None:
            self.link.stream.send_stream_error(condition, text)
            self.link.flush()

    # -- confirmations -------------------------------------------------------------------

    def acked(self, h: int) -> None:
        """XEP-0198 ``<a h/>`` that :class:`StreamManagement` accepted."""
        if self._confirmations:
            self._confirm(self._confirmations.acked(h))

    def answered(self, iq_id: str) -> None:
        """The client answered an iq of ours (result or error): perhaps a ping."""
        if self._confirmations:
            self._confirm(self._confirmations.answered(iq_id))

    def _confirm(self, handed: list[Handed]) -> None:
        note = self.core.delivered_marks.note
        for message, audience in handed:
            note(self.app_id, self.user_id, message, audience)

    # -- registry subscriber ------------------------------------------------------------

    def push(self, event: Any) -> bool:
        """Deliver a bus event, or queue it; False when the session is too far behind.

        With nothing queued and the dialog's type known, the stanzas are written right
        here: a fan-out to 1,000 sessions is then one loop rather than 1,000 tasks. An
        event that needs a lookup, or arrives behind queued ones, waits for the task.
        """
        if self.ended:
            return True
        if (
            isinstance(event, ev.MessageCreated)
            and event.message["sender_id"] != self.user_id
            and self._not_now(event)
        ):
            return True
        if self._events is None:
            if outbound.lookup_needed(self, event) is None:
                self._deliver(event)
                return True
            self._events = collections.deque()
        elif len(self._events) >= EVENT_QUEUE:
            return False
        self._events.append(event)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._follow())
        return True

    def _not_now(self, event: ev.MessageCreated) -> bool:
        """Whether a message from someone else is left to the store or held back."""
        if not self.available and event.message.get("seq"):
            return True  # RFC 6121 §8.5.2.2: stored; the initial presence gets it
        if self.backfill_task is not None:
            backfill.hold(self, event)  # after the stored ones, in order
            return True
        return False

    def _deliver(self, event: Any) -> None:
        try:
            if not muc_occupants.hears(self, event):
                return  # a room this standard MUC client is not in
            muc_handler.dialog_changed(self, event)  # XEP-0045 §9: occupancy follows
            if isinstance(event, ev.MessageCreated):
                self._deliver_message(event)
                return
            for stanza in outbound.stanzas_for(self, event):
                self.send(stanza)
        except DomainError:
            pass  # e.g. the dialog went away between the event and now
        except Exception:
            log.exception("could not deliver %s over XMPP", type(event).__name__)

    def _deliver_message(self, event: ev.MessageCreated) -> None:
        message = event.message
        if message["sender_id"] == self.user_id or self._not_now(event):
            return
        seq = message.get("seq")
        if not seq:  # self-destroying: never stored, so relayed live and not tracked
            self.send(outbound.message_for(self, message, delayed=False))
            return
        if not self.sent.first_time(event.dialog_id, seq):
            return  # a backfill or catch-up handed it over already
        audience = audience_for(self.dialog_types[event.dialog_id], event.recipients)
        self.send(outbound.message_for(self, message, delayed=False), (message, audience))

    def kick(self, condition: str, text: str) -> None:
        self.close_with_error(condition, text)
        asyncio.ensure_future(self.end())

    async def _follow(self) -> None:
        """Deliver queued events in order; ends when the queue is empty (push restarts it)."""
        events = self._events
        if events is None:
            return
        try:
            while events:
                # The deque stays in place while we wait: push() keeps queueing behind us.
                event = events.popleft()
                dialog_id = outbound.lookup_needed(self, event)
                if dialog_id is not None:
                    try:
                        await outbound.look_up(self, event)
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
