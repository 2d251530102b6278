"""The TCP transport under a client that writes faster than it reads, on a raw socket."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl

from tests.helpers import wait_until
from tests.integration.test_xmpp_chat import jid
from tests.integration.xmpp_helpers import Listener
from tidings.gateways.xmpp import transport_tcp
from tidings.gateways.xmpp.transport_tcp import MAX_PENDING, XmppTcpProtocol

HEADER = (
    b"<stream:stream xmlns='jabber:client'"
    b" xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
)
PING = b"<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>"


async def read_until(reader: asyncio.StreamReader, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        assert chunk, f"closed before {marker!r}: {data!r}"
        data += chunk
    return data


async def login(port: int, user: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """STARTTLS, SASL PLAIN and bind by hand, so the test controls every read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEADER)
    await read_until(reader, b"</stream:features>")
    writer.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    await read_until(reader, b"<proceed")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    await writer.start_tls(context, server_hostname="localhost")
    writer.write(HEADER)
    await read_until(reader, b"</stream:features>")
    plain = base64.b64encode(f"\0{user.split('@')[0]}\0correct horse".encode())
    writer.write(
        b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % plain
    )
    await read_until(reader, b"<success")
    writer.write(HEADER)
    await read_until(reader, b"</stream:features>")
    writer.write(b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
    await read_until(reader, b"</iq>")
    return reader, writer


async def test_a_client_that_does_not_read_cannot_make_the_server_buffer(server) -> None:
    """Reading pauses while the peer is not reading our answers; nothing is lost."""
    app, alice, _ = await server.new_user()
    async with Listener(server.core) as xmpp:
        reader, writer = await login(xmpp.port, jid(alice))
        try:
            protocol = next(
                link.transport
                for link in xmpp.server.gateway.links
                if isinstance(link.transport, XmppTcpProtocol)
            )
            assert protocol._transport is not None
            # Small kernel buffers, so megabytes are enough to fill them on loopback.
            for sock in (
                writer.get_extra_info("socket"),
                protocol._transport.get_extra_info("socket"),
            ):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
            count = 40_000  # about 2 MB of pings and 3 MB of answers
            writer.write(PING * count)
            # Until our answers back up and the server stops reading (slow on a loaded machine).
            await wait_until(
                lambda: protocol._writing_paused and protocol._reading_paused,
                limit=60,
                what="the answers to back up and reading to pause",
                every=0.1,
            )
            assert protocol._pending_bytes <= 2 * MAX_PENDING
            assert protocol._transport is not None
            assert protocol._transport.get_write_buffer_size() < 1 << 20
            received = 0
            while received < count:
                data = await asyncio.wait_for(reader.read(1 << 20), 10)
                assert data
                received += data.count(b"type='result'") + data.count(b'type="result"')
            assert received == count
        finally:
            writer.close()


async def test_a_silent_connection_is_closed(server, monkeypatch) -> None:
    """The idle timeout: one sweep per listener finds the connection that stopped talking."""
    monkeypatch.setattr(transport_tcp, "IDLE_TIMEOUT", 0.5)
    monkeypatch.setattr(transport_tcp, "SWEEP_INTERVAL", 0.1)
    async with Listener(server.core) as xmpp:
        reader, writer = await asyncio.open_connection("127.0.0.1", xmpp.port)
        try:
            writer.write(HEADER)
            await read_until(reader, b"</stream:features>")
            talking, keepalive = await asyncio.open_connection("127.0.0.1", xmpp.port)
            keepalive.write(HEADER)
            await read_until(talking, b"</stream:features>")

            async def keep_talking() -> None:
                while True:
                    keepalive.write(b" ")  # whitespace keepalives keep this one open
                    await asyncio.sleep(0.05)

            talker = asyncio.create_task(keep_talking())
            try:
                assert await asyncio.wait_for(reader.read(), 10) == b""
                # The point: twice the idle timeout passes and the talking one stays open.
                await asyncio.sleep(1)
                assert not talking.at_eof()
            finally:
                talker.cancel()
            keepalive.close()
        finally:
            writer.close()
