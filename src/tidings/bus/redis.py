"""A bus across nodes: one Redis pub/sub channel, JSON messages.

Every node, the publisher included, receives each event from Redis, so all
nodes see the same events in the same order (the order Redis serialised the
``PUBLISH`` commands in), each exactly once while connected.

Pub/sub keeps nothing: events published while a node's subscription is down
are lost for that node. The reader reconnects with capped, jittered backoff and
logs the gap; clients recover by refetching, as after any reconnect of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tidings.bus.base import DEFAULT_CHANNEL, Bus, decode_event, encode_event
from tidings.core.events import Event
from tidings.observability import EVENTS_PUBLISHED

log = logging.getLogger("tidings.bus")


class RedisBus(Bus):
    """Events over Redis pub/sub.

    ``client_name`` labels both connections in ``CLIENT LIST``. ``connect_timeout``
    bounds each connection attempt and the wait for the subscribe confirmation;
    the backoff between reconnect attempts doubles from ``backoff_min`` seconds
    up to ``backoff_max``.
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
    ) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self._client_name = client_name
        self._connect_timeout = connect_timeout
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._publisher: aioredis.Redis | None = None
        self._subscriber: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

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
        common: dict[str, Any] = {
            "client_name": self._client_name,
            "socket_connect_timeout": self._connect_timeout,
            "socket_keepalive": True,
        }
        self._publisher = aioredis.Redis.from_url(self.url, **common)
        # No retries inside redis-py for the subscriber: the reader loop owns
        # reconnection, so it can wait for the confirmation and log the gap.
        # The health check PINGs an idle subscription so a dead link surfaces.
        self._subscriber = aioredis.Redis.from_url(
            self.url, retry=Retry(NoBackoff(), 0), health_check_interval=10, **common
        )
        try:
            self._pubsub = await self._subscribe()
        except BaseException:
            await self.close()
            raise
        self._reader = asyncio.create_task(self._read(), name="tidings-bus-redis")

    async def publish(self, event: Event) -> None:
        if self._publisher is None or self._closed:
            raise RuntimeError("bus is not running: call start() first")
        await self._publisher.publish(self.channel, encode_event(event))
        EVENTS_PUBLISHED.labels(type=event.name).inc()

    async def close(self) -> None:
        self._closed = True
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await self._drop_pubsub()
        for client in (self._publisher, self._subscriber):
            if client is not None:
                await client.aclose()
        self._publisher = self._subscriber = None

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
        """The dispatcher: read, decode and deliver; resubscribe when the link drops."""
        delay = self._backoff_min
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
                log.info("bus: resubscribed to %s; events meanwhile were missed", self.channel)
                delay = self._backoff_min
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except Exception as exc:
                log.warning(
                    "bus: lost subscription to %s (%s: %s)", self.channel, type(exc).__name__, exc
                )
                await self._drop_pubsub()
                continue
            if message is not None and message["type"] == "message":
                await self._deliver(message["data"])

    async def _deliver(self, data: bytes) -> None:
        try:
            event = decode_event(data)
        except Exception:
            # Another version or another program on our channel; not fatal.
            log.exception("bus: dropped undecodable message on %s: %.200r", self.channel, data)
            return
        await self._dispatch(event)
