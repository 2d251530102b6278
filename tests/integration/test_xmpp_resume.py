"""XEP-0198 §5: a stream resumed after its socket died mid-burst loses and doubles nothing."""

from __future__ import annotations

import asyncio

from tests.integration.test_xmpp_chat import jid
from tests.integration.xmpp_helpers import Client, Listener, Proxy, close, connect

BURST = 60


async def test_resume_after_socket_killed_mid_burst(server) -> None:
    app, alice, _ = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    dialog = await server.client(bob_token).create_dialog("private", [alice.id])
    rest = server.client(bob_token)
    async with Listener(server.core) as xmpp, Proxy(xmpp.port) as proxy:
        a = Client(jid(alice), "correct horse", sm=True)
        enabled = asyncio.Event()
        a.add_event_handler("sm_enabled", lambda _e: enabled.set())
        await connect(a, proxy.port)
        await asyncio.wait_for(enabled.wait(), 10)
        disconnected = asyncio.Event()
        a.add_event_handler("disconnected", lambda _e: disconnected.set())
        try:
            received: list[str] = []
            # Kill the socket about a dozen messages into the burst, inside a TLS record.
            proxy.cut_after = proxy.downstream + 12 * 500 + 123
            for i in range(BURST):
                await rest.send_message(dialog.id, f"m{i}")
            await asyncio.wait_for(proxy.was_cut.wait(), 10)
            await asyncio.wait_for(disconnected.wait(), 10)
            a.started.clear()
            resumed = asyncio.Event()
            a.add_event_handler("session_resumed", lambda _e: resumed.set())
            a.connect(host="127.0.0.1", port=proxy.port)
            await asyncio.wait_for(resumed.wait(), 10)
            while len(received) < BURST:
                received.append((await asyncio.wait_for(a.messages.get(), 10))["body"])
            await rest.send_message(dialog.id, "sentinel")
            received.append((await asyncio.wait_for(a.messages.get(), 10))["body"])
            assert received == [f"m{i}" for i in range(BURST)] + ["sentinel"]
        finally:
            await close(a)
