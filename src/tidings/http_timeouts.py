"""Deadlines uvicorn does not have: request headers, a stalled body, header size.

uvicorn closes a kept-alive connection that stays idle between requests
(``timeout_keep_alive``), but sets no deadline on a request still arriving: a
client that connects and sends nothing, or sends its headers a byte a second
(slowloris), holds a socket, a parser and a file descriptor for as long as it
likes. nginx answers the same with ``client_header_timeout`` and
``client_body_timeout`` (60 s each); :func:`timed_http_protocol` gives uvicorn's
httptools protocol the equivalents:

- **headers**: the request's headers must be complete within ``header_timeout``
  of the connection opening (first request) or of the first read of the
  request (later requests on a kept-alive connection). A late request that had begun
  gets ``408 Request Timeout``; a connection that never sent a byte is closed.
- **body**: while a body is arriving, ``body_timeout`` may pass between two
  reads, not more (a slow upload that keeps moving is fine). A stall gets 408 if
  the response has not started, and the connection is closed. Time during which
  *we* stopped reading (flow control, the app not consuming) does not count.
- **header size**: more than :data:`MAX_HEADER_BYTES` before the headers end
  gets ``431`` (httptools itself has no such bound).

WebSocket upgrades leave this protocol once their headers are complete; after
that the WebSocket's ping/pong keepalive applies.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("tidings.http")

#: Most bytes a request may send before its headers are complete.
MAX_HEADER_BYTES = 64 * 1024
#: After a refusal, how long what the client still sends is read and dropped.
LINGER_SECONDS = 2.0


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines (see the module)."""

    header_timeout: float = 60.0
    body_timeout: float = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        #: True from a request's first byte until its headers are complete.
        self._in_headers = False
        self._header_bytes = 0
        #: True from the end of a request's headers until the end of its body.
        self._in_body = False
        #: True once refused: input is dropped until the connection closes.
        self._discarding = False

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        super().data_received(data)
        # Deadlines are armed only for a request still incomplete after a read: most
        # requests arrive whole in one read and never cost a timer.
        if self.parser is None or self.transport.is_closing():
            return
        if self._in_headers:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse(431, "request_headers_too_large", "the request headers are too large")
            elif self._deadline is None:
                self._arm(self.header_timeout, self._headers_late)
        elif self._in_body:
            self._arm(self.body_timeout, self._body_late)  # silence counts from the last read

    # -- httptools callbacks ----------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._disarm()
        super().on_headers_complete()
        self._in_body = not (self.parser.should_upgrade() and self._should_upgrade())

    def on_message_complete(self) -> None:
        self._in_body = False
        self._disarm()
        super().on_message_complete()

    # -- deadlines --------------------------------------------------------------------

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        if seconds > 0:
            self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._in_headers:
            log.debug("request headers too slow; closing", extra={"client": self.client})
            self._refuse(408, "request_timeout", "the request headers did not arrive in time")
        else:
            self.transport.close()  # connected and silent: nothing to answer

    def _body_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or not self._in_body:
            return
        if self.flow is not None and self.flow.read_paused:
            # We stopped reading (the app is slow to consume): not the client's fault.
            self._arm(self.body_timeout, self._body_late)
            return
        log.debug("request body stalled; closing", extra={"client": self.client})
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            self._refuse(408, "request_timeout", "the request body stalled")
        else:
            self.transport.close()
        if cycle is not None:
            cycle.disconnected = True  # the app's receive() now says http.disconnect
            cycle.message_event.set()

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` with a JSON error body and close the connection."""
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self._linger()

    def _linger(self) -> None:
        """Half-close, then drop what the client still sends for a moment before
        closing: closing a socket with unread input sends an RST, and the client's
        kernel would throw our answer away with it (nginx's lingering close)."""
        self._discarding = True
        self._in_headers = self._in_body = False
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._arm(LINGER_SECONDS, self.transport.close)


def timed_http_protocol(header_timeout: float, body_timeout: float) -> type[TimedHttpToolsProtocol]:
    """The protocol class to pass as uvicorn's ``http=``, with these deadlines."""
    return type(
        "TimedHttpToolsProtocol",
        (TimedHttpToolsProtocol,),
        {"header_timeout": float(header_timeout), "body_timeout": float(body_timeout)},
    )
