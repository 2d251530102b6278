"""A node that lost the bus catches its XMPP sessions up from the store, once each.

ARCHITECTURE "Delivered means the client has it": a node that loses the bus
catches its live sessions up from the store (per-dialog sequence numbers) when
it comes back. The gap is made for real: the XMPP registry is unsubscribed from
the bus while messages are sent, then subscribed again and told to catch up, as
the bus does after a Redis reconnect (``Bus.on_resume``); the events the gap
swallowed are then delivered late as well, as a publisher's backlog would be.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.test_xmpp_chat import jid
from tests.integration.test_xmpp_offline import _until
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.domain.events import MessageCreated

GAP = 6


@pytest.mark.parametrize("limit", [None, 2], ids=["read-back", "more-than-the-limit"])
async def test_a_bus_gap_is_caught_up_from_the_store_once(server, limit: int | None) -> None:
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    rest = server.client(alice_token)
    dialog = await rest.create_dialog("private", [bob.id])
    settings = server.core.settings
    async with Listener(server.core) as xmpp:
        registry = xmpp.server.gateway.registry
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            await rest.send_message(dialog.id, "before")
            assert (await _until(b, "before"))[-1]["body"] == "before"

            swallowed: list[Any] = []
            all_swallowed = asyncio.Event()

            async def keep(event: Any) -> None:
                if isinstance(event, MessageCreated) and event.dialog_id == dialog.id:
                    swallowed.append(event)
                    if len(swallowed) == GAP:
                        all_swallowed.set()

            unsubscribe = server.core.bus.subscribe(keep)
            registry.detach()  # the bus connection is gone: this node hears nothing
            since_ms = server.core.clock.now_ms()
            for i in range(GAP):
                await rest.send_message(dialog.id, f"gap {i}")
            await asyncio.wait_for(all_swallowed.wait(), 10)  # the bus has its own task
            unsubscribe()
            registry.attach(server.core.bus)
            if limit is not None:
                server.core.settings = settings.with_changes(catch_up_limit=limit)
            await registry.catch_up(since_ms)
            for event in swallowed:  # late copies, as from a publisher's backlog
                await registry.deliver(event)
            await rest.send_message(dialog.id, "after")
            got = await _until(b, "after")
        finally:
            server.core.settings = settings
            await close(b)
    bodies = [m["body"] for m in got]
    print(f"\n[{server.backend}, limit {limit}] {GAP} sent in the gap: {bodies}")
    assert bodies == [f"gap {i}" for i in range(GAP)] + ["after"]
    assert len({m["id"] for m in got}) == len(got)
