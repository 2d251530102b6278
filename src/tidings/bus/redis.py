"""A bus across nodes: one Redis pub/sub channel, JSON messages.

Every node, the publisher included, receives each event from Redis, so all
nodes see the same events in the same order (the order Redis serialised the
``PUBLISH`` commands in), each exactly once while connected.

Pub/sub keeps nothing, and Redis may restart empty, so an outage is survived
in three parts:

- Publishing never fails the caller. :meth:`RedisBus.publish` appends to a
  bounded in-memory :class:`~tidings.bus.backlog.Backlog`; one sender task
  publishes it in order (a pipeline per batch) and keeps what Redis has not
  taken, reconnecting with capped, jittered backoff. Past the bound new events
  are dropped, and once Redis is back a notice tells every node from when.
- A batch cut off mid-way is published again whole; the publisher's numbers
  (:mod:`tidings.bus.envelope`) let receivers drop the copies.
- The reader notices a lost subscription (an error, or no answer to its own
  ``PING`` when the link is quiet), resubscribes with backoff, and then runs the
  resume handlers (:meth:`Bus.on_resume`) with the time it last heard from Redis,
  before dispatching anything newer: gateways catch their sessions up from the
  store, which has every committed message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tidings.bus.backlog import Backlog
from tidings.bus.base import DEFAULT_CHANNEL, Bus, encode_event
from tidings.bus.envelope import Numbering, unwrap, wrap_event, wrap_gap
from tidings.domain.events import Event
from tidings.observability import EVENTS_PUBLISHED

log = logging.getLogger("tidings.bus")

#: Events held while Redis is unreachable, by default (``TIDINGS_BUS_BACKLOG``).
DEFAULT_BACKLOG = 10_000
#: Events per pipeline: one round trip each.
BATCH = 256


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class RedisBus(Bus):
    """Events over Redis pub/sub.

    ``client_name`` labels both connections in ``CLIENT LIST``. ``connect_timeout``
    bounds each connection attempt, each publish round trip and the wait for the
    subscribe confirmation or a ``PING`` answer; the backoff between reconnect
    attempts doubles from ``backoff_min`` seconds up to ``backoff_max``.
    ``backlog`` is how many events are held while Redis cannot take them, and
    the reader pings a subscription that was quiet for ``ping_interval`` seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        channel: str = DEFAULT_CHANNEL,
        client_name: str | None = None,
        connect_timeout: float = 5.0,
        backoff_min: float = 0.1,
        backoff_max: float = 10.0,
        backlog: int = DEFAULT_BACKLOG,
        ping_interval: float = 5.0,
    ) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self._client_name = client_name
        self._connect_timeout = connect_timeout
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._ping_interval = ping_interval
        self._publisher: aioredis.Redis | None = None
        self._subscriber: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._closed = False
        # Publishing side: our own numbers, what waits for Redis, and a doorbell.
        self._origin = secrets.token_hex(8)
        self._numbers = itertools.count(1)
        self._backlog = Backlog(backlog)
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        # Receiving side: repeats to drop, the last sign of life, a gap to resume.
        self._numbering = Numbering()
        self._heard_ms = 0
        self._resume_since_ms: int | None = None

    async def start(self) -> None:
        """Subscribe, and return only once Redis confirmed it.

        After ``start()`` returns, anything published anywhere reaches this node.
        Fails (rather than retrying) if Redis is unreachable now, so a
        misconfigured node stops at boot instead of running deaf.
        """
        if self._closed:
            raise RuntimeError("bus is closed")
        if self._reader is not None:
            raise RuntimeError("bus already started")
        # No retries inside redis-py: the sender and the reader own reconnection,
        # so they can keep events, wait for the confirmation and report the gap.
        common: dict[str, Any] = {
            "client_name": self._client_name,
            "socket_connect_timeout": self._connect_timeout,
            "socket_keepalive": True,
            "retry": Retry(NoBackoff(), 0),
        }
        self._publisher = aioredis.Redis.from_url(
            self.url, socket_timeout=self._connect_timeout, **common
        )
        self._subscriber = aioredis.Redis.from_url(self.url, **common)
        try:
            self._pubsub = await self._subscribe()
        except BaseException:
            await self.close()
            raise
        self._heard_ms = _now_ms()
        self._reader = asyncio.create_task(self._read(), name="tidings-bus-redis")
        self._sender = asyncio.create_task(self._send(), name="tidings-bus-redis-sender")

    async def publish(self, event: Event) -> None:
        """Queue ``event`` for Redis and return at once; it is sent in publish order."""
        if self._reader is None or self._closed:
            raise RuntimeError("bus is not running: call start() first")
        data = wrap_event(self._origin, next(self._numbers), encode_event(event))
        if not self._backlog.append(data, _now_ms()):
            if self._backlog.dropped == 1:
                log.error(
                    "bus: %d events wait for Redis already; dropping new ones until it is "
                    "back (sessions will be caught up from the store)",
                    self._backlog.limit,
                )
            return
        EVENTS_PUBLISHED.labels(type=event.name).inc()
        self._drained.clear()
        self._wake.set()

    async def close(self) -> None:
        """Publish what is queued (for up to ``connect_timeout``), then disconnect."""
        if not self._closed and self._sender is not None and len(self._backlog):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._connect_timeout):
                    await self._drained.wait()
        self._closed = True
        if len(self._backlog):
            log.warning("bus: closing with %d events not published", len(self._backlog))
        for task in (self._sender, self._reader):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sender = self._reader = None
        await self._drop_pubsub()
        for client in (self._publisher, self._subscriber):
            if client is not None:
                await client.aclose()
        self._publisher = self._subscriber = None

    async def ping(self) -> None:
        """One ``PING`` round trip on the publishing connection (bounded by its timeout)."""
        if self._publisher is None or self._closed:
            raise RuntimeError("bus is not running")
        await self._publisher.ping()

    # -- publishing ----------------------------------------------------------------

    async def _send(self) -> None:
        """The sender: publish the backlog in order; hold it while Redis is away."""
        assert self._publisher is not None
        delay = self._backoff_min
        failing_since: float | None = None
        while True:
            if not len(self._backlog):
                self._drained.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._backlog.peek(BATCH)
            try:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for data in batch:
                        pipe.publish(self.channel, data)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.warning(
                        "bus: cannot publish to %s (%s: %s); holding events until it is back",
                        self.channel,
                        type(exc).__name__,
                        exc,
                    )
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self._backoff_max)
                continue
            self._backlog.pop(len(batch))
            delay = self._backoff_min
            if failing_since is not None:
                log.info(
                    "bus: publishing to %s again after %.1fs",
                    self.channel,
                    time.monotonic() - failing_since,
                )
                failing_since = None
            dropped, first_drop_ms = self._backlog.take_gap()
            if first_drop_ms is not None:
                self._announce_gap(dropped, first_drop_ms)

    def _announce_gap(self, dropped: int, since_ms: int) -> None:
        """After dropping events: every other node hears of it, and this one resumes."""
        log.warning(
            "bus: %d events to %s were dropped from %d on; asking every node to catch up",
            dropped,
            self.channel,
            since_ms,
        )
        self._backlog.append_always(wrap_gap(self._origin, next(self._numbers), since_ms))
        self._note_gap(since_ms)

    def _note_gap(self, since_ms: int) -> None:
        """Have the reader run the resume handlers (from ``since_ms``) on its next turn."""
        if self._resume_since_ms is None or since_ms < self._resume_since_ms:
            self._resume_since_ms = since_ms

    # -- receiving -----------------------------------------------------------------

    async def _subscribe(self) -> PubSub:
        assert self._subscriber is not None
        pubsub = self._subscriber.pubsub()
        try:
            async with asyncio.timeout(self._connect_timeout):
                await pubsub.subscribe(self.channel)
                # SUBSCRIBE is only in force once Redis has answered it.
                while True:
                    reply = await pubsub.get_message(timeout=self._connect_timeout)
                    if reply is not None and reply["type"] == "subscribe":
                        return pubsub
        except BaseException:
            await pubsub.aclose()
            raise

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _read(self) -> None:
        """The dispatcher: read, decode and deliver; resubscribe and resume after a gap."""
        delay = self._backoff_min
        heard = time.monotonic()
        pinged: float | None = None
        while True:
            if self._pubsub is None:
                try:
                    self._pubsub = await self._subscribe()
                except Exception as exc:
                    pause = delay * random.uniform(0.5, 1.0)
                    log.warning(
                        "bus: cannot resubscribe to %s (%s: %s); next try in %.1fs",
                        self.channel,
                        type(exc).__name__,
                        exc,
                        pause,
                    )
                    await asyncio.sleep(pause)
                    delay = min(delay * 2, self._backoff_max)
                    continue
                log.info(
                    "bus: resubscribed to %s; catching sessions up from %d on",
                    self.channel,
                    self._heard_ms,
                )
                delay = self._backoff_min
                # Anything published after we last heard from Redis may be lost.
                self._note_gap(self._heard_ms)
                heard, pinged = time.monotonic(), None
                self._heard_ms = _now_ms()
            if self._resume_since_ms is not None:
                since, self._resume_since_ms = self._resume_since_ms, None
                await self._resume(since)
            try:
                if pinged is None and time.monotonic() - heard > self._ping_interval:
                    await self._pubsub.ping()
                    pinged = time.monotonic()
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except Exception as exc:
                log.warning(
                    "bus: lost subscription to %s (%s: %s)", self.channel, type(exc).__name__, exc
                )
                await self._drop_pubsub()
                continue
            if message is None:
                if pinged is not None and time.monotonic() - pinged > self._connect_timeout:
                    # A half-open connection raises nothing: silence is the symptom.
                    log.warning(
                        "bus: no answer from Redis on %s for %.1fs; resubscribing",
                        self.channel,
                        time.monotonic() - pinged,
                    )
                    await self._drop_pubsub()
                continue
            heard, pinged = time.monotonic(), None
            self._heard_ms = _now_ms()
            if message["type"] == "message":
                await self._deliver(message["data"])

    async def _deliver(self, data: bytes) -> None:
        try:
            envelope = unwrap(data)
        except Exception:
            # Another version or another program on our channel; not fatal.
            log.exception("bus: dropped undecodable message on %s: %.200r", self.channel, data)
            return
        if not self._numbering.is_new(envelope):
            return  # a batch published again after a broken connection
        if envelope.event is not None:
            await self._dispatch(envelope.event)
        elif envelope.gap_since_ms is not None and envelope.origin != self._origin:
            # Our own notice: this node resumed when it sent it.
            await self._resume(envelope.gap_since_ms)
