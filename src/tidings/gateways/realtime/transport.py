"""The native real-time gateway over Starlette WebSockets (``/api/v1/ws``).

Per connection: authenticate at the handshake, record presence, send ``hello``,
then run two tasks. The reader parses frames (:mod:`.protocol`), calls one core
service per command and queues the ack or error; the writer drains the
connection's bounded outbox, which the :class:`ConnectionRegistry` also fills
with events from the bus. Acks and events share the outbox, so a client sees
them in the order they were queued.

Handshake: the session token comes from ``?token=`` (browsers cannot set
headers on a WebSocket) or ``Authorization: Bearer <token>``. A missing or bad
token closes the socket before it is accepted, with code 4401; Starlette turns a
close before accept into an HTTP 403 response, so clients see a refused
handshake, not a WebSocket close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from tidings.core.catch_up import MARGIN_MS, missed_messages
from tidings.domain.errors import DomainError, Unauthenticated
from tidings.domain.models import Actor
from tidings.fanout import SentSeqs
from tidings.gateways.realtime.protocol import (
    Command,
    DeleteMessage,
    EditMessage,
    MarkDelivered,
    MarkRead,
    Ping,
    ProtocolError,
    Resync,
    SendMessage,
    Typing,
    encode_ack,
    encode_error,
    encode_hello,
    encode_pong,
    encode_resync,
    parse_command,
    resync_dialog,
)
from tidings.gateways.realtime.registry import ConnectionRegistry
from tidings.gcra import LocalLimiter, Rate, Verdict
from tidings.observability import WS_CONNECTIONS

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: Close code for a refused handshake (4000-4999 are for applications; 401 + 4000).
CLOSE_UNAUTHENTICATED = 4401
#: RFC 6455 §7.4.1: the server is going down.
CLOSE_GOING_AWAY = 1001
HEARTBEAT_SECONDS = 30.0
#: Sustained inbound frames per second per connection, and the burst allowed above it.
FRAME_RATE = 50.0
FRAME_BURST = 100

log = logging.getLogger("tidings.gateways.realtime")


class RealtimeGateway:
    """Serves ``/api/v1/ws``: ``await start()`` once, ``handle`` each socket, ``stop()``."""

    def __init__(
        self, core: Core, *, frame_rate: float = FRAME_RATE, frame_burst: int = FRAME_BURST
    ) -> None:
        self.core = core
        self.registry = ConnectionRegistry(self._missed, margin_ms=MARGIN_MS)
        self.frame_rate = frame_rate
        self.frame_burst = frame_burst
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Follow the bus and keep this node's presence rows fresh; idempotent."""
        self.registry.attach(self.core.bus)
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat(), name="tidings-realtime-heartbeat")

    async def _missed(self, users: Iterable[tuple[int, int]], since_ms: int) -> Any:
        """What ``users`` missed during a bus gap, for the registry's catch-up."""
        limit = self.core.settings.catch_up_limit
        return await missed_messages(self.core, users, since_ms, limit=limit)

    async def stop(self) -> None:
        """Stop following the bus and ask every open connection to close (1001)."""
        self.registry.detach()
        task, self._heartbeat = self._heartbeat, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for conn in self.registry.connections():
            self.registry.remove(conn)
            conn.kick(CLOSE_GOING_AWAY, "server shutting down")

    async def _beat(self) -> None:
        # Refresh well within the timeout, even when an operator sets it short.
        interval = min(HEARTBEAT_SECONDS, max(1.0, self.core.settings.presence_timeout / 3))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.core.presence.heartbeat()
            except Exception:
                log.exception("presence heartbeat failed")

    # -- one connection ------------------------------------------------------------

    async def handle(self, websocket: WebSocket) -> None:
        """Serve one WebSocket until either side closes it."""
        try:
            actor = await self.core.auth.authenticate(_token(websocket))
        except Unauthenticated:
            await websocket.close(code=CLOSE_UNAUTHENTICATED)
            return
        await websocket.accept()
        connection_id = await self.core.presence.connect(actor)
        client = _Client(
            actor, connection_id, max(1, self.core.settings.ws_send_queue), self.core.now_ms()
        )
        # Queued before registering, so hello is the first frame whatever the bus does.
        client.push(
            encode_hello(user_id=actor.user_id, app_id=actor.app_id, connection_id=connection_id)
        )
        self.registry.add(client)
        WS_CONNECTIONS.inc()
        try:
            await self._serve(websocket, client)
        finally:
            self.registry.remove(client)
            WS_CONNECTIONS.dec()
            try:
                await self.core.presence.disconnect(connection_id)
            except Exception:
                log.exception("could not record a realtime disconnect")

    async def _serve(self, websocket: WebSocket, client: _Client) -> None:
        """Run reader and writer until one ends: the peer left, or we closed."""
        reader = asyncio.create_task(self._read(websocket, client))
        writer = asyncio.create_task(self._write(websocket, client))
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer):
                task.cancel()
            for outcome in await asyncio.gather(reader, writer, return_exceptions=True):
                if isinstance(outcome, Exception):
                    log.error("realtime connection failed", exc_info=outcome)

    async def _write(self, websocket: WebSocket, client: _Client) -> None:
        while True:
            frame = await client.outbox.get()
            if frame is None:
                code, reason = client.closing or (CLOSE_GOING_AWAY, "")
                with contextlib.suppress(Exception):
                    await websocket.close(code=code, reason=reason)
                return
            try:
                await websocket.send_text(frame)
            except Exception:
                # The peer is gone; the reader will see the disconnect too.
                return

    async def _read(self, websocket: WebSocket, client: _Client) -> None:
        # The frame budget is this socket's alone, so it stays in this process: a
        # shared (Redis) count would add a round trip per frame and buy nothing.
        bucket = _FrameBudget(Rate(self.frame_rate, 1.0, burst=self.frame_burst))
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = message.get("text")
            if frame is None:
                frame = message.get("bytes")
            if frame is None:
                continue
            reply = await self._answer(client.actor, frame, bucket)
            if reply is not None:
                # A full outbox gets the client dropped; the writer then closes.
                self.registry.push(client, reply)

    async def _answer(self, actor: Actor, frame: str | bytes, bucket: _FrameBudget) -> str | None:
        """The reply frame to one client frame (None: nothing to say)."""
        try:
            command = parse_command(frame)
        except ProtocolError as exc:
            verdict = bucket.take(time.monotonic())
            if not verdict.allowed:
                return _rate_limited(exc.ref, verdict)
            return encode_error(exc.ref, exc.to_dict())
        # Parsed first so that a refusal still carries the ref the client waits on.
        verdict = bucket.take(time.monotonic())
        if not verdict.allowed:
            return _rate_limited(command.ref, verdict)
        try:
            return await self._execute(actor, command)
        except DomainError as exc:
            return encode_error(command.ref, exc.to_dict())
        except Exception:
            log.exception("realtime command %s failed", type(command).__name__)
            return encode_error(
                command.ref, {"code": "internal_error", "message": "the server failed"}
            )

    async def _execute(self, actor: Actor, command: Command) -> str | None:
        """Call the one core service a command stands for; map its result to a frame."""
        core = self.core
        match command:
            case SendMessage():
                sent = await core.messages.send_message(
                    actor,
                    command.dialog_id,
                    command.body,
                    message_id=command.id,
                    attachments=command.attachments,
                    params=command.params,
                    self_destroy_after=command.self_destroy_after,
                    silent=command.silent,
                )
                return encode_ack(command.ref, message=sent.to_dict())
            case EditMessage():
                edited = await core.messages.edit_message(
                    actor, command.dialog_id, command.message_id, command.body
                )
                return encode_ack(command.ref, message=edited.to_dict())
            case DeleteMessage():
                await core.messages.delete_message(
                    actor, command.dialog_id, command.message_id, for_everyone=command.for_everyone
                )
                return encode_ack(command.ref)
            case MarkRead():
                marker = await core.receipts.mark_read(actor, command.dialog_id, command.message_id)
                return encode_ack(command.ref, marker=marker)
            case MarkDelivered():
                marker = await core.receipts.mark_delivered(
                    actor, command.dialog_id, command.message_id
                )
                return encode_ack(command.ref, marker=marker)
            case Typing():
                await core.typing.set_typing(actor, command.dialog_id, command.typing)
                # Typing is chatty and fire-and-forget: acked only when asked (a ref).
                return encode_ack(command.ref) if command.ref is not None else None
            case Resync():
                return await self._resync(actor, command)
            case Ping():
                return encode_pong(command.ref)

    async def _resync(self, actor: Actor, command: Resync) -> str:
        """Each dialog answers on its own, so one bad id does not spoil the rest."""
        dialogs = {}
        for dialog_id, cursor in command.cursors.items():
            try:
                fetched, last_seq = await self.core.messages.messages_since(
                    actor, dialog_id, cursor, command.limit + 1
                )
            except DomainError as exc:
                dialogs[dialog_id] = {"error": exc.to_dict()}
                continue
            dialogs[dialog_id] = resync_dialog(
                cursor, command.limit, [m.to_dict() for m in fetched], last_seq
            )
        return encode_resync(command.ref, dialogs)


