"""Bayeux clients outliving their sessions, and GFaye's raw frames (bayeux-server §9.4, §9.6).

- The npm ``cometd`` client talks to a real ``tidings serve`` process that is then
  stopped and started again on the same port, so every session is gone: the client
  gets ``402`` with handshake advice, re-handshakes by itself (new ``clientId``),
  resubscribes from its handshake listener and receives a publish made afterwards.
- GFaye (the Swift GMS library) sends bare JSON objects over WebSocket and reads
  only element 0 of each frame: every frame the server writes must hold exactly one
  message.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tests.integration.test_bayeux_cometd_js import HERE, _need_node


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def publish(base_url: str, api_key: str, channel: str, data: Any) -> None:
    """Another client of the app, raw Bayeux over HTTP: handshake, then publish."""
    async with httpx.AsyncClient(base_url=base_url, headers={"apikey": api_key}) as http:
        hs = (
            await http.post(
                "/genesys/cometd",
                json=[{"channel": "/meta/handshake", "version": "1.0"}],
            )
        ).json()[0]
        acked = (
            await http.post(
                "/genesys/cometd",
                json=[{"channel": channel, "clientId": hs["clientId"], "data": data}],
            )
        ).json()
        assert acked[0]["successful"] is True


async def next_step(proc: asyncio.subprocess.Process, step: str) -> dict[str, Any]:
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line, f"the client exited before {step}"
        try:
            value = json.loads(line)
        except ValueError:
            continue
        assert value.get("step") != "timeout", value
        if value.get("step") == step:
            return value


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["long-polling", "websocket"])
async def test_cometd_js_rehandshakes_after_the_server_lost_its_session(
    tmp_path: Path, transport: str
) -> None:
    _need_node()
    port = free_port()
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "reconnecting")
    first = await ServerProcess(env, "--port", str(port)).start()
    second: ServerProcess | None = None
    proc = await asyncio.create_subprocess_exec(
        "node",
        "reconnect.mjs",
        f"{first.url}/genesys/cometd",
        transport,
        app["auth_key"],
        cwd=HERE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        before = await next_step(proc, "subscribed")
        assert before["ok"] is True and before["reestablish"] is False
        await first.stop()
        second = await ServerProcess(env, "--port", str(port)).start()
        assert second.url == first.url
        after = await next_step(proc, "subscribed")
        assert after["ok"] is True and after["reestablish"] is True
        assert after["clientId"] != before["clientId"], "a new session, by handshake"
        await publish(second.url, app["auth_key"], "/r/news", {"text": "after the restart"})
        got = await next_step(proc, "received")
        assert got["channel"] == "/r/news" and got["data"] == {"text": "after the restart"}
        assert got["clientId"] == after["clientId"]
        assert got["transport"] == transport
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await first.stop()
        if second is not None:
            await second.stop()


async def test_gfaye_bare_object_frames_get_one_message_per_frame(server) -> None:
    """§9.6: what GFayeSwift sends, frame by frame; the server writes ``[{…}]`` frames."""
    frames: list[list[dict[str, Any]]] = []

    async def receive(ws: Any) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert isinstance(frame, list) and len(frame) == 1, frame
        frames.append(frame)
        return frame[0]

    url = server.base_url.replace("http://", "ws://", 1) + "/genesys/cometd"
    app = await server.new_app("gfaye")
    async with websockets.connect(url, additional_headers={"apikey": app.auth_key}) as ws:
        await ws.send(
            json.dumps(
                {
                    "channel": "/meta/handshake",
                    "version": "1.0",
                    "supportedConnectionTypes": ["websocket"],
                    "id": "1",
                }
            )
        )
        hs = await receive(ws)
        assert hs["successful"] is True and hs["id"] == "1"
        cid = hs["clientId"]
        await ws.send(
            json.dumps({"channel": "/meta/connect", "clientId": cid, "connectionType": "websocket"})
        )
        assert (await receive(ws))["channel"] == "/meta/connect"
        await ws.send(
            json.dumps({"channel": "/meta/subscribe", "clientId": cid, "subscription": "/g/**"})
        )
        assert (await receive(ws))["successful"] is True
        # A held connect, then two publishes: acks and deliveries, each in its own frame.
        await ws.send(
            json.dumps({"channel": "/meta/connect", "clientId": cid, "connectionType": "websocket"})
        )
        for n in (1, 2):
            await ws.send(
                json.dumps({"channel": "/g/room", "clientId": cid, "data": {"n": n}, "id": f"p{n}"})
            )
        seen = [await receive(ws) for _ in range(4)]
        acks = [m for m in seen if m.get("id") in ("p1", "p2")]
        deliveries = [m for m in seen if "data" in m]
        assert len(acks) == 2 and all(m["successful"] is True for m in acks)
        assert [m["data"] for m in deliveries] == [{"n": 1}, {"n": 2}]
        assert all("id" not in m and "clientId" not in m for m in deliveries)
        await ws.send(json.dumps({"channel": "/meta/disconnect", "clientId": cid}))
        last: list[dict[str, Any]] = []
        while not any(m["channel"] == "/meta/disconnect" for m in last):
            last.append(await receive(ws))
        assert all(len(f) == 1 for f in frames)
