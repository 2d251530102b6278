"""A bus for one process: an asyncio queue, with the JSON round trip Redis makes.

Used in tests and single-node deployments. Encoding and decoding happen in
:meth:`MemoryBus.publish`, so an event that cannot cross Redis fails in the
publisher's stack trace rather than in a dispatcher nobody is watching.

Nothing is ever lost here, so resume handlers never run, except inside
:meth:`MemoryBus.outage`, which lets tests lose events the way a node cut off
from Redis does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from tidings.bus.base import Bus, decode_event, encode_event
from tidings.domain.events import Event
from tidings.observability import EVENTS_PUBLISHED


@dataclass(frozen=True, slots=True)
class _Gap:
    """In the queue: run the resume handlers here, in order with the events."""

    since_ms: int


class MemoryBus(Bus):
    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.Queue[Event | _Gap] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._losing = False

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("bus is closed")
        if self._task is not None:
            raise RuntimeError("bus already started")
        self._task = asyncio.create_task(self._run(), name="tidings-bus-memory")

    async def publish(self, event: Event) -> None:
        if self._task is None or self._closed:
            raise RuntimeError("bus is not running: call start() first")
        copy = decode_event(encode_event(event))
        if self._losing:
            return
        self._queue.put_nowait(copy)
        EVENTS_PUBLISHED.labels(type=event.name).inc()

    @contextlib.asynccontextmanager
    async def outage(self) -> AsyncIterator[None]:
        """For tests: lose every event published inside the block, as a node cut off
        from Redis does, then run the resume handlers as it does once it is back."""
        since_ms = time.time_ns() // 1_000_000
        self._losing = True
        try:
            yield
        finally:
            self._losing = False
            self._queue.put_nowait(_Gap(since_ms))

    async def drain(self) -> None:
        """Wait until every event published so far has been handled.

        For tests: ``await publish(...)`` returns before handlers run, as with
        Redis. Do not call it from a handler, which would wait for itself.
        """
        await self._queue.join()

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        # Closing from a handler must not await the dispatcher it runs on.
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, _Gap):
                    await self._resume(item.since_ms)
                else:
                    await self._dispatch(item)
            finally:
                self._queue.task_done()
