"""The CometD acknowledgement extension: a connect response that never reaches the client
loses nothing (docs/bayeux.md "Acknowledged delivery"; org.cometd.AckExtension).

A long-poll's response takes the session's queued deliveries with it; if the
connection dies on the way, a plain Bayeux session has lost them. With
``ext.ack`` agreed at handshake each connect reply is a numbered batch, the next
connect says which batch arrived, and what did not arrive is sent again.

Two clients: a raw one (httpx, plus a bare socket that sends a connect and closes
after the first byte of its response) and the npm ``cometd`` client with
``AckExtension``, long-polling through a TCP proxy that kills every third connect
response carrying deliveries. Each counts what it got: 0 lost, 0 duplicated with
the extension; the same kills without it lose exactly what the killed responses held.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tests.services import require_redis

COMET = "/genesys/cometd"
HERE = Path(__file__).resolve().parents[1] / "js" / "cometd"
ROUNDS = 20
PER_ROUND = 5


async def bayeux(http: httpx.AsyncClient, url: str, *messages: dict[str, Any]) -> list[dict]:
    response = await http.post(url, json=list(messages), timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def reply(replies: list[dict], channel: str) -> dict:
    return next(r for r in replies if r["channel"] == channel)


async def handshake(http: httpx.AsyncClient, url: str, key: str, ack: bool) -> tuple[str, dict]:
    ext: dict[str, Any] = {"apikey": key}
    if ack:
        ext["ack"] = True
    message = {
        "channel": "/meta/handshake",
        "version": "1.0",
        "supportedConnectionTypes": ["long-polling"],
        "ext": ext,
    }
    answer = reply(await bayeux(http, url, message), "/meta/handshake")
    assert answer["successful"] is True, answer
    return answer["clientId"], answer


def connect_message(client_id: str, ack: int | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "channel": "/meta/connect",
        "clientId": client_id,
        "connectionType": "long-polling",
        "advice": {"timeout": 0},
    }
    if ack is not None:
        message["ext"] = {"ack": ack}
    return message


async def lost_connect(url: str, key: str, message: dict[str, Any]) -> None:
    """Send a connect on a bare socket and close it once the response starts: the
    server has handed the batch over, the client never reads it."""
    parts = urlsplit(url)
    body = json.dumps([message]).encode()
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\napikey: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    assert await reader.read(1) == b"H"
    writer.close()


async def run_raw(server: Any, ack: bool) -> tuple[Counter[int], int, int]:
    """``ROUNDS`` rounds of ``PER_ROUND`` publishes; every other round's connect
    response is lost. Returns (copies received per number, sent, held by lost responses)."""
    app = await server.new_app("bayeux ack raw")
    url = server.base_url + COMET
    got: Counter[int] = Counter()
    in_lost = 0
    async with httpx.AsyncClient(headers={"apikey": app.auth_key}) as http:
        cid, answer = await handshake(http, url, app.auth_key, ack)
        assert answer.get("ext") == ({"ack": True} if ack else None)
        publisher, _ = await handshake(http, url, app.auth_key, False)
        first = await bayeux(http, url, connect_message(cid, 0 if ack else None))
        batch = reply(first, "/meta/connect").get("ext", {}).get("ack")
        sub = {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/r/**"}
        assert reply(await bayeux(http, url, sub), "/meta/subscribe")["successful"] is True
        number = 0
        for round_ in range(ROUNDS):
            for _ in range(PER_ROUND):
                publish = {"channel": "/r/x", "clientId": publisher, "data": {"n": number}}
                assert (await bayeux(http, url, publish))[0]["successful"] is True
                number += 1
            await server.core.bus.drain()  # the round's deliveries are queued
            message = connect_message(cid, batch if ack else None)
            if round_ % 2 == 0:
                await lost_connect(url, app.auth_key, message)
                in_lost += PER_ROUND
                continue
            replies = await bayeux(http, url, message)
            connect = reply(replies, "/meta/connect")
            assert connect["successful"] is True, connect
            if ack:
                batch = connect["ext"]["ack"]
            got.update(r["data"]["n"] for r in replies if r["channel"] == "/r/x")
        await bayeux(http, url, {"channel": "/meta/disconnect", "clientId": cid})
    return got, number, in_lost


async def test_raw_client_with_ack_loses_nothing_when_responses_die(server: Any) -> None:
    got, sent, in_lost = await run_raw(server, ack=True)
    lost = sent - len(got)
    duplicated = sum(c - 1 for c in got.values())
    print(f"raw ack: sent {sent}, in killed responses {in_lost}, lost {lost}, dup {duplicated}")
    assert in_lost > 0
    assert (lost, duplicated) == (0, 0)
    assert sorted(got) == list(range(sent))


async def test_raw_client_without_ack_loses_what_dead_responses_held(server: Any) -> None:
    """Documented limit: without the extension a written response is delivered."""
    got, sent, in_lost = await run_raw(server, ack=False)
    lost = sent - len(got)
    duplicated = sum(c - 1 for c in got.values())
    print(f"raw no ack: sent {sent}, in killed responses {in_lost}, lost {lost}, dup {duplicated}")
    assert (lost, duplicated) == (in_lost, 0)


class KillingProxy:
    """A TCP proxy for HTTP/1.1 that drops every ``every``-th response carrying a
    ``/r/`` delivery: it closes both sides instead of forwarding it."""

    def __init__(self, target: str, every: int) -> None:
        parts = urlsplit(target)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.every = every
        self.carrying = 0
        self.killed = 0
        self.killed_deliveries = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Close the listener and every connection still open (a held long-poll too)."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    async def _client(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        s_reader, s_writer = await asyncio.open_connection(self.host, self.port)
        self._writers.update((c_writer, s_writer))
        upstream = asyncio.create_task(self._pipe(c_reader, s_writer))
        try:
            while True:
                head = await s_reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await s_reader.readexactly(length)
                if b'"/r/' in body:
                    self.carrying += 1
                    if self.carrying % self.every == 0:
                        self.killed += 1
                        self.killed_deliveries += body.count(b'"/r/')
                        break
                c_writer.write(head + body)
                await c_writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            upstream.cancel()
            for writer in (c_writer, s_writer):
                writer.close()
                self._writers.discard(writer)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass


async def run_js(
    server: Any, transport: str = "long-polling"
) -> tuple[Counter[int], int, KillingProxy, dict[str, Any]]:
    """The JS client with AckExtension (long-polling: through the killing proxy);
    returns when the end marker arrived."""
    if shutil.which("node") is None or not (HERE / "node_modules" / "cometd").exists():
        pytest.skip("node or tests/js/cometd/node_modules missing")
    app = await server.new_app(f"bayeux ack js {transport}")
    proxy = KillingProxy(server.base_url, every=3)
    base = await proxy.start() if transport == "long-polling" else server.base_url
    proc = await asyncio.create_subprocess_exec(
        "node", "ack.mjs", base + COMET, app.auth_key, "ack", transport,
        cwd=HERE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    got: Counter[int] = Counter()
    url = server.base_url + COMET

    async def line() -> dict[str, Any]:
        raw = await asyncio.wait_for(proc.stdout.readline(), 60)  # type: ignore[union-attr]
        assert raw, "the JS client exited"
        return json.loads(raw)

    try:
        ready = await line()
        assert ready["step"] == "ready" and ready["ok"] is True, ready
        async with httpx.AsyncClient(headers={"apikey": app.auth_key}) as http:
            publisher, _ = await handshake(http, url, app.auth_key, False)
            number = 0
            for _ in range(ROUNDS):
                for _ in range(PER_ROUND):
                    publish = {"channel": "/r/x", "clientId": publisher, "data": {"n": number}}
                    assert (await bayeux(http, url, publish))[0]["successful"] is True
                    number += 1
                await server.core.bus.drain()
            # The end marker: after it arrives nothing earlier can still be on its way.
            end = {"channel": "/r/end", "clientId": publisher, "data": {"n": -1}}
            assert (await bayeux(http, url, end))[0]["successful"] is True
            while got[-1] == 0:
                event = await line()
                if event["step"] == "received":
                    got[event["data"]["n"]] += 1
    finally:
        proc.terminate()
        await proc.wait()
        await proxy.stop()
    del got[-1]
    return got, number, proxy, ready


async def test_cometd_js_with_ack_extension_loses_nothing_through_a_killing_proxy(
    server: Any,
) -> None:
    got, sent, proxy, ready = await run_js(server)
    lost = sent - len(got)
    duplicated = sum(c - 1 for c in got.values())
    print(
        f"js ack: sent {sent}, responses killed {proxy.killed} "
        f"(holding {proxy.killed_deliveries} deliveries), lost {lost}, dup {duplicated}"
    )
    assert ready["ack"] is True and ready["transport"] == "long-polling"
    assert proxy.killed > 0
    assert (lost, duplicated) == (0, 0)


async def test_cometd_js_with_ack_extension_over_websocket(server: Any) -> None:
    """Over WebSocket too, an ack session's deliveries ride only on connect replies."""
    got, sent, _, ready = await run_js(server, "websocket")
    lost = sent - len(got)
    duplicated = sum(c - 1 for c in got.values())
    print(f"js ack websocket: sent {sent}, lost {lost}, dup {duplicated}")
    assert ready["ack"] is True and ready["transport"] == "websocket"
    assert (lost, duplicated) == (0, 0)


