"""Async client for the native real-time gateway (``/api/v1/ws``), built on websockets.

One background task reads every frame: replies are matched to the request that
carried the same ``ref`` and resolve its future; events queue up in arrival
order for :meth:`RealtimeConnection.next_event`. Usage::

    async with RealtimeConnection.connect("ws://127.0.0.1:8080/api/v1/ws", token) as conn:
        message = await conn.send_message(dialog_id, "hi")   # a Message
        event = await conn.next_event("message.created")     # an Event
        assert event.data["message"]["id"] == message.id

Replies and events come back as the models of ``tidings.api_schemas`` (and the
domain's ``Message``); :meth:`RealtimeConnection.request` stays raw, for tests
and frames without a method here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tidings.api_schemas import ErrorFrame, Event, Hello, ResyncDialog
from tidings.client.parsing import parse
from tidings.domain.models import Message

_T = TypeVar("_T")
Frame = dict[str, Any]

#: Replies that answer a request (by ``ref``); everything else is unsolicited.
_REPLY_TYPES = frozenset({"ack", "error", "resync", "pong"})


class RealtimeError(Exception):
    """An error frame, a refused handshake or a lost connection: ``code`` and message."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


class RealtimeConnection:
    """One live connection; open it with :meth:`connect`."""

    def __init__(self, ws: ClientConnection, hello: Hello, *, timeout: float) -> None:
        self.ws = ws
        #: The server's first frame: ``user_id``, ``app_id``, ``connection_id``.
        self.hello = hello
        self.timeout = timeout
        self._refs = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Frame]] = {}
        self._events: list[Frame] = []
        self._errors: list[Frame] = []
        self._arrived = asyncio.Condition()
        self._closed: RealtimeError | None = None
        self._reader = asyncio.create_task(self._read(), name="tidings-realtime-client")

    @classmethod
    def connect(
        cls, ws_url: str, token: str, *, timeout: float = 10.0, token_in_query: bool = False
    ) -> _Connecting:
        """Open a connection: ``await`` it, or use it as ``async with``.

        The token goes in the ``Authorization`` header unless ``token_in_query``
        (what a browser has to do) puts it in ``?token=``.
        """
        return _Connecting(cls._open(ws_url, token, timeout, token_in_query))

    @classmethod
    async def _open(
        cls, ws_url: str, token: str, deadline: float, token_in_query: bool
    ) -> RealtimeConnection:
        headers = {} if token_in_query else {"Authorization": f"Bearer {token}"}
        if token_in_query:
            ws_url += ("&" if "?" in ws_url else "?") + f"token={token}"
        try:
            ws = await connect(
                ws_url, additional_headers=headers, open_timeout=deadline, max_size=2**24
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise RealtimeError(
                "handshake_refused",
                f"the server refused the connection (HTTP {status})",
                {"status": status},
            ) from exc
        try:
            async with asyncio.timeout(deadline):
                first = json.loads(await ws.recv())
        except BaseException:
            await ws.close()
            raise
        try:
            if not isinstance(first, dict) or first.get("type") != "hello":
                raise ValueError("not a hello frame")
            hello = parse(Hello, first)
        except ValueError:
            await ws.close()
            raise RealtimeError(
                "bad_hello", f"expected a hello frame, got {str(first)[:200]}"
            ) from None
        return cls(ws, hello, timeout=deadline)

    async def __aenter__(self) -> RealtimeConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def close_code(self) -> int | None:
        """The close code once the connection is closed (1013: we read too slowly)."""
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    # -- commands --------------------------------------------------------------------

    async def send_message(
        self,
        dialog_id: str,
        body: str = "",
        *,
        id: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        params: dict[str, Any] | None = None,
        self_destroy_after: int | None = None,
    ) -> Message:
        """Send and return the stored message (with its ``seq``).

        Pass your own ``id`` (24 hex) to retry safely after a lost ack.
        """
        reply = await self.request(
            {
                "type": "send",
                "dialog_id": dialog_id,
                "id": id,
                "body": body,
                "attachments": attachments,
                "params": params,
                "self_destroy_after": self_destroy_after,
            }
        )
        return _field(reply, "message", Message)

    async def edit(self, dialog_id: str, message_id: str, body: str) -> Message:
        reply = await self.request(
            {"type": "edit", "dialog_id": dialog_id, "message_id": message_id, "body": body}
        )
        return _field(reply, "message", Message)

    async def delete(self, dialog_id: str, message_id: str, *, for_everyone: bool = False) -> None:
        await self.request(
            {
                "type": "delete",
                "dialog_id": dialog_id,
                "message_id": message_id,
                "for_everyone": for_everyone,
            }
        )

    async def mark_read(self, dialog_id: str, message_id: str | None = None) -> int:
        """Read up to ``message_id`` (default: the newest); returns the read marker (a seq)."""
        reply = await self.request(
            {"type": "read", "dialog_id": dialog_id, "message_id": message_id}
        )
        return _field(reply, "marker", int)

    async def mark_delivered(self, dialog_id: str, message_id: str | None = None) -> int:
        reply = await self.request(
            {"type": "delivered", "dialog_id": dialog_id, "message_id": message_id}
        )
        return _field(reply, "marker", int)

    async def typing(self, dialog_id: str, typing: bool = True) -> None:
        """Fire and forget: sent without a ref, so the server does not ack it."""
        await self.send_frame({"type": "typing", "dialog_id": dialog_id, "typing": typing})

    async def resync(self, cursors: dict[str, int], limit: int = 100) -> dict[str, ResyncDialog]:
        """What each dialog got after its cursor (``error`` set for a dialog that failed)."""
        reply = await self.request({"type": "resync", "cursors": cursors, "limit": limit})
        return _field(reply, "dialogs", dict[str, ResyncDialog])

    async def ping(self) -> float:
        """Round trip through the server's reader, in seconds."""
        started = time.perf_counter()
        await self.request({"type": "ping"})
        return time.perf_counter() - started

    # -- frames ------------------------------------------------------------------------

    async def request(self, frame: Frame) -> Frame:
        """Send ``frame`` with a fresh ``ref`` and return the reply that echoes it.

        Raises :class:`RealtimeError` for an error reply, ``TimeoutError`` if none
        comes within the connection's ``timeout``.
        """
        if self._closed is not None:
            raise self._closed
        ref = f"c{next(self._refs)}"
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        try:
            await self.send_frame({**frame, "ref": ref})
            async with asyncio.timeout(self.timeout):
                reply = await future
        finally:
            self._pending.pop(ref, None)
        if reply["type"] == "error":
            error = _parse(ErrorFrame, reply).error
            raise RealtimeError(error.code, error.message, error.details)
        return reply

    async def send_frame(self, frame: Frame) -> None:
        await self.send_raw(json.dumps(frame))

    async def send_raw(self, text: str | bytes) -> None:
        """Send a frame exactly as given (tests use it for malformed input)."""
        try:
            await self.ws.send(text)
        except ConnectionClosed as exc:
            raise self._closed or _lost(exc) from exc

    async def next_event(
        self,
        name: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-call deadline is the point here
    ) -> Event:
        """The next event frame named ``name`` (any name if None).

        Events of other names that arrived before it stay queued, in order, for
        later calls. Raises ``TimeoutError`` if none comes in time.
        """
        frame = await self._take(
            self._events, lambda f: name is None or f.get("event") == name, timeout
        )
        return _parse(Event, frame)

    async def next_error(self, timeout: float = 5.0) -> ErrorFrame:  # noqa: ASYNC109
        """The next error frame that answered no pending request (e.g. one without a ref)."""
        return _parse(ErrorFrame, await self._take(self._errors, lambda f: True, timeout))

    async def _take(
        self, queue: list[Frame], match: Callable[[Frame], bool], seconds: float
    ) -> Frame:
        async with asyncio.timeout(seconds), self._arrived:
            while True:
                for index, frame in enumerate(queue):
                    if match(frame):
                        return queue.pop(index)
                if self._closed is not None:
                    raise self._closed
                await self._arrived.wait()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                future = self._pending.get(frame.get("ref")) if kind in _REPLY_TYPES else None
                if future is not None:
                    if not future.done():
                        future.set_result(frame)
                    continue
                async with self._arrived:
                    if kind == "event":
                        self._events.append(frame)
                    elif kind == "error":
                        self._errors.append(frame)
                    self._arrived.notify_all()
            self._closed = _lost(None, self.ws.close_code)
        except ConnectionClosed as exc:
            self._closed = _lost(exc)
        finally:
            self._closed = self._closed or RealtimeError("connection_closed", "connection closed")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(self._closed)
            async with self._arrived:
                self._arrived.notify_all()


def _parse(kind: type[_T], data: object) -> _T:
    """A frame (or part of one) as ``kind``; a server frame of another shape is a
    ``bad_answer`` error, not a half-read value."""
    try:
        return parse(kind, data)
    except ValueError as exc:
        name = getattr(kind, "__name__", str(kind))
        raise RealtimeError(
            "bad_answer", f"the server's frame is not a {name}", {"reason": str(exc)[:500]}
        ) from None


def _field(reply: Frame, key: str, kind: type[_T]) -> _T:
    """``reply[key]`` as ``kind`` (a missing key is a bad answer too)."""
    if key not in reply:
        raise RealtimeError("bad_answer", f"the server's reply has no {key!r}", {"reply": reply})
    return _parse(kind, reply[key])


def _lost(exc: ConnectionClosed | None, code: int | None = None) -> RealtimeError:
    if exc is not None and exc.rcvd is not None:
        code = exc.rcvd.code
    return RealtimeError("connection_closed", f"connection closed (code {code})", {"code": code})


class _Connecting:
    """What :meth:`RealtimeConnection.connect` returns: awaitable, or ``async with``."""

    def __init__(self, opening: Coroutine[Any, Any, RealtimeConnection]) -> None:
        self._opening = opening
        self._conn: RealtimeConnection | None = None

    def __await__(self) -> Generator[Any, None, RealtimeConnection]:
        return self._opening.__await__()

    async def __aenter__(self) -> RealtimeConnection:
        self._conn = await self._opening
        return self._conn

    async def __aexit__(self, *exc_info: object) -> None:
        if self._conn is not None:
            await self._conn.close()
