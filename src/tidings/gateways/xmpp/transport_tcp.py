"""XMPP c2s over TCP (RFC 6120) with STARTTLS: bytes from the socket into a :class:`Link`.

Most clients sit idle for hours, so what an idle connection costs is what counts.
This is an ``asyncio.Protocol`` rather than streams: no reader task per socket
(a task runs only while there are bytes to process, then ends), no
``StreamReader``, no timer of its own (one sweep per listener finds the
connections that went silent), and TLS done here with
:class:`~tls.TlsSession` instead of ``loop.start_tls``, whose 256 KiB read
buffer per connection was most of the cost.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
from typing import TYPE_CHECKING, cast

from tidings.gateways.xmpp.connection import Link
from tidings.gateways.xmpp.protocol import XmppStream
from tidings.gateways.xmpp.tls import TlsError, TlsSession

if TYPE_CHECKING:
    from tidings.gateways.xmpp.gateway import XmppGateway

log = logging.getLogger("tidings.gateways.xmpp")

#: Seconds a peer may stay silent; clients ping well within this (XEP-0199).
IDLE_TIMEOUT = 600
#: How often silent connections are looked for: they are closed up to this late.
SWEEP_INTERVAL = 30
#: Seconds a client has to finish the TLS handshake after ``<proceed/>``.
HANDSHAKE_TIMEOUT = 60
#: Plaintext waiting for the link before we stop reading from the socket.
MAX_PENDING = 64 * 1024

#: Queued in place of data: the peer is gone (EOF, error or idle timeout).
_EOF = b""


class XmppTcpProtocol(asyncio.Protocol):
    """One c2s socket: the :class:`LinkTransport` of its :class:`Link`, and its reader.

    Received bytes (decrypted first once TLS is on) are queued and handed to the
    link in order by one short-lived task. Reading from the socket pauses while
    the queue is long or while the peer is not reading what we send, so a client
    cannot make us buffer without bound.
    """

    __slots__ = (
        "_direct_tls",
        "_eof",
        "_finished",
        "_handshake",
        "_last_read",
        "_peer",
        "_pending",
        "_pending_bytes",
        "_reading_paused",
        "_sweeper",
        "_task",
        "_tls",
        "_tls_ready",
        "_transport",
        "_writing_paused",
        "gateway",
        "link",
    )

    def __init__(
        self, gateway: XmppGateway, sweeper: _IdleSweeper, *, direct_tls: bool = False
    ) -> None:
        self.gateway = gateway
        #: XEP-0368: TLS from the first byte, no STARTTLS.
        self._direct_tls = direct_tls
        self._tls_ready = False
        self._sweeper = sweeper
        self.link: Link | None = None
        self._transport: asyncio.Transport | None = None
        self._peer = ""
        self._tls: TlsSession | None = None
        self._handshake: asyncio.Future[None] | None = None
        # Plaintext for the link; made when data comes and dropped once handed over.
        self._pending: collections.deque[bytes] | None = None
        self._pending_bytes = 0
        self._task: asyncio.Task[None] | None = None
        self._last_read = 0.0
        self._writing_paused = False
        self._reading_paused = False
        self._eof = False
        self._finished = False

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports do not subclass asyncio.Transport.
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else ""
        stream = XmppStream(
            self.gateway.addressing.domain,
            tls_available=self.gateway.ssl_context is not None,
            caps=self.gateway.caps_feature,
        )
        if self._direct_tls and self.gateway.ssl_context is not None:
            # XEP-0368: the handshake comes first; the stream then opens already secure,
            # so no <starttls/> is offered. A peer speaking plain XML fails the handshake
            # and is dropped (TlsError in _decrypt) before any XML is parsed.
            self._tls = TlsSession(self.gateway.ssl_context)
            stream.tls_active = True
        self.link = Link(self.gateway, stream, self)
        self.gateway.links.add(self.link)
        self._last_read = asyncio.get_running_loop().time()
        self._sweeper.add(self)

    def data_received(self, data: bytes) -> None:
        if self._eof:
            return
        self._last_read = asyncio.get_running_loop().time()
        if self._tls is not None:
            data = self._decrypt(data)
            if not data:
                return
        self._queue(data)

    def eof_received(self) -> bool:
        self._end()
        return True  # keep the socket open for our own </stream:stream>; the link closes it

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()
        self._sweeper.discard(self)
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(ConnectionResetError("closed during the TLS handshake"))

    def pause_writing(self) -> None:
        self._writing_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._update_reading()

    # -- LinkTransport -----------------------------------------------------------------

    @property
    def peer(self) -> str:
        return self._peer

    def write(self, frames: list[bytes]) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        data = b"".join(frames)
        if self._tls is not None:
            try:
                data = self._tls.encrypt(data)
            except ssl.SSLError:
                transport.abort()
                return
        if data:
            transport.write(data)

    def close(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self._tls is not None:
            try:
                notify = self._tls.close()
            except ssl.SSLError:
                notify = b""
            if notify:
                transport.write(notify)
        transport.close()

    def channel_bindings(self) -> dict[str, bytes]:
        """What SCRAM-*-PLUS can bind to on this connection (``channel_binding.py``)."""
        found: dict[str, bytes] = {}
        unique = self._tls.tls_unique() if self._tls is not None else None
        if unique:
            found["tls-unique"] = unique
        if self._tls is not None and self.gateway.server_end_point:
            found["tls-server-end-point"] = self.gateway.server_end_point
        return found

    async def start_tls(self) -> None:
        """Switch to TLS and return once the handshake is done.

        Whatever the peer sent after ``<starttls/>`` and is still queued is the
        start of its handshake, so it goes to TLS rather than to the XML parser.
        """
        context = self.gateway.ssl_context
        if context is None or self._tls is not None:  # the protocol offers STARTTLS once
            raise RuntimeError("STARTTLS without a TLS context, or a second time")
        self._tls = TlsSession(context)
        self._handshake = asyncio.get_running_loop().create_future()
        early, self._pending = self._pending or (), None
        self._pending_bytes = 0
        for chunk in early:
            if not chunk:
                self._queue(_EOF)
                break
            plaintext = self._decrypt(chunk)
            if plaintext:
                self._queue(plaintext)
        self._update_reading()
        try:
            if self._eof and not self._handshake.done():
                raise ConnectionResetError("closed before the TLS handshake")
            await asyncio.wait_for(self._handshake, HANDSHAKE_TIMEOUT)
        finally:
            self._handshake = None

    # -- internals -------------------------------------------------------------------

    def _decrypt(self, data: bytes) -> bytes:
        if self._tls is None or self._transport is None:
            return b""  # no TLS yet, or the connection is gone
        try:
            plaintext, out = self._tls.receive(data)
        except TlsError as exc:
            if exc.output and not self._transport.is_closing():
                self._transport.write(exc.output)
            if self._handshake is not None and not self._handshake.done():
                self._handshake.set_exception(ConnectionResetError(f"TLS handshake failed: {exc}"))
            self._transport.close()
            self._end()
            return b""
        if out and not self._transport.is_closing():
            self._transport.write(out)
        if self._tls.handshake_done and self._handshake is not None and not self._handshake.done():
            self._handshake.set_result(None)
        if self._direct_tls and self._tls.handshake_done and not self._tls_ready:
            self._tls_ready = True
            if self.link is not None:  # for SCRAM-*-PLUS, as after STARTTLS
                self.link.stream.channel_bindings = self.channel_bindings()
        if self._tls.peer_closed:
            if plaintext:
                self._queue(plaintext)
            self._end()
            return b""
        return plaintext

    def _queue(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = collections.deque()
        self._pending.append(data)
        self._pending_bytes += len(data)
        self._update_reading()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _end(self) -> None:
        """No more data will be read: let the link see the end after what is queued."""
        if self._eof:
            return
        self._eof = True
        self._queue(_EOF)

    def _update_reading(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        pause = self._writing_paused or self._pending_bytes > MAX_PENDING
        if pause and not self._reading_paused:
            self._reading_paused = True
            transport.pause_reading()
        elif not pause and self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()

    async def _run(self) -> None:
        """Hand queued data to the link in order; ends when the queue is empty."""
        link = self.link
        if link is None:
            return
        try:
            while self._pending and not self._finished:
                data = self._pending.popleft()
                self._pending_bytes -= len(data)
                self._update_reading()
                if not data or link.stream.closed:  # _EOF
                    await self._finish()
                    break
                await link.data_received(data)
        except Exception:
            log.exception("XMPP TCP connection failed")
            await self._finish()
        finally:
            self._task = None
            if not self._pending:
                self._pending = None

    async def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._pending = None
        link = self.link
        if link is None:
            return
        self.gateway.links.discard(link)
        try:
            await link.connection_lost()
        finally:
            self.close()
            self._sweeper.discard(self)


class _IdleSweeper:
    """Closes a listener's silent connections: one timer in all, not one per connection.

    Runs every :data:`SWEEP_INTERVAL` seconds while there are connections; a read
    only stores the time, which is cheaper than moving a timer.
    """

    def __init__(self) -> None:
        self._protocols: set[XmppTcpProtocol] = set()
        self._handle: asyncio.TimerHandle | None = None

    def add(self, protocol: XmppTcpProtocol) -> None:
        self._protocols.add(protocol)
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(SWEEP_INTERVAL, self._sweep)

    def discard(self, protocol: XmppTcpProtocol) -> None:
        self._protocols.discard(protocol)
        if not self._protocols and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _sweep(self) -> None:
        self._handle = None
        loop = asyncio.get_running_loop()
        silent_since = loop.time() - IDLE_TIMEOUT
        for protocol in [p for p in self._protocols if p._last_read <= silent_since]:
            self._protocols.discard(protocol)
            protocol._end()
        if self._protocols:
            self._handle = loop.call_later(SWEEP_INTERVAL, self._sweep)


async def start_tcp_server(
    gateway: XmppGateway, host: str, port: int, *, direct_tls: bool = False
) -> asyncio.Server:
    """A c2s listener; ``direct_tls``: XEP-0368, TLS before the stream (needs the
    gateway's TLS context)."""
    loop = asyncio.get_running_loop()
    sweeper = _IdleSweeper()
    return await loop.create_server(
        lambda: XmppTcpProtocol(gateway, sweeper, direct_tls=direct_tls), host, port
    )
