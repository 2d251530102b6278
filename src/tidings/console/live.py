"""Live console updates: ticket, GMS chat and callback events from the bus, to the
agents' sockets.

The bus handler only hands events to per-socket queues (bus handlers must not
do I/O); each socket's own task writes them out.

A customer's comment also gets an ``attention`` frame, once per app rather than per
socket: who the ticket is assigned to and what the customer wrote, read from the
store in a task of its own, so the page can decide on a desktop notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from tidings.core.desk_attention import DeskAttention
from tidings.core.hub import Core
from tidings.domain.events import (
    CallbackChanged,
    Event,
    GmsChatChanged,
    MessageCreated,
    TicketChanged,
)

QUEUE_SIZE = 200
#: Ticket changes that may be a customer's new comment (a reply can reopen too).
CUSTOMER_CHANGES = ("comment", "reopened")

log = logging.getLogger("tidings.console")


class ConsoleLive:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._queues: dict[int, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._attention = DeskAttention(core)
        self._lookups: set[asyncio.Task[None]] = set()
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
        self._send(event.app_id, update)
        if (
            isinstance(event, TicketChanged)
            and event.change in CUSTOMER_CHANGES
            and self._queues.get(event.app_id)
        ):
            task = asyncio.create_task(self._tell_attention(event.app_id, event.ticket_id))
            self._lookups.add(task)
            task.add_done_callback(self._lookups.discard)

    def _send(self, app_id: int, update: dict[str, Any]) -> None:
        for queue in self._queues.get(app_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(update)

    async def _tell_attention(self, app_id: int, ticket_id: int) -> None:
        """The ``attention`` frame of a customer's comment; none for an agent's reply.
        A failed read loses one notification, never the socket."""
        try:
            wrote = await self._attention.customer_wrote(app_id, ticket_id)
        except Exception:
            log.warning("no attention frame for ticket %s", ticket_id, exc_info=True)
            return
        if wrote is None:
            return
        self._send(
            app_id,
            {
                "change": "attention",
                "ticket_id": wrote.ticket_id,
                "assignee_id": wrote.assignee_id,
                "author": "customer",
                "author_name": wrote.author_name,
                "subject": wrote.subject,
                "text": wrote.text,
                "files": wrote.files,
            },
        )

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
        for task in list(self._lookups):
            task.cancel()
