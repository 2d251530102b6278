"""``BayeuxServer``: the sans-I/O Bayeux 1.0 server (bayeux-server §4-§6).

In: a list of request messages, the transport they came on and ``now``.
Out (:class:`Outcome`): the replies in request order, at most one connect to
hold (with its deadline), connects it superseded, and what the application
should hear (publishes, service calls, subscribes, disconnects). Deliveries go
into per-session queues; transports take them with :meth:`BayeuxServer.take`
or when a held connect completes (:meth:`BayeuxServer.complete`).

Client publishes are not fanned out here: the application routes them (through
the core bus, so every node sees them) and calls :meth:`publish` on each node,
naming the publisher's app so only that app's sessions receive it.

Each request comes with the identity its transport saw (``attributes``: the app,
``gms_user``). A handshake binds the new session to it; any later message whose
identity disagrees with its session's is answered as if the ``clientId`` were
unknown (``402``), so one caller's ``clientId`` is useless with another's
credentials. The object never reads a clock or sleeps.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from tidings.gateways.bayeux import acks, channels, meta
from tidings.gateways.bayeux.advice import BayeuxConfig
from tidings.gateways.bayeux.clients import TENANT, ClientSession
from tidings.gateways.bayeux.messages import (
    BAD_MESSAGE,
    Message,
    delivery,
    publish_denied,
    reply_to,
)
from tidings.gateways.bayeux.state import ClientState, Trigger
from tidings.gcra import Rate, gcra

log = logging.getLogger("tidings.bayeux")


@dataclass(frozen=True, slots=True)
class Published:
    client_id: str
    channel: str
    data: Any
    ext: Any
    #: The publisher's app (its session's ``app_id``): the broadcast stays in it.
    app_id: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceCalled:
    client_id: str
    channel: str
    data: Any
    ext: Any


@dataclass(frozen=True, slots=True)
class Subscribed:
    client_id: str
    subscriptions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Removed:
    """A session ended: ``reason`` is ``disconnected``, ``expired`` or ``overflow``."""

    client_id: str
    reason: str
    ext: Any
    attributes: dict[str, str]


AppEvent = Published | ServiceCalled | Subscribed | Removed


@dataclass(frozen=True, slots=True)
class Hold:
    client_id: str
    token: int
    deadline: int
    #: Position of the connect's reply among the request's replies.
    index: int


@dataclass(slots=True)
class Outcome:
    replies: list[Message] = field(default_factory=list)
    hold: Hold | None = None
    #: Held connects of the same clients that must complete now (§4.3 rule 1, §4.4).
    released: list[tuple[str, int]] = field(default_factory=list)
    events: list[AppEvent] = field(default_factory=list)
    #: Sessions this request acted for (credentials agreed): only their queued
    #: deliveries may ride on its response or its socket.
    clients: set[str] = field(default_factory=set)


class BayeuxServer:
    def __init__(self, config: BayeuxConfig | None = None) -> None:
        self.config = config or BayeuxConfig()
        self.sessions: dict[str, ClientSession] = {}
        self._tokens = itertools.count(1)
        #: Connect message of each held token, to build its reply later.
        self._held: dict[int, Message] = {}
        #: Sessions dropped for overflow whose clients learn it on their next request.
        self._stopped: dict[int, bool] = {}

    # -- requests ---------------------------------------------------------------

    def handle(
        self,
        messages: list[Message],
        now: int,
        *,
        transport: str = "long-polling",
        attributes: dict[str, str] | None = None,
    ) -> Outcome:
        out = Outcome()
        if messages and messages[0].get("channel") == "/meta/handshake":
            messages = messages[:1]  # §2.2: a handshake request carries only the handshake
        for message in messages:
            self._one(message, now, transport, attributes or {}, out)
        return out

    def _one(
        self,
        message: Message,
        now: int,
        transport: str,
        attributes: dict[str, str],
        out: Outcome,
    ) -> None:
        channel = message["channel"]
        if channel == "/meta/handshake":
            reply, session = meta.handshake(self.config, message, transport, attributes, now)
            if session is not None:
                self.sessions[session.id] = session
                out.clients.add(session.id)
                log.debug("handshake %s over %s", session.id, transport)
            out.replies.append(reply)
            return
        client_id = message.get("clientId")
        session = self.sessions.get(client_id) if isinstance(client_id, str) else None
        if session is not None and not session.answers_to(attributes):
            log.info("bayeux session %s named with other credentials: refused", session.id)
            if channel == "/meta/disconnect":
                # Idempotent as for an unknown client (§4.4), but nothing ends or is told.
                out.replies.append(reply_to(message, successful=True))
                return
            session = None
        if channel == "/meta/disconnect":
            out.replies.append(self._disconnect(session, message, out))
            return
        if session is not None:
            out.clients.add(session.id)
            if channel == "/meta/connect" and message.get("connectionType") is None:
                message = {**message, "connectionType": transport}  # DDComet (§3.1)
            session.transport = transport
        if channel == "/meta/connect":
            self._connect(session, message, now, out)
        elif channel == "/meta/subscribe":
            if session is None:
                out.replies.append(meta.unknown_client(message))
                return
            reply = meta.subscribe(session, message)
            out.replies.append(reply)
            if reply["successful"]:
                subs = message["subscription"]
                subs = tuple(subs) if isinstance(subs, list) else (subs,)
                out.events.append(Subscribed(session.id, subs))
        elif channel == "/meta/unsubscribe":
            if session is None:
                out.replies.append(meta.unknown_client(message))
                return
            out.replies.append(meta.unsubscribe(session, message))
        elif channels.is_meta(channel):
            out.replies.append(reply_to(message, successful=False, error=publish_denied(channel)))
        else:
            self._publish(session, message, now, out)

    def _connect(
        self, session: ClientSession | None, message: Message, now: int, out: Outcome
    ) -> None:
        if session is None:
            out.replies.append(meta.unknown_client(message))
            return
        if session.ack:
            acks.acknowledge(session, message.get("ext"))
        decision = meta.connect(self.config, session, message)
        if isinstance(decision, dict):
            out.replies.append(decision)
            return
        if decision.superseded is not None:
            out.released.append((session.id, decision.superseded))
        if decision.hold_ms == 0:
            out.replies.extend(self._flush(session, message))
            session.expires_at = now + self.config.interval_ms + self.config.max_interval_ms
            return
        token = next(self._tokens)
        session.held = token
        session.expires_at = None
        self._held[token] = message
        out.hold = Hold(session.id, token, now + decision.hold_ms, len(out.replies))

    def _disconnect(self, session: ClientSession | None, message: Message, out: Outcome) -> Message:
        """Idempotent: an unknown ``clientId`` still gets ``successful:true`` (§4.4)."""
        ext = message.get("ext")
        client_id = message.get("clientId")
        if session is None:
            out.events.append(
                Removed(client_id if isinstance(client_id, str) else "", "unknown", ext, {})
            )
            return reply_to(message, successful=True)
        if session.held is not None:
            out.released.append((session.id, session.held))
        self._remove(session, "disconnected", ext, out.events)
        return reply_to(message, successful=True)

    def _publish(
        self, session: ClientSession | None, message: Message, now: int, out: Outcome
    ) -> None:
        channel = message["channel"]
        if not channels.is_valid(channel) or "data" not in message:
            out.replies.append(reply_to(message, successful=False, error=BAD_MESSAGE))
            return
        if session is None:
            out.replies.append(meta.unknown_client(message))
            return
        if channels.is_server_owned(channel):
            # Only the server speaks on /_… (a forged /_genesys transcript, say).
            out.replies.append(reply_to(message, successful=False, error=publish_denied(channel)))
            return
        rate = Rate(self.config.max_publish_rate, 1.0)
        verdict, session.publish_tat = gcra(session.publish_tat, now / 1000, rate, 1)
        if not verdict.allowed:
            # A flooding client is refused; its peers' queues never see the flood.
            out.replies.append(reply_to(message, successful=False, error=publish_denied(channel)))
            return
        ext = message.get("ext")
        if channels.is_service(channel):
            out.events.append(ServiceCalled(session.id, channel, message["data"], ext))
        else:
            tenant = session.attributes.get(TENANT)
            out.events.append(Published(session.id, channel, message["data"], ext, tenant))
        out.replies.append(reply_to(message, successful=True))  # no data: JS tells acks so

    # -- held connects ----------------------------------------------------------

    def complete(self, client_id: str, token: int, now: int) -> list[Message]:
        """The held connect's answer: queued deliveries, then its reply (§4.3 rule 4)."""
        message = self._held.pop(token, None)
        if message is None:
            return []
        stop = self._stopped.pop(token, False)
        session = self.sessions.get(client_id)
        if session is None or session.held != token:
            return [meta.connect_reply(self.config, message, stop=stop)]
        session.held = None
        session.expires_at = now + self.config.interval_ms + self.config.max_interval_ms
        return self._flush(session, message)

    def _flush(self, session: ClientSession, message: Message) -> list[Message]:
        """A connect's answer: the queued deliveries, then its reply (§4.3 rule 4); with
        the ack extension the deliveries are a numbered batch kept until acknowledged."""
        if not session.ack:
            return [*session.drain(), meta.connect_reply(self.config, message)]
        messages, batch = acks.next_batch(session)
        return [*messages, meta.connect_reply(self.config, message, batch=batch)]

    def abandon(self, client_id: str, token: int, now: int) -> None:
        """The HTTP client went away while held: no reply; queued messages stay (§4.3)."""
        self._held.pop(token, None)
        self._stopped.pop(token, None)
        session = self.sessions.get(client_id)
        if session is not None and session.held == token:
            session.held = None
            session.expires_at = now + self.config.interval_ms + self.config.max_interval_ms

    def ready(self, client_id: str) -> bool:
        """Whether a held connect of this client should complete now (deliveries queued)."""
        session = self.sessions.get(client_id)
        return session is None or bool(session.queue)

    # -- application side -------------------------------------------------------

    def publish(
        self, channel: str, data: Any, app_id: str | None = None
    ) -> tuple[set[str], list[AppEvent]]:
        """Queue a broadcast for every matching session of app ``app_id`` (None: the
        sessions bound to no app): (woken ids, removals by overflow)."""
        woken: set[str] = set()
        events: list[AppEvent] = []
        for session in list(self.sessions.values()):
            if session.attributes.get(TENANT) == app_id and session.subscribed_to(channel):
                if self._queue(session, delivery(channel, data), events):
                    woken.add(session.id)
        return woken, events

    def deliver(self, client_id: str, channel: str, data: Any) -> tuple[bool, list[AppEvent]]:
        """A direct delivery (service replies, GMS notifications), subscribed or not."""
        events: list[AppEvent] = []
        session = self.sessions.get(client_id)
        if session is None:
            return False, events
        return self._queue(session, delivery(channel, data), events), events

    def take(self, client_id: str) -> list[Message]:
        """Queued deliveries of a session, for a WebSocket or a piggybacked response;
        none for a session with the ack extension (its deliveries wait for a connect)."""
        session = self.sessions.get(client_id)
        return session.drain() if session is not None and not session.ack else []

    def _queue(self, session: ClientSession, message: Message, events: list[AppEvent]) -> bool:
        if session.push(message, self.config.max_queue, self.config.max_queue_bytes):
            return True
        log.info("bayeux session %s dropped: queue full", session.id)
        self._remove(session, "overflow", None, events)
        return False

    def _remove(
        self, session: ClientSession, reason: str, ext: Any, events: list[AppEvent]
    ) -> None:
        session.move(Trigger.DISCONNECT if reason == "disconnected" else Trigger.EXPIRE)
        if session.state is not ClientState.GONE:  # both triggers end every state
            log.error("bayeux session %s left in %s on removal", session.id, session.state)
        if session.held is not None:
            # §4.4: a connect held at disconnect completes with reconnect "none".
            self._stopped[session.held] = reason == "disconnected"
        self.sessions.pop(session.id, None)
        events.append(Removed(session.id, reason, ext, dict(session.attributes)))

    # -- sessions moving between nodes --------------------------------------------

    def export(self, client_id: str) -> tuple[dict[str, Any] | None, int | None]:
        """Give a session up to another node: (its dump, the token of a connect held here).

        The held connect is completed with a plain reply (no deliveries: the queue
        travels in the dump), so the client's next connect goes wherever it likes.
        """
        session = self.sessions.pop(client_id, None)
        if session is None:
            return None, None
        held, session.held = session.held, None
        return session.to_dict(), held

    def adopt(self, dump: dict[str, Any], now: int) -> ClientSession:
        """Take over a session another node exported; it expires like a fresh connect."""
        session = ClientSession.from_dict(dump)
        session.expires_at = now + self.config.interval_ms + self.config.max_interval_ms
        self.sessions[session.id] = session
        return session

    # -- timers -----------------------------------------------------------------

    def expire(self, now: int) -> list[AppEvent]:
        """Remove sessions with no connect held and none since their deadline (§4.1)."""
        events: list[AppEvent] = []
        for session in list(self.sessions.values()):
            deadline = session.expires_at
            if session.held is None and deadline is not None and now >= deadline:
                self._remove(session, "expired", None, events)
        return events

    def next_deadline(self) -> int | None:
        deadlines = [s.expires_at for s in self.sessions.values() if s.expires_at is not None]
        return min(deadlines) if deadlines else None

    def sessions_where(self, **attributes: str) -> list[ClientSession]:
        return [
            s
            for s in self.sessions.values()
            if all(s.attributes.get(k) == v for k, v in attributes.items())
        ]