class _Client:
    """One accepted socket as the registry sees it: who, and a bounded outbox.

    ``None`` in the outbox tells the writer to close with ``closing``.
    """

    def __init__(self, actor: Actor, connection_id: str, queue_size: int, opened_ms: int) -> None:
        self.actor = actor
        self.app_id = actor.app_id
        self.user_id = actor.user_id
        self.connection_id = connection_id
        self.opened_ms = opened_ms
        self.sent = SentSeqs()
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue(queue_size)
        self.closing: tuple[int, str] | None = None

    def push(self, frame: str) -> bool:
        if self.closing is not None:
            return True  # closing anyway: drop it quietly
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    def kick(self, code: int, reason: str) -> None:
        if self.closing is not None:
            return
        self.closing = (code, reason)
        # Whatever is still queued would only delay the close: make room for it.
        while not self.outbox.empty():
            self.outbox.get_nowait()
        self.outbox.put_nowait(None)


class _FrameBudget:
    """One socket's inbound frame budget: the shared GCRA limiter with one key."""

    __slots__ = ("limiter", "rate")

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self.limiter = LocalLimiter(max_keys=1)

    def take(self, now: float) -> Verdict:
        return self.limiter.hit("frames", self.rate, now)


def _rate_limited(ref: str | None, verdict: Verdict) -> str:
    return encode_error(
        ref,
        {
            "code": "rate_limited",
            "message": "too many frames; this one was dropped",
            "details": {"retry_after": round(verdict.retry_after, 3)},
        },
    )


def _token(websocket: WebSocket) -> str | None:
    token = websocket.query_params.get("token")
    if token:
        return token
    scheme, _, credentials = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None
