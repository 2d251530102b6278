"""Live console updates: ticket, GMS chat and callback events from the bus, to the
agents' sockets.

The bus handler only hands events to per-socket queues (bus handlers must not
do I/O); each socket's own task writes them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from tidings.core.hub import Core
from tidings.domain.events import (
    CallbackChanged,
    Event,
    GmsChatChanged,
    MessageCreated,
    TicketChanged,
)

QUEUE_SIZE = 200


class ConsoleLive:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._queues: dict[int, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._unsubscribe = core.bus.subscribe(self._on_event)

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, TicketChanged):
            update = {"ticket_id": event.ticket_id, "change": event.change}
        elif isinstance(event, MessageCreated) and event.message.get("params", {}).get("desk"):
            update = {"dialog_id": event.dialog_id, "change": "message"}
        elif isinstance(event, CallbackChanged):
            update = {"service_id": event.service_id, "change": "callback", "state": event.state}
        elif isinstance(event, GmsChatChanged):
            # Joins, leaves and typing of a GMS chat: the ticket showing it redraws.
            kinds = [f"{e[4]}:{e[1]}" for e in event.entries]
            update = {"service_id": event.service_id, "change": "gms", "entries": kinds}
        else:
            return
        for queue in self._queues.get(event.app_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(update)

    async def serve(self, websocket: WebSocket, app_id: int) -> None:
        # Listen before accepting: once the page sees the socket open, nothing is missed.
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._queues.setdefault(app_id, set()).add(queue)
        try:
            await websocket.accept()
        except Exception:
            self._queues.get(app_id, set()).discard(queue)
            raise
        reader = asyncio.create_task(self._drain_incoming(websocket))
        try:
            while not reader.done():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                await websocket.send_text(json.dumps(getter.result()))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            self._queues.get(app_id, set()).discard(queue)

    @staticmethod
    async def _drain_incoming(websocket: WebSocket) -> None:
        """The page sends nothing but pings; this ends when the socket closes."""
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return

    def close(self) -> None:
        self._unsubscribe()
