"""Bayeux over WebSocket at the base path: one message per frame (bayeux-server §2.4).

Frames in may be an array or a bare object (GFaye); frames out are always a
one-element array, because GFaye reads only element 0. Deliveries are written
as soon as they are queued. Closing the socket does not end the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from starlette.websockets import WebSocket, WebSocketDisconnect

from tidings.gateways.bayeux.mapping import BayeuxGateway, identity_from
from tidings.gateways.bayeux.messages import BadRequest, Message, encode, parse_json


class _Socket:
    def __init__(self, gateway: BayeuxGateway, websocket: WebSocket) -> None:
        self.gateway = gateway
        self.websocket = websocket
        self.clients: set[str] = set()
        self.kick = asyncio.Event()
        self.lock = asyncio.Lock()
        self.holds: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self.kick.set()

    async def send(self, messages: list[Message]) -> None:
        async with self.lock:
            for message in messages:
                await self.websocket.send_text(encode([message]).decode())

    async def writer(self) -> None:
        while True:
            await self.kick.wait()
            self.kick.clear()
            for client_id in list(self.clients):
                await self.send(self.gateway.server.take(client_id))

    def bind(self, client_id: str) -> None:
        if client_id not in self.clients:
            self.clients.add(client_id)
            self.gateway.attach_socket(client_id, self.wake)
        self.kick.set()

    async def hold(self, client_id: str, token: int, deadline: int) -> None:
        event = self.gateway.register_hold(client_id, token)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(0.0, (deadline - self.gateway.now()) / 1000))
        await self.send(self.gateway.finish_hold(client_id, token))

    async def on_frame(self, text: str, attributes: dict[str, str]) -> None:
        try:
            messages = parse_json(text)
        except BadRequest as exc:
            await self.websocket.close(code=1003, reason=str(exc)[:120])
            raise WebSocketDisconnect(1003) from None
        outcome = await self.gateway.process(messages, transport="websocket", attributes=attributes)
        replies = outcome.replies
        if outcome.hold is not None:
            hold = outcome.hold
            task = asyncio.create_task(self.hold(hold.client_id, hold.token, hold.deadline))
            self.holds.add(task)
            task.add_done_callback(self.holds.discard)
        # Released holds (supersede/disconnect) finish in their own tasks: let them write
        # their connect reply before the disconnect reply (§4.4).
        if outcome.released:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        await self.send(replies)
        # The socket carries the deliveries of the sessions this frame acted for (a
        # handshake's new session included), never of a clientId merely named.
        for client_id in outcome.clients:
            if client_id in self.gateway.server.sessions:
                self.bind(client_id)

    def close(self) -> None:
        for client_id in self.clients:
            self.gateway.detach_socket(client_id, self.wake)
        for task in self.holds:
            task.cancel()


async def handle_websocket(gateway: BayeuxGateway, websocket: WebSocket) -> None:
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol=None if not offered else None)
    attributes = identity_from(websocket.headers)
    socket = _Socket(gateway, websocket)
    writer = asyncio.create_task(socket.writer())
    watchdog = _handshake_watchdog(socket, gateway.core.settings.auth_timeout)
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            text = frame.get("text")
            if text is None:
                await websocket.close(code=1003)  # binary frames are not Bayeux (§2.4)
                break
            await socket.on_frame(text, attributes)
    except (WebSocketDisconnect, RuntimeError, json.JSONDecodeError):
        pass
    finally:
        if watchdog is not None:
            watchdog.cancel()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        socket.close()


def _handshake_watchdog(socket: _Socket, seconds: float) -> asyncio.TimerHandle | None:
    """Close a socket that has not completed a handshake in ``seconds``
    (TIDINGS_AUTH_TIMEOUT), as an unauthenticated XMPP stream is closed; once
    handshaken, a session's own deadlines (maxInterval) apply."""
    if seconds <= 0:
        return None

    def expire() -> None:
        if not socket.clients:
            reason = f"no handshake within {seconds:g} s"
            task = asyncio.ensure_future(socket.websocket.close(code=1008, reason=reason))
            socket.holds.add(task)  # kept referenced until done; cancelled with the holds
            task.add_done_callback(socket.holds.discard)

    return asyncio.get_running_loop().call_later(seconds, expire)
