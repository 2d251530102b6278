"""Connections that do not authenticate or do not finish a request in time are closed.

A `tidings serve` process runs with every timeout at 2 s (``TIDINGS_AUTH_TIMEOUT``,
``TIDINGS_HTTP_HEADER_TIMEOUT``, ``TIDINGS_HTTP_BODY_TIMEOUT``). Silent sockets,
slowloris requests and stalled bodies must be closed by the server; each test
prints how long that took and asserts only that it happened before a generous
deadline. Clients that do their part (authenticate, keep sending) are not cut.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tests.integration.xmpp_helpers import Client, close, connect

TIMEOUT = 2
#: How long a test waits for the server to close something (no timing is asserted).
DEADLINE = TIMEOUT + 20
PASSWORD = "pw-timeouts-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Node:
    def __init__(self, proc: ServerProcess, xmpp_port: int, app: dict, user: dict) -> None:
        self.proc = proc
        self.xmpp_port = xmpp_port
        self.app = app
        self.user = user
        parts = urlsplit(proc.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    @property
    def ws_base(self) -> str:
        return self.proc.url.replace("http", "ws", 1)


@pytest.fixture(scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Node]:
    data_dir: Path = tmp_path_factory.mktemp("timeouts")
    env = cli_env(
        data_dir,
        TIDINGS_AUTH_TIMEOUT=str(TIMEOUT),
        TIDINGS_HTTP_HEADER_TIMEOUT=str(TIMEOUT),
        TIDINGS_HTTP_BODY_TIMEOUT=str(TIMEOUT),
        TIDINGS_HTTP_KEEPALIVE_TIMEOUT="1",
    )
    app = await run_cli_json(env, "app", "create", "timeouts")
    user = await run_cli_json(
        env, "user", "create", str(app["app_id"]), "--login", "tim", "--password", PASSWORD
    )
    xmpp_port = free_port()
    proc = await ServerProcess(env, "--xmpp-port", str(xmpp_port)).start()
    try:
        yield Node(proc, xmpp_port, app, user)
    finally:
        await proc.stop()


async def closed_by_server(reader: asyncio.StreamReader) -> tuple[float, bytes]:
    """Read until the server closes; the seconds it took and what it sent."""
    started = time.monotonic()
    received = b""
    try:
        async with asyncio.timeout(DEADLINE):
            while chunk := await reader.read(65536):
                received += chunk
    except ConnectionResetError:
        pass
    return time.monotonic() - started, received


async def idle_connections(port: int, count: int) -> list[tuple[float, bytes]]:
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
    try:
        return await asyncio.gather(*(closed_by_server(reader) for reader, _ in streams))
    finally:
        for _, writer in streams:
            writer.close()


def report(what: str, outcomes: list[tuple[float, bytes]]) -> None:
    times = sorted(t for t, _ in outcomes)
    print(
        f"{what}: {len(outcomes)} opened, {len(outcomes)} closed by the server after "
        f"{times[0]:.1f}-{times[-1]:.1f} s (timeout {TIMEOUT} s)"
    )


async def test_silent_http_connections_are_closed(node: Node) -> None:
    """50 TCP connections to the HTTP port that never send a byte are closed."""
    outcomes = await idle_connections(node.port, 50)
    report("silent HTTP", outcomes)
    assert all(t < DEADLINE for t, _ in outcomes)
    assert all(data == b"" for _, data in outcomes), "nothing to answer to silence"


async def test_silent_xmpp_connections_are_closed(node: Node) -> None:
    """50 TCP connections to the XMPP port that never open a stream get the
    ``connection-timeout`` stream error (RFC 6120 §4.9.3.4) and are closed."""
    outcomes = await idle_connections(node.xmpp_port, 50)
    report("silent XMPP", outcomes)
    assert all(t < DEADLINE for t, _ in outcomes)
    assert all(b"connection-timeout" in data for _, data in outcomes)


async def slowloris(port: int) -> tuple[float, bytes]:
    """Headers at one byte a second, forever (unless the server closes first)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()

    async def trickle() -> None:
        request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
        for byte in request:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1)  # the point: slowloris pacing

    sender = asyncio.create_task(trickle())
    try:
        _, received = await closed_by_server(reader)
        return time.monotonic() - started, received
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        writer.close()


async def test_slowloris_requests_are_closed(node: Node) -> None:
    """20 requests whose headers come a byte a second get 408 and are closed."""
    outcomes = await asyncio.gather(*(slowloris(node.port) for _ in range(20)))
    report("slowloris", outcomes)
    assert all(t < DEADLINE for t, _ in outcomes)
    for _, data in outcomes:
        assert data.startswith(b"HTTP/1.1 408 "), data[:80]
        assert b'"request_timeout"' in data


