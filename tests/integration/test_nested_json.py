"""Deeply nested and oversized JSON on every gateway: a precise 4xx in that gateway's
error shape (or the protocol's error), never a 5xx, never a dropped connection.

Each gateway is sent 100-, 2,000- and 100,000-deep ``[[[...]]]`` bodies: 100 is
past the reader's limit but parses, 2,000 makes ``json.loads`` raise
``RecursionError`` (which used to escape as a 500), 100,000 is what an attacker
sends. The server here accepts 1 MiB bodies, so all three reach the parser.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import websockets

from tests.conftest import TestServer, start_server
from tidings.jsonbody import MAX_DEPTH
from tidings.settings import Settings

DEPTHS = [100, 2_000, 100_000]
FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def in_object(depth: int) -> str:
    """A body whose outer shape is an object, with the nesting one level down."""
    return '{"custom_data": {"x": ' + nested(depth) + "}}"


@pytest.fixture(scope="module")
async def big_body_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TestServer]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("nested-json"),
        port=0,
        log_format="text",
        xmpp_port=0,
        max_body_bytes=1 << 20,
        login_rate_per_address=10_000,
    )
    running, stop = await start_server(settings, "sqlite")
    yield running
    await stop()


async def post(server: TestServer, path: str, body: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        return await http.post(
            path, content=body.encode(), headers={"content-type": "application/json", **headers}
        )


def assert_json_4xx(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


@pytest.mark.parametrize("depth", DEPTHS)
async def test_native_rest(big_body_server: TestServer, depth: int) -> None:
    """/api/v1: 400 ``too_deep`` in the native shape, for a body FastAPI parses itself."""
    server = big_body_server
    _, _, token = await server.new_user()
    for path, body, headers in (
        ("/api/v1/sessions", nested(depth), {}),
        ("/api/v1/dialogs", in_object(depth), {"authorization": f"Bearer {token}"}),
    ):
        error = assert_json_4xx(await post(server, path, body, **headers), 400)["error"]
        assert error["code"] == "too_deep", error
        print(f"{path} depth {depth}: 400 {error['code']}")


@pytest.mark.parametrize("depth", DEPTHS)
async def test_connectycube(big_body_server: TestServer, depth: int) -> None:
    """/connectycube: the gateway's validation answer (422, ``errors.base``; wire §4)."""
    server = big_body_server
    for body in (nested(depth), in_object(depth)):
        out = assert_json_4xx(await post(server, "/connectycube/session.json", body), 422)
        assert "nest" in out["errors"]["base"][0]


@pytest.mark.parametrize("depth", DEPTHS)
async def test_service_desk(big_body_server: TestServer, depth: int) -> None:
    """/servicedeskapi: 422 in the SDK's shape; never 400, which the SDKs read as
    "authorization failed" and close the chat (pyrus-servicedesk-wire §12)."""
    server = big_body_server
    for body in (nested(depth), in_object(depth)):
        for path in ("/servicedeskapi/v1/gettickets", "/servicedeskapi/v1/getticketfeed"):
            out = assert_json_4xx(await post(server, path, body), 422)
            assert out["error"]["code"] == "too_deep"


@pytest.mark.parametrize("depth", DEPTHS)
async def test_gms(big_body_server: TestServer, depth: int) -> None:
    """/genesys: 400 with the §1.5 error body (gms-callback-chat-wire §1.5)."""
    server = big_body_server
    app = await server.new_app("gms nested")
    app = await server.core.apps.update_app(
        app.id, config={"gms": {"callback_services": ["callback-for-mobile"]}}
    )
    for body in (nested(depth), '{"_customer_number": ' + nested(depth) + "}"):
        response = await post(
            server, "/genesys/1/service/callback-for-mobile", body, apikey=app.auth_key
        )
        out = assert_json_4xx(response, 400)
        assert (out["code"], out["phrase"]) == (400, "Bad Request")
        assert "nest" in out["message"]
        assert out["exception"].startswith("com.genesyslab.gsg.services.callback.")


@pytest.mark.parametrize("depth", DEPTHS)
async def test_bayeux_long_polling(big_body_server: TestServer, depth: int) -> None:
    """/genesys/cometd: HTTP 400 with an empty body, as for any unparsable body
    (bayeux-server §2.3)."""
    response = await post(big_body_server, "/genesys/cometd", nested(depth))
    assert response.status_code == 400 and response.content == b""


