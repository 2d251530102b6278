"""XMPP c2s over TCP (RFC 6120) with STARTTLS: bytes from the socket into a :class:`Link`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from tidings.gateways.xmpp.connection import Link
from tidings.gateways.xmpp.protocol import XmppStream

if TYPE_CHECKING:
    from tidings.gateways.xmpp.gateway import XmppGateway

log = logging.getLogger("tidings.gateways.xmpp")

READ_SIZE = 16384
#: Seconds a peer may stay silent; clients ping well within this (XEP-0199).
IDLE_TIMEOUT = 600


class _TcpTransport:
    def __init__(
        self, gateway: XmppGateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.gateway = gateway
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else ""

    @property
    def peer(self) -> str:
        return self._peer

    def write(self, frames: list[bytes]) -> None:
        if not self.writer.is_closing():
            self.writer.write(b"".join(frames))

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()

    async def start_tls(self) -> None:
        assert self.gateway.ssl_context is not None
        await self.writer.drain()
        await self.writer.start_tls(self.gateway.ssl_context)


async def handle_client(
    gateway: XmppGateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    transport = _TcpTransport(gateway, reader, writer)
    stream = XmppStream(gateway.addressing.domain, tls_available=gateway.ssl_context is not None)
    link = Link(gateway, stream, transport)
    gateway.links.add(link)
    try:
        while not stream.closed:
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), IDLE_TIMEOUT)
            except (ConnectionError, TimeoutError, OSError):
                data = b""
            if not data:
                break
            await link.data_received(data)
            with contextlib.suppress(ConnectionError, OSError):
                await writer.drain()
    except Exception:
        log.exception("XMPP TCP connection failed")
    finally:
        gateway.links.discard(link)
        await link.connection_lost()
        transport.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def start_tcp_server(gateway: XmppGateway, host: str, port: int) -> asyncio.Server:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await handle_client(gateway, reader, writer)

    return await asyncio.start_server(accept, host, port)
