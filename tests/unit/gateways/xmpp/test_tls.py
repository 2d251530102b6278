"""TlsSession over a real socket: asyncio's own TLS client on one side, the wrapper on the other."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from tidings.gateways.xmpp.certificates import server_context
from tidings.gateways.xmpp.tls import TlsError, TlsSession


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class UpperEcho(asyncio.Protocol):
    """Answers each plaintext piece in capitals, through :class:`TlsSession` only."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.tls = TlsSession(context)
        self.transport: asyncio.Transport | None = None
        self.peer_closed = asyncio.get_running_loop().create_future()
        self.error: TlsError | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        try:
            plaintext, out = self.tls.receive(data)
        except TlsError as exc:
            self.error = exc
            self.transport.write(exc.output)
            self.transport.close()
            return
        self.transport.write(out)
        if plaintext == b"bye":
            self.transport.write(self.tls.close())
            self.transport.close()
        elif plaintext:
            self.transport.write(self.tls.encrypt(plaintext.upper()))
        if self.tls.peer_closed and not self.peer_closed.done():
            self.peer_closed.set_result(None)


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    folder: Path = tmp_path_factory.mktemp("tls")
    return server_context("", "", folder, "localhost")


async def serve(context: ssl.SSLContext) -> tuple[asyncio.Server, int, list[UpperEcho]]:
    protocols: list[UpperEcho] = []

    def make() -> UpperEcho:
        protocols.append(UpperEcho(context))
        return protocols[-1]

    server = await asyncio.get_running_loop().create_server(make, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], protocols


async def test_handshake_data_both_ways_and_close_notify(context: ssl.SSLContext) -> None:
    server, port, protocols = await serve(context)
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context(), server_hostname="localhost"
        )
        big = b"x" * 100_000  # several records each way
        writer.write(big)
        await writer.drain()
        assert await reader.readexactly(len(big)) == big.upper()
        assert protocols[0].tls.handshake_done
        writer.write(b"bye")
        assert await asyncio.wait_for(reader.read(), 10) == b""  # close_notify, then EOF
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_the_peers_close_notify_is_seen(context: ssl.SSLContext) -> None:
    server, port, protocols = await serve(context)
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context(), server_hostname="localhost"
        )
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"PING"
        writer.close()  # sends close_notify
        await asyncio.wait_for(protocols[0].peer_closed, 10)
    finally:
        server.close()
        await server.wait_closed()


async def test_garbage_instead_of_a_handshake_is_a_tls_error(context: ssl.SSLContext) -> None:
    server, port, protocols = await serve(context)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"<stream:stream> this is not TLS at all\r\n" * 4)
        await asyncio.wait_for(reader.read(), 10)  # the alert, then the server hangs up
        writer.close()
        assert protocols[0].error is not None
        assert protocols[0].tls.encrypt(b"late") == b""
    finally:
        server.close()
        await server.wait_closed()


def test_nothing_is_encrypted_before_the_handshake(context: ssl.SSLContext) -> None:
    session = TlsSession(context)
    assert session.encrypt(b"too early") == b""
    assert session.close() == b""