@pytest.mark.parametrize("depth", DEPTHS)
async def test_bayeux_websocket(big_body_server: TestServer, depth: int) -> None:
    """A frame that is not Bayeux closes that socket with 1003 and a reason
    (bayeux-server §2.4); the server goes on serving the next socket."""
    url = big_body_server.base_url.replace("http", "ws", 1) + "/genesys/cometd"
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(nested(depth))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
    assert "nest" in closed.value.rcvd.reason
    async with websockets.connect(url) as ws:
        await ws.send(
            json.dumps(
                {
                    "channel": "/meta/handshake",
                    "version": "1.0",
                    "supportedConnectionTypes": ["websocket"],
                }
            )
        )
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))[0]
        assert reply["channel"] == "/meta/handshake"


async def reply(ws: Any) -> dict[str, Any]:
    """The next frame that is not a pushed event (presence may come first)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] != "event":
            return frame


@pytest.mark.parametrize("depth", DEPTHS)
async def test_native_websocket_keeps_the_connection(big_body_server: TestServer, depth: int):
    """/api/v1/ws: an error frame (``too_deep``, or ``frame_too_large`` past the 64 KiB
    frame limit), and the same connection still answers a ping."""
    _, _, token = await big_body_server.new_user()
    async with websockets.connect(f"{big_body_server.ws_url}?token={token}") as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello"
        await ws.send(nested(depth))
        error = await reply(ws)
        expected = "frame_too_large" if depth * 2 > 64 * 1024 else "too_deep"
        assert error["type"] == "error" and error["error"]["code"] == expected, error
        await ws.send(json.dumps({"type": "ping", "ref": "after"}))
        pong = await reply(ws)
        assert (pong["type"], pong["ref"]) == ("pong", "after")


async def test_the_depth_limit_itself_is_accepted(big_body_server: TestServer) -> None:
    """Up to the limit, nesting is ordinary data: stored and read back."""
    _, _, token = await big_body_server.new_user()
    value: Any = []
    for _ in range(MAX_DEPTH - 3):  # + custom_data object + "x" key object + top level
        value = [value]
    async with httpx.AsyncClient(
        base_url=big_body_server.base_url, headers={"authorization": f"Bearer {token}"}
    ) as http:
        made = await http.post(
            "/api/v1/dialogs", json={"type": "group", "name": "deep", "custom_data": {"x": value}}
        )
    assert made.status_code == 201, made.text
    assert made.json()["custom_data"] == {"x": value}


async def test_xmpp_websocket_nesting_is_a_policy_violation(big_body_server: TestServer) -> None:
    """/xmpp-websocket is XML: the stream parser's own depth limit answers with the
    RFC 6120 §4.9.3.14 stream error ``policy-violation``, then closes."""
    url = big_body_server.base_url.replace("http", "ws", 1) + "/xmpp-websocket"
    async with websockets.connect(url, subprotocols=["xmpp"]) as ws:
        await ws.send(f'<open version="1.0" xmlns="{FRAMING}" to="localhost"/>')
        await asyncio.wait_for(ws.recv(), 10)  # <open/>
        await asyncio.wait_for(ws.recv(), 10)  # <stream:features/>
        await ws.send(
            '<message xmlns="jabber:client">' + "<a>" * 2_000 + "</a>" * 2_000 + "</message>"
        )
        error = ElementTree.fromstring(await asyncio.wait_for(ws.recv(), 10))
        assert error.tag == "{http://etherx.jabber.org/streams}error"
        assert error.find("{urn:ietf:params:xml:ns:xmpp-streams}policy-violation") is not None


@pytest.mark.parametrize(
    "path,status",
    [
        ("/api/v1/sessions", 413),
        ("/connectycube/session.json", 413),
        ("/servicedeskapi/v1/gettickets", 413),
        ("/genesys/1/service/callback-for-mobile", 413),
        ("/genesys/cometd", 413),
    ],
)
async def test_too_big_is_413(big_body_server: TestServer, path: str, status: int) -> None:
    """Over ``TIDINGS_MAX_BODY_BYTES`` (1 MiB here): 413 before any parser runs."""
    body = '{"x": "' + "a" * (1 << 20) + '"}'
    response = await post(big_body_server, path, body)
    out = assert_json_4xx(response, status)
    assert out["error"]["code"] == "too_large"
