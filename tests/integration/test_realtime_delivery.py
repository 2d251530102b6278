"""What reaches a native WebSocket client after a bus gap, and when it counts as delivered.

ARCHITECTURE, "Delivered means the client has it": a delivered marker moves on the
client's acknowledgement (here the ``delivered`` frame), never on a socket write;
a node that loses the bus catches its live sessions up from the store. The bus is
the server's own memory bus, whose ``outage()`` loses events the way a node cut
off from Redis does and then resumes as it does (test_bus_outage.py does the same
with two processes and a real Redis killed mid-burst).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tidings.client import RealtimeConnection
from tidings.domain.events import MessageCreated
from tidings.domain.models import Actor


async def created_events(ws: RealtimeConnection, count: int) -> list[dict[str, Any]]:
    return [(await ws.next_event("message.created")).data["message"] for _ in range(count)]


@contextlib.asynccontextmanager
async def catch_up_limit(server: Any, limit: int) -> AsyncIterator[None]:
    """Read at most ``limit`` messages back per catch-up inside the block."""
    saved = server.core.settings
    server.core.settings = saved.with_changes(catch_up_limit=limit)
    try:
        yield
    finally:
        server.core.settings = saved


async def test_messages_lost_in_a_bus_gap_reach_the_live_client_once_and_in_order(
    server: Any,
) -> None:
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await bob_c.create_dialog("private", [alice.id])
    async with RealtimeConnection.connect(server.ws_url, alice_c.token) as ws:
        before = await bob_c.send_message(dialog.id, "before")
        assert [m["id"] for m in await created_events(ws, 1)] == [before.id]
        async with server.core.bus.outage():
            lost = [await bob_c.send_message(dialog.id, f"lost {i}") for i in range(5)]
        caught = await created_events(ws, 5)
        assert [m["id"] for m in caught] == [m.id for m in lost]
        assert [m["seq"] for m in caught] == [before.seq + 1 + i for i in range(5)]
        assert caught[0]["body"] == "lost 0" and caught[0]["read_ids"] == [bob.id]
        # A publisher's held copies arrive late, as after a Redis restart: none is sent again.
        for message in lost:
            await server.core.bus.publish(
                MessageCreated(
                    app_id=app.id,
                    recipients=(alice.id, bob.id),
                    dialog_id=dialog.id,
                    message=message.to_dict(),
                )
            )
        after = await bob_c.send_message(dialog.id, "after")
        assert [m["id"] for m in await created_events(ws, 1)] == [after.id]


async def test_a_catch_up_respects_blocks_and_leaves_other_users_alone(server: Any) -> None:
    """Recipients are rebuilt as a send computes them: a member who blocks the sender
    gets nothing, and a connected user of another dialog gets nothing either."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, carol, carol_c = await server.new_client(app)
    _, _dave, dave_c = await server.new_client(app)
    group = await alice_c.create_dialog("group", [bob.id, carol.id], name="trio")
    await carol_c.block(alice.id)
    async with (
        RealtimeConnection.connect(server.ws_url, bob_c.token) as bob_ws,
        RealtimeConnection.connect(server.ws_url, carol_c.token) as carol_ws,
        RealtimeConnection.connect(server.ws_url, dave_c.token) as dave_ws,
    ):
        async with server.core.bus.outage():
            from_alice = await alice_c.send_message(group.id, "carol blocks me")
            from_bob = await bob_c.send_message(group.id, "carol does not block me")
        assert [m["id"] for m in await created_events(bob_ws, 2)] == [
            from_alice.id,
            from_bob.id,
        ]
        assert [m["id"] for m in await created_events(carol_ws, 1)] == [from_bob.id]
        with pytest.raises(TimeoutError):
            await dave_ws.next_event("message.created", timeout=0.3)
        with pytest.raises(TimeoutError):
            await carol_ws.next_event("message.created", timeout=0.3)


async def test_when_more_was_missed_than_a_catch_up_reads_the_client_is_told_to_resync(
    server: Any,
) -> None:
    """docs/realtime.md, Resync: the client asks from the last seq it got."""
    app, alice, alice_c = await server.new_client()
    _, _bob, bob_c = await server.new_client(app)
    dialog = await bob_c.create_dialog("private", [alice.id])
    async with RealtimeConnection.connect(server.ws_url, alice_c.token) as ws:
        async with catch_up_limit(server, 2):
            async with server.core.bus.outage():
                lost = [await bob_c.send_message(dialog.id, f"lost {i}") for i in range(4)]
            pushed = await created_events(ws, 2)
            notice = await ws.next_event("resync.required")
        assert notice.data == {"app_id": app.id, "reason": "bus_gap"}
        assert [m["id"] for m in pushed] == [m.id for m in lost[:2]]
        reply = (await ws.resync({dialog.id: pushed[-1]["seq"]}))[dialog.id]
        assert [m.id for m in reply.messages] == [m.id for m in lost[2:]]
        assert reply.complete is True


async def test_live_delivery_does_not_move_the_delivered_marker_the_clients_ack_does(
    server: Any,
) -> None:
    """ARCHITECTURE, "Delivered means the client has it": writing the event to the
    socket is not delivery; the client's ``delivered`` frame is."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await bob_c.create_dialog("private", [alice.id])
    bob_actor = Actor(app.id, bob.id)
    async with (
        RealtimeConnection.connect(server.ws_url, alice_c.token) as alice_ws,
        RealtimeConnection.connect(server.ws_url, bob_c.token) as bob_ws,
    ):
        sent = await bob_c.send_message(dialog.id, "did you get it?")
        assert (await created_events(alice_ws, 1))[0]["id"] == sent.id
        await alice_ws.ping()  # the event was written and the socket is alive
        await server.core.delivered_marks.flush()
        stored = await server.core.messages.get_message(bob_actor, dialog.id, sent.id)
        assert alice.id not in stored.delivered_ids
        assert await alice_ws.mark_delivered(dialog.id, sent.id) == sent.seq
        receipt = await bob_ws.next_event("message.delivered")
        assert receipt.data["user_id"] == alice.id and receipt.data["seq"] == sent.seq
        stored = await server.core.messages.get_message(bob_actor, dialog.id, sent.id)
        assert alice.id in stored.delivered_ids