@pytest.fixture
def nodes_env(tmp_path: Path, postgres_url: str) -> dict[str, str]:
    return cli_env(tmp_path, TIDINGS_DATABASE_URL=postgres_url, TIDINGS_BUS_URL=require_redis())


@pytest.mark.redis
@pytest.mark.postgres
async def test_unacknowledged_batch_follows_the_session_to_another_node(
    nodes_env: dict[str, str],
) -> None:
    """Two ``tidings serve`` nodes on PostgreSQL + Redis (docs/bayeux.md "Nodes"): the
    response of a connect on node 1 dies; the client's next connect, on node 2, still
    acknowledges the batch before it, and node 2 sends the lost batch again."""
    app = await run_cli_json(nodes_env, "app", "create", f"ack-cluster-{secrets.token_hex(3)}")
    key = app["auth_key"]
    node1, node2 = await asyncio.gather(
        ServerProcess(nodes_env).start(), ServerProcess(nodes_env).start()
    )
    try:
        one, two = node1.url + COMET, node2.url + COMET
        async with httpx.AsyncClient(headers={"apikey": key}) as http:
            cid, _ = await handshake(http, one, key, True)
            first = await bayeux(http, one, connect_message(cid, 0))
            acked = reply(first, "/meta/connect")["ext"]["ack"]
            sub = {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/r/**"}
            assert reply(await bayeux(http, one, sub), "/meta/subscribe")["successful"] is True
            publisher, _ = await handshake(http, one, key, False)
            # A held connect on node 1 whose response (carrying n=0) dies on the way.
            held = {**connect_message(cid, acked), "advice": {"timeout": 20_000}}
            lost = asyncio.create_task(lost_connect(one, key, held))
            await asyncio.sleep(0.5)  # let node 1 hold it before the publish
            publish = {"channel": "/r/x", "clientId": publisher, "data": {"n": 0}}
            assert (await bayeux(http, one, publish))[0]["successful"] is True
            await lost
            got: Counter[int] = Counter()
            for number in (1, 2):
                replies = await bayeux(http, two, connect_message(cid, acked))
                connect = reply(replies, "/meta/connect")
                assert connect["successful"] is True, connect
                acked = connect["ext"]["ack"]
                got.update(r["data"]["n"] for r in replies if r["channel"] == "/r/x")
                publish = {"channel": "/r/x", "clientId": publisher, "data": {"n": number}}
                assert (await bayeux(http, one, publish))[0]["successful"] is True
                await asyncio.sleep(0.3)  # across Redis to the session, now on node 2
            last = await bayeux(http, two, {**connect_message(cid, acked), "advice": {}})
            got.update(r["data"]["n"] for r in last if r["channel"] == "/r/x")
        lost_n = sum(1 for n in range(3) if got[n] == 0)
        dup = sum(c - 1 for c in got.values())
        print(f"ack across nodes: sent 3, one response killed on node 1, lost {lost_n}, dup {dup}")
        assert got == Counter({0: 1, 1: 1, 2: 1})
    finally:
        await asyncio.gather(node1.stop(), node2.stop())
