"""aiocometd-ng (PyPI, nobody here wrote it) against /genesys/cometd: bayeux-server §9 test 4."""

from __future__ import annotations

import asyncio
import time

from aiocometd_ng import Client, ConnectionType
from aiocometd_ng.exceptions import ServerError
from aiocometd_ng.extensions import Extension

from tests.helpers import wait_until
from tidings.gateways.bayeux import BayeuxGateway

BASE = "/genesys/cometd"


class ApiKey(Extension):
    """The app's key on every request: a Bayeux session belongs to one app."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def outgoing(self, payload: list, headers: dict) -> None:
        headers["apikey"] = self.key

    async def incoming(self, payload: list, headers: dict | None = None) -> None:
        return None


async def _next(client: Client, seconds: float = 5) -> dict:
    async def first() -> dict:
        async for message in client:
            return message
        raise AssertionError("stream ended")

    return await asyncio.wait_for(first(), seconds)


async def _round_trip(server, connection_type: ConnectionType) -> None:
    url = server.base_url + BASE
    key = ApiKey((await server.new_app("aiocometd")).auth_key)
    started = time.monotonic()
    async with (
        Client(url, connection_types=[connection_type], extensions=[key]) as alice,
        Client(url, connection_types=[connection_type], extensions=[key]) as bob,
    ):
        assert time.monotonic() - started < 2, "open() must not wait for a held connect"
        await alice.subscribe("/t/**")
        await bob.subscribe("/t/*")
        await alice.publish("/t/a", {"text": "hello", "n": 1})
        for client in (alice, bob):
            message = await _next(client)
            assert message == {"channel": "/t/a", "data": {"text": "hello", "n": 1}}
        await bob.publish("/t/a/deeper", {"n": 2})
        assert await _next(alice) == {"channel": "/t/a/deeper", "data": {"n": 2}}
        try:
            await alice.subscribe("/meta/connect")
        except ServerError as exc:
            assert "403" in str(exc.args)
        else:  # pragma: no cover
            raise AssertionError("subscribing to /meta/** must fail")


async def test_aiocometd_over_websocket(server) -> None:
    """§9.4: subscribe/publish/receive over websocket; open() returns quickly."""
    await _round_trip(server, ConnectionType.WEBSOCKET)


async def test_aiocometd_over_long_polling(server) -> None:
    """§9.4: the same over long-polling."""
    await _round_trip(server, ConnectionType.LONG_POLLING)


async def test_aiocometd_rehandshakes_after_the_server_drops_its_session(server) -> None:
    """§9.4: sessions lost (as after a restart) -> 402 -> re-handshake and resubscribe."""
    url = server.base_url + BASE
    key = ApiKey((await server.new_app("aiocometd again")).auth_key)
    async with Client(
        url, connection_types=[ConnectionType.LONG_POLLING], extensions=[key]
    ) as client:
        await client.subscribe("/again/room")
        old = client._transport.client_id
        gateway = BayeuxGateway.of(server.core)
        gateway.server.sessions.pop(old)
        # Wake its held connect so the next connect reaches the server now.
        gateway._wake({old})  # test reaches in to simulate a lost session
        new = await wait_until(
            lambda: client._transport.client_id not in (None, old) and client._transport.client_id,
            what="the re-handshake",
        )
        # The client resubscribes after its handshake; publish once the server has it.
        await wait_until(
            lambda: "/again/room" in getattr(gateway.server.sessions.get(new), "subscriptions", ()),
            what="the resubscription",
        )
        await client.publish("/again/room", {"back": True})
        assert await _next(client) == {"channel": "/again/room", "data": {"back": True}}
