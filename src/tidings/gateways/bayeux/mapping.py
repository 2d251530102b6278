"""``BayeuxGateway``: publishes and deliveries between the pure server, the core and the bus.

It owns what the pure server cannot: waking held connects when a delivery is
queued, the expiry sweeper, the sockets currently attached to sessions, and the
application hooks (service-channel handlers, subscribe/removal listeners) that
other parts of the server register — the GMS gateway is handed this object by
``server.py`` rather than importing it.

It also turns a request's credentials into the identity the pure server binds
sessions to: the app whose ``auth_key`` the request's ``apikey`` / ``x-api-key``
header (or, on a handshake, ``ext.apikey``) is, and the GMS ``gms_user``. A
handshake that names no app is refused with ``401``: there is no default app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from tidings.core.hub import Core
from tidings.domain.events import Event
from tidings.gateways.bayeux import meta
from tidings.gateways.bayeux.advice import BayeuxConfig
from tidings.gateways.bayeux.clients import TENANT
from tidings.gateways.bayeux.messages import Message
from tidings.gateways.bayeux.protocol import (
    AppEvent,
    BayeuxServer,
    Outcome,
    Published,
    Removed,
    ServiceCalled,
    Subscribed,
)
from tidings.gateways.bayeux.relay import (
    CometPublished,
    CometSessionMoved,
    CometSessionWanted,
    from_event,
    to_event,
)

log = logging.getLogger("tidings.bayeux")

ServiceHandler = Callable[[str, str, Any, Any], Awaitable[None]]
SubscribeListener = Callable[[str, tuple[str, ...]], Awaitable[None]]
RemovedListener = Callable[[Removed], Awaitable[None]]

#: Credential headers: the app's key (both names GMS clients send) and the GMS user.
KEY_HEADERS = ("apikey", "x-api-key")
USER_HEADER = "gms_user"
#: How long a node waits for the cluster to hand it a session it does not hold.
FETCH_TIMEOUT = 3.0
#: How long a resolved API key is remembered (connects come every ~30 s per client).
KEY_CACHE_SECONDS = 60.0
KEY_CACHE_SIZE = 4096


class _Fetch:
    """A session this node asked the cluster for.

    ``listening`` turns on when our own ``CometSessionWanted`` comes back from the
    bus: from that point in the (totally ordered) event stream the holder no longer
    queues for the session, so broadcasts are kept here and replayed on adoption.
    """

    def __init__(self) -> None:
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.listening = False
        self.missed: list[CometPublished] = []


class BayeuxGateway:
    #: The gateway of each running core (operators' tools and tests look it up).
    _running: weakref.WeakKeyDictionary[Core, BayeuxGateway] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, core: Core) -> BayeuxGateway | None:
        return cls._running.get(core)

    def __init__(self, core: Core, config: BayeuxConfig | None = None) -> None:
        self.core = core
        BayeuxGateway._running[core] = self
        self.server = BayeuxServer(config)
        self._waiters: dict[int, asyncio.Event] = {}
        self._held_by_client: dict[str, int] = {}
        #: client id -> wake function of the WebSocket currently carrying it.
        self._sockets: dict[str, Callable[[], None]] = {}
        self._services: list[tuple[str, ServiceHandler]] = []
        self._on_subscribe: list[SubscribeListener] = []
        self._on_removed: list[RemovedListener] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        #: This process, among the nodes sharing the bus.
        self.node = secrets.token_hex(8)
        #: With a shared bus, sessions move to whichever node the client talks to.
        self.clustered = not core.settings.bus_url.startswith("memory")
        self._fetches: dict[str, _Fetch] = {}
        #: API key -> (app id, monotonic expiry); only keys that name an app.
        self._keys: dict[str, tuple[int, float]] = {}

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        self._unsubscribe = self.core.bus.subscribe(self._on_bus)
        self._sweeper = asyncio.create_task(self._sweep(), name="bayeux-sweeper")

    async def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        if self._sweeper:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for event in self._waiters.values():
            event.set()

    # -- hooks for the application layer -------------------------------------------

    def register_service(self, prefix: str, handler: ServiceHandler) -> None:
        """``handler(client_id, channel, data, ext)`` for publishes under ``prefix``."""
        self._services.append((prefix, handler))

    def on_subscribe(self, listener: SubscribeListener) -> None:
        self._on_subscribe.append(listener)

    def on_removed(self, listener: RemovedListener) -> None:
        self._on_removed.append(listener)

    def deliver(self, client_id: str, channel: str, data: Any) -> bool:
        """Direct delivery to one local session (no subscription needed)."""
        ok, events = self.server.deliver(client_id, channel, data)
        if ok:
            self._wake({client_id})
        self._spawn(events)
        return ok

    def sessions_where(self, **attributes: str) -> list[Any]:
        return self.server.sessions_where(**attributes)

    def session_of(self, client_id: str) -> Any:
        """The local session ``client_id`` (attributes may be updated), or None."""
        return self.server.sessions.get(client_id)

    def publish_local(self, channel: str, data: Any, app_id: int) -> None:
        """A broadcast for this node's sessions of app ``app_id``."""
        woken, events = self.server.publish(channel, data, str(app_id))
        self._wake(woken)
        self._spawn(events)

    # -- requests -----------------------------------------------------------------

    def now(self) -> int:
        return self.core.now_ms()

    async def process(
        self, messages: list[Message], *, transport: str, attributes: dict[str, str]
    ) -> Outcome:
        """``attributes``: the credentials the transport saw (:func:`identity_from`)."""
        first = messages[0]
        identity = await self._identify(first, attributes)
        if first.get("channel") == "/meta/handshake" and not identity.get(TENANT):
            why = "an unknown key" if TENANT in identity else "no key"
            log.info("bayeux handshake with %s refused", why)
            return Outcome(replies=[meta.unauthorized(first)])
        if self.clustered:
            await self._fetch_unknown(messages)
        outcome = self.server.handle(messages, self.now(), transport=transport, attributes=identity)
        for client_id, token in outcome.released:
            self._release(client_id, token)
        await self._dispatch(outcome.events)
        return outcome

    async def _identify(self, first: Message, credentials: dict[str, str]) -> dict[str, str]:
        """The request's identity: ``app_id`` ("" for a key no app has) and ``gms_user``.

        Headers first; a handshake may carry them in its ``ext`` instead (GMS §7.2,
        and WebSocket clients that cannot set headers on the upgrade).
        """
        given = dict(credentials)
        ext = first.get("ext")
        if first.get("channel") == "/meta/handshake" and isinstance(ext, dict):
            for name in ("apikey", USER_HEADER):
                if isinstance(ext.get(name), str) and ext[name]:
                    given.setdefault(name, ext[name])
        identity: dict[str, str] = {}
        if given.get("apikey"):
            app_id = await self._app_of(given["apikey"])
            identity[TENANT] = str(app_id) if app_id is not None else ""
        if given.get(USER_HEADER):
            identity[USER_HEADER] = given[USER_HEADER]
        return identity

    async def _app_of(self, key: str) -> int | None:
        now = asyncio.get_running_loop().time()
        cached = self._keys.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        app = await self.core.apps.find_by_auth_key(key)
        if app is None:
            return None
        if len(self._keys) >= KEY_CACHE_SIZE:
            self._keys.clear()
        self._keys[key] = (app.id, now + KEY_CACHE_SECONDS)
        return app.id

    def register_hold(self, client_id: str, token: int) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters[token] = event
        self._held_by_client[client_id] = token
        if self.server.ready(client_id):
            event.set()
        return event

    def finish_hold(self, client_id: str, token: int) -> list[Message]:
        self._forget(client_id, token)
        return self.server.complete(client_id, token, self.now())

    def abandon_hold(self, client_id: str, token: int) -> None:
        self._forget(client_id, token)
        self.server.abandon(client_id, token, self.now())

    def _forget(self, client_id: str, token: int) -> None:
        self._waiters.pop(token, None)
        if self._held_by_client.get(client_id) == token:
            del self._held_by_client[client_id]

    def attach_socket(self, client_id: str, wake: Callable[[], None]) -> None:
        self._sockets[client_id] = wake

    def detach_socket(self, client_id: str, wake: Callable[[], None]) -> None:
        if self._sockets.get(client_id) is wake:
            del self._sockets[client_id]

    def _release(self, client_id: str, token: int) -> None:
        event = self._waiters.get(token)
        if event is not None:
            event.set()

    def _wake(self, client_ids: set[str]) -> None:
        for client_id in client_ids:
            session = self.server.sessions.get(client_id)
            # With the ack extension deliveries ride only on connect replies, even on a
            # WebSocket: complete the held connect rather than push frames.
            acked = session is not None and session.ack
            wake = None if acked else self._sockets.get(client_id)
            if wake is not None:
                wake()
                continue
            token = self._held_by_client.get(client_id)
            if token is not None:
                self._release(client_id, token)

    # -- application events -----------------------------------------------------------

    async def _dispatch(self, events: list[AppEvent]) -> None:
        for event in events:
            try:
                if isinstance(event, Published):
                    if event.app_id:
                        note = CometPublished(int(event.app_id), event.channel, event.data)
                        await self.core.publish(to_event(note))
                elif isinstance(event, ServiceCalled):
                    await self._call_service(event)
                elif isinstance(event, Subscribed):
                    for listener in self._on_subscribe:
                        await listener(event.client_id, event.subscriptions)
                elif isinstance(event, Removed):
                    for removed_listener in self._on_removed:
                        await removed_listener(event)
            except Exception:
                log.exception("bayeux application hook failed on %s", type(event).__name__)

    def _spawn(self, events: list[AppEvent]) -> None:
        if events:
            asyncio.get_running_loop().create_task(self._dispatch(events))

    async def _call_service(self, event: ServiceCalled) -> None:
        for prefix, handler in self._services:
            if event.channel == prefix or event.channel.startswith(prefix + "/"):
                await handler(event.client_id, event.channel, event.data, event.ext)
                return
        log.debug("no handler for %s", event.channel)

    async def _on_bus(self, event: Event) -> None:
        note = from_event(event)
        if isinstance(note, CometPublished):
            self.publish_local(note.channel, note.data, note.app_id)
            for fetch in self._fetches.values():
                if fetch.listening:
                    fetch.missed.append(note)
        elif isinstance(note, CometSessionWanted):
            await self._on_wanted(note)
        elif isinstance(note, CometSessionMoved):
            self._on_moved(note)

    # -- sessions across nodes ---------------------------------------------------------

    async def _fetch_unknown(self, messages: list[Message]) -> None:
        """Before handling a request, pull the sessions it names from whichever node holds
        them: a client may long-poll any node (GMS: "with the Redis bus, a client may
        long-poll any node"). Unknown everywhere → the usual 402 after the wait."""
        wanted = {
            m["clientId"]
            for m in messages
            if isinstance(m.get("clientId"), str)
            and m.get("channel") != "/meta/handshake"
            and m["clientId"] not in self.server.sessions
        }
        for client_id in wanted:
            fetch = self._fetches.get(client_id)
            if fetch is None:
                fetch = self._fetches[client_id] = _Fetch()
                await self.core.publish(to_event(CometSessionWanted(client_id, self.node)))
            try:
                await asyncio.wait_for(asyncio.shield(fetch.done), FETCH_TIMEOUT)
            except TimeoutError:
                log.debug("no node holds bayeux session %s", client_id)
            finally:
                if self._fetches.get(client_id) is fetch:
                    del self._fetches[client_id]

    async def _on_wanted(self, event: CometSessionWanted) -> None:
        if event.node == self.node:
            fetch = self._fetches.get(event.client_id)
            if fetch is not None:
                fetch.listening = True
            return
        dump, held = self.server.export(event.client_id)
        if dump is None:
            return
        log.debug("bayeux session %s moves to node %s", event.client_id, event.node)
        if held is not None:
            self._release(event.client_id, held)
        self._sockets.pop(event.client_id, None)
        await self.core.publish(to_event(CometSessionMoved(event.client_id, event.node, dump)))

    def _on_moved(self, event: CometSessionMoved) -> None:
        fetch = self._fetches.get(event.client_id)
        if event.node != self.node or fetch is None or fetch.done.done():
            return
        session = self.server.adopt(event.session, self.now())
        tenant = session.attributes.get(TENANT)
        for missed in fetch.missed:
            if tenant == str(missed.app_id) and session.subscribed_to(missed.channel):
                self.server.deliver(session.id, missed.channel, missed.data)
        fetch.done.set_result(True)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(1)
            events = self.server.expire(self.now())
            if events:
                await self._dispatch(events)


def identity_from(headers: Any) -> dict[str, str]:
    """The credentials among a request's (or a WebSocket upgrade's) headers."""
    out = {}
    key = next((headers.get(name) for name in KEY_HEADERS if headers.get(name)), None)
    if key:
        out["apikey"] = key
    user = headers.get(USER_HEADER)
    if user:
        out[USER_HEADER] = user
    return out
