"""Live delivery in groups: fan-out, blocking, mute, self-destroying and broadcast."""

from __future__ import annotations

import asyncio

import pytest

from tidings.client import RealtimeConnection


async def test_group_message_reaches_every_member_but_not_one_who_blocked_the_sender(
    server,
) -> None:
    """Issue: in group dialogs the blocked user's messages are not delivered to the blocker
    (they stay in history); everyone else gets them live."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, carol, carol_c = await server.new_client(app)
    group = await alice_c.create_dialog("group", [bob.id, carol.id], name="trio")
    await carol_c.block(alice.id)
    async with (
        RealtimeConnection.connect(server.ws_url, bob_c.token) as bob_ws,
        RealtimeConnection.connect(server.ws_url, carol_c.token) as carol_ws,
    ):
        sent = await alice_c.send_message(group.id, "hello group")
        event = await bob_ws.next_event("message.created")
        assert event.data["message"]["id"] == sent.id
        with pytest.raises(TimeoutError):
            await carol_ws.next_event("message.created", timeout=0.5)
        from_bob = await bob_c.send_message(group.id, "bob is not blocked")
        event = await carol_ws.next_event("message.created")
        assert event.data["message"]["id"] == from_bob.id
    history = await carol_c.history(group.id)
    assert sent.id in [m.id for m in history.items], "history still holds it"


async def test_self_destroying_message_is_relayed_live_and_never_stored(server) -> None:
    """Seed 'self-destroying messages': delivered to who is connected, never stored."""
    app, _alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    async with RealtimeConnection.connect(server.ws_url, bob_c.token) as bob_ws:
        sent = await alice_c.send_message(dialog.id, "burn after reading", self_destroy_after=10)
        event = await bob_ws.next_event("message.created")
        message = event.data["message"]
        assert message["id"] == sent.id and message["ephemeral"] is True
        assert message["self_destroy_after"] == 10 and message["seq"] is None
    assert (await bob_c.history(dialog.id)).items == []
    assert (await bob_c.unread()).total == 0


async def test_broadcast_reaches_every_connected_user_of_the_app_only(server) -> None:
    """A broadcast dialog's message goes to all users of its app, and no other app."""
    app, _admin, admin_c = await server.new_client(role="admin")
    _, _user, user_c = await server.new_client(app)
    _, _stranger, stranger_c = await server.new_client()
    dialog = await admin_c.create_dialog("broadcast", name="announcements")
    async with (
        RealtimeConnection.connect(server.ws_url, user_c.token) as user_ws,
        RealtimeConnection.connect(server.ws_url, stranger_c.token) as stranger_ws,
    ):
        sent = await admin_c.send_message(dialog.id, "maintenance tonight")
        event = await user_ws.next_event("message.created")
        assert event.data["message"]["id"] == sent.id
        with pytest.raises(TimeoutError):
            await stranger_ws.next_event("message.created", timeout=0.5)


async def test_fan_out_to_fifty_members_delivers_each_message_once(server) -> None:
    """Each of 50 members gets each of 5 messages exactly once, in sequence order."""
    app, _owner, owner_c = await server.new_client()
    members = [await server.new_user(app) for _ in range(50)]
    group = await owner_c.create_dialog("group", [u.id for _a, u, _t in members], name="big")
    sockets = [await RealtimeConnection.connect(server.ws_url, t) for _a, _u, t in members]
    try:
        sent = [await owner_c.send_message(group.id, f"m{i}") for i in range(5)]

        async def collect(ws: RealtimeConnection) -> list[int]:
            return [(await ws.next_event("message.created")).data["message"]["seq"] for _ in sent]

        seqs = await asyncio.gather(*(collect(ws) for ws in sockets))
        assert all(s == [m.seq for m in sent] for s in seqs)
        for ws in sockets:
            with pytest.raises(TimeoutError):
                await ws.next_event("message.created", timeout=0.05)
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
