"""XEP-0085 §5 with slixmpp: each of the five chat states reaches the other client as
sent, 1-1 and in a room, while the core's typing stays a yes or no for the other
gateways (the native WebSocket hears ``typing`` true or false)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.client import RealtimeConnection
from tidings.domain.events import Event, TypingChanged

STATES = ("composing", "paused", "active", "inactive", "gone")
NS = "http://jabber.org/protocol/chatstates"


def jid(user: Any) -> str:
    return f"{user.id}-{user.app_id}@localhost"


class StateClient(Client):
    """Records every chat state it is sent: (state, from bare JID, message type)."""

    def __init__(self, jid_text: str) -> None:
        super().__init__(jid_text, "correct horse")
        self.states: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
        for state in STATES:
            self.add_event_handler(
                f"chatstate_{state}",
                lambda m, s=state: self.states.put_nowait((s, str(m["from"].bare), m["type"])),
            )


async def test_each_state_arrives_exactly_one_to_one(server) -> None:
    """§5: composing, paused, active, inactive and gone, each sent bare (no body), arrive
    as themselves; the core publishes typing true for composing only, with the exact
    state beside it, and a native client hears ``typing`` true/false. An unknown
    element in the chat-states namespace is no state: nothing is published."""
    app, alice, _ = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    published: list[TypingChanged] = []

    async def keep(event: Event) -> None:
        if isinstance(event, TypingChanged):
            published.append(event)

    unsubscribe = server.core.bus.subscribe(keep)
    async with Listener(server.core) as xmpp:
        a = await connect(StateClient(jid(alice)), xmpp.port)
        b = await connect(StateClient(jid(bob)), xmpp.port)
        try:
            # The first state creates the private dialog; the native client then follows it.
            msg = a.make_message(mto=jid(bob), mtype="chat")
            msg["chat_state"] = "active"
            msg.send()
            assert await asyncio.wait_for(b.states.get(), 10) == ("active", jid(alice), "chat")
            async with await RealtimeConnection.connect(server.ws_url, bob_token) as live:
                for state in STATES:
                    msg = a.make_message(mto=jid(bob), mtype="chat")
                    msg["chat_state"] = state
                    msg.send()
                    got = await asyncio.wait_for(b.states.get(), 10)
                    assert got == (state, jid(alice), "chat")
                    frame: Any = await live.next_event("typing")
                    data = frame["data"] if isinstance(frame, dict) else frame.data
                    assert data["typing"] is (state == "composing")
                    assert "chat_state" not in data or data["chat_state"] == state
            bogus = a.make_message(mto=jid(bob), mtype="chat")
            bogus.append(ET.Element(f"{{{NS}}}thinking"))
            bogus.send()
            await a.plugin["xep_0199"].send_ping("localhost", timeout=10)
            await b.plugin["xep_0199"].send_ping("localhost", timeout=10)
            assert b.states.empty()
        finally:
            unsubscribe()
            await close(a, b)
    assert [(e.typing, e.chat_state) for e in published] == [
        (False, "active"),
        *((state == "composing", state) for state in STATES),
    ]
    assert all(e.user_id == alice.id and e.recipients == (bob.id,) for e in published)


@pytest.mark.parametrize("state", ["inactive", "gone"])
async def test_a_state_reaches_the_room_as_sent(server, state: str) -> None:
    """§5.4 (groupchat): a state sent to a room reaches the other occupant as itself,
    from the sender's occupant JID."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    room = "den@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(StateClient(jid(alice)), xmpp.port)
        b = await connect(StateClient(jid(bob)), xmpp.port)
        try:
            muc_a, muc_b = a.plugin["xep_0045"], b.plugin["xep_0045"]
            await asyncio.wait_for(muc_a.join_muc_wait(room, "alice"), 10)
            await muc_a.send_affiliation_list(room, [(jid(bob), "member")], timeout=10)
            await asyncio.wait_for(muc_b.join_muc_wait(room, "bob"), 10)
            msg = a.make_message(mto=room, mtype="groupchat")
            msg["chat_state"] = state
            msg.send()
            while True:
                got = await asyncio.wait_for(b.states.get(), 10)
                if got[0] == state:
                    break
            assert got == (state, room, "groupchat")
        finally:
            await close(a, b)
