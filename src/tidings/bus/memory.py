"""A bus for one process: an asyncio queue, with the JSON round trip Redis makes.

Used in tests and single-node deployments. Encoding and decoding happen in
:meth:`MemoryBus.publish`, so an event that cannot cross Redis fails in the
publisher's stack trace rather than in a dispatcher nobody is watching.
"""

from __future__ import annotations

import asyncio
import contextlib

from tidings.bus.base import Bus, decode_event, encode_event
from tidings.core.events import Event
from tidings.observability import EVENTS_PUBLISHED


class MemoryBus(Bus):
    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

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
        self._queue.put_nowait(copy)
        EVENTS_PUBLISHED.labels(type=event.name).inc()

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
            event = await self._queue.get()
            try:
                await self._dispatch(event)
            finally:
                self._queue.task_done()