async def test_a_stalled_body_is_closed_a_moving_one_is_not(node: Node) -> None:
    """A body that stops arriving gets 408; one that keeps moving (a byte every
    second, longer in total than the timeout) is served."""
    body = json.dumps({"app_id": node.app["app_id"], "login": "tim", "password": PASSWORD})
    head = (
        "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    writer.write(head + body[:5].encode())
    await writer.drain()
    took, data = await closed_by_server(reader)
    writer.close()
    print(f"stalled body: closed after {took:.1f} s")
    assert data.startswith(b"HTTP/1.1 408 ")

    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    writer.write(head)
    for start in range(0, len(body), len(body) // 4 + 1):
        writer.write(body[start : start + len(body) // 4 + 1].encode())
        await writer.drain()
        await asyncio.sleep(TIMEOUT * 0.6)  # the point: each chunk comes within the timeout
    status = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status.startswith(b"HTTP/1.1 201 "), status


async def test_oversized_headers_get_431(node: Node) -> None:
    """Headers sent fast but without end: refused at 64 KiB, not buffered forever."""
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    try:
        for n in range(200):
            writer.write(b"X-Filler-%d: %s\r\n" % (n, b"f" * 1000))
            await writer.drain()
    except ConnectionError:
        pass  # the server may close while we are still writing
    _, data = await closed_by_server(reader)
    writer.close()
    assert data.startswith(b"HTTP/1.1 431 "), data[:80]


async def test_idle_kept_alive_connections_are_closed(node: Node) -> None:
    """After a response, an idle kept-alive connection is closed after
    ``TIDINGS_HTTP_KEEPALIVE_TIMEOUT`` (1 s here)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    took, data = await closed_by_server(reader)
    writer.close()
    print(f"kept-alive idle connection closed {took:.1f} s after the request")
    assert data.startswith(b"HTTP/1.1 200 ")


async def test_xmpp_websocket_must_authenticate_in_time(node: Node) -> None:
    """RFC 7395 stream opened, never authenticated: ``connection-timeout``, closed."""
    framing = "urn:ietf:params:xml:ns:xmpp-framing"
    async with websockets.connect(f"{node.ws_base}/xmpp-websocket", subprotocols=["xmpp"]) as ws:
        await ws.send(f'<open version="1.0" xmlns="{framing}" to="localhost"/>')
        started = time.monotonic()
        frames = []
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(DEADLINE):
                while True:
                    frames.append(await ws.recv())
    print(f"unauthenticated XMPP WebSocket: closed after {time.monotonic() - started:.1f} s")
    assert any("connection-timeout" in f for f in frames)


async def test_bayeux_websocket_must_handshake_in_time(node: Node) -> None:
    """A Bayeux WebSocket with no handshake is closed (1008); one that handshook is
    kept past the timeout (its session's own deadlines apply)."""
    url = f"{node.ws_base}/genesys/cometd"
    async with websockets.connect(url) as silent:
        started = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(silent.recv(), DEADLINE)
    print(f"silent Bayeux WebSocket: closed after {time.monotonic() - started:.1f} s")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    async with websockets.connect(url) as ws:
        await ws.send(
            json.dumps(
                [
                    {
                        "channel": "/meta/handshake",
                        "version": "1.0",
                        "supportedConnectionTypes": ["websocket"],
                        "ext": {"apikey": node.app["auth_key"]},
                    }
                ]
            )
        )
        reply = json.loads(await ws.recv())[0]
        assert (reply["channel"], reply["successful"]) == ("/meta/handshake", True), reply
        await asyncio.sleep(TIMEOUT * 2)  # the point: idle past every timeout
        await ws.ping()  # still open


async def test_authenticated_clients_are_not_cut(node: Node) -> None:
    """An XMPP client that authenticated (slixmpp over TCP + STARTTLS) and a native
    WebSocket outlive every timeout and still work."""
    async with httpx.AsyncClient(base_url=node.proc.url) as http:
        login = await http.post(
            "/api/v1/sessions",
            json={"app_id": node.app["app_id"], "login": "tim", "password": PASSWORD},
        )
    token = login.json()["token"]
    jid = f"{node.user['id']}-{node.app['app_id']}@localhost"
    client = await connect(Client(jid, PASSWORD), node.xmpp_port)
    try:
        async with websockets.connect(f"{node.ws_base}/api/v1/ws?token={token}") as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            await asyncio.sleep(TIMEOUT * 2.5)  # the point: idle past every timeout
            await ws.send(json.dumps({"type": "ping", "ref": "late"}))
            while (frame := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] == "event":
                pass
            assert frame["type"] == "pong"
        assert client.is_connected()
        pong = await client.plugin["xep_0199"].ping(jid="localhost", timeout=10)
        assert pong is not None
    finally:
        await close(client)
