"""XEP-0368 direct TLS: a c2s port where TLS starts with the first byte."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tests.integration.test_xmpp_chat import jid
from tests.integration.test_xmpp_serve import free_port
from tests.integration.xmpp_helpers import Client, close, connect
from tidings.gateways.xmpp import start_xmpp_listener, stop_xmpp_listener

HEADER = (
    "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
)


@contextlib.asynccontextmanager
async def direct_tls(core: Any) -> AsyncIterator[int]:
    listener, port = await start_xmpp_listener(core, "127.0.0.1", 0, direct_tls=True)
    try:
        yield port
    finally:
        await stop_xmpp_listener(listener)


def _direct_only(client: Client) -> Client:
    client.enable_direct_tls, client.enable_starttls, client.enable_plaintext = True, False, False
    return client


async def _read_until(reader: asyncio.StreamReader, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = await asyncio.wait_for(reader.read(4096), 10)
        if not chunk:
            break
        data += chunk
    return data


async def test_slixmpp_over_direct_tls_logs_in_and_chats(server) -> None:
    """§3: TLS first, then the stream: SASL at once (no STARTTLS offered), then chat."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with direct_tls(server.core) as port:
        a = _direct_only(Client(jid(alice), "correct horse"))
        b = _direct_only(Client(jid(bob), "correct horse"))
        await connect(a, port)
        await connect(b, port)
        try:
            assert a.is_connected() and isinstance(
                a.transport.get_extra_info("ssl_object"), ssl.SSLObject
            )
            a.send_message(mto=jid(bob), mbody="over direct TLS", mtype="chat")
            got = await asyncio.wait_for(b.messages.get(), 10)
            assert got["body"] == "over direct TLS"
        finally:
            await close(a, b)


async def test_alpn_xmpp_client_and_no_starttls_offered(server) -> None:
    """§3 ALPN ``xmpp-client`` is selected; the features offer SASL, not STARTTLS."""
    async with direct_tls(server.core) as port:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        context.set_alpn_protocols(["xmpp-client"])
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
        try:
            assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "xmpp-client"
            writer.write(HEADER.encode())
            features = await _read_until(reader, b"</stream:features>")
            assert b"mechanisms" in features and b"starttls" not in features
        finally:
            writer.close()


async def test_plain_tcp_on_the_tls_port_is_dropped_without_harm(server) -> None:
    """A client speaking XML in clear is cut off before any XML is read; the port then
    serves the next TLS client as before."""
    app, alice, _ = await server.new_user()
    async with direct_tls(server.core) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HEADER.encode() + b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
        answer = await asyncio.wait_for(reader.read(), 10)  # until the server closes
        assert b"<stream" not in answer and b"features" not in answer
        writer.close()
        a = _direct_only(Client(jid(alice), "correct horse"))
        await connect(a, port)
        await close(a)


async def test_serve_opens_the_direct_tls_port_from_its_flag(tmp_path: Path) -> None:
    """``tidings serve --xmpp-tls-port``: the direct TLS listener next to the STARTTLS one."""
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "tls app")
    user = await run_cli_json(
        env, "user", "create", str(app["app_id"]), "--login", "t1", "--password", "pw-123456"
    )
    port, tls_port = free_port(), free_port()
    proc = await ServerProcess(
        env, "--xmpp-port", str(port), "--xmpp-tls-port", str(tls_port)
    ).start()
    try:
        a = _direct_only(Client(f"{user['id']}-{app['app_id']}@localhost", "pw-123456"))
        await connect(a, tls_port)
        try:
            assert await a.plugin["xep_0199"].send_ping("localhost", timeout=10) is not None
        finally:
            await close(a)
    finally:
        await proc.stop()
