"""The recipient's connection dies mid-burst and it comes back with a fresh stream.

ARCHITECTURE "Delivered means the client has it"; RFC 6121 §8.5.2.2 (offline
messages after the initial presence), XEP-0203 (``<delay/>``), XEP-0198 §4 (acks:
at least once) and XEP-0199 §4.2 (the server's pings that confirm reading without
stream management).

A slixmpp sender writes a burst over TCP + STARTTLS; the recipient, another slixmpp
client, loses its connection mid-burst, then connects again with a new stream (no
``<resume/>``) and sends its initial presence. The connection dies either with a
reset (its socket shut down and aborted: no closing stream, no TLS close) or
silently (it stops reading and writing; the server sees nothing and keeps writing
into buffers nobody will read, as after a phone loses its network). Across both
sessions every message must arrive. A message may arrive twice only if the first
session received it without its acknowledgement ever leaving the client (a pong or
``<a h/>`` it had not written when its socket died), and then with the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.integration.test_xmpp_chat import jid
from tests.integration.xmpp_helpers import Client, Listener, close, connect

BURST = 500
#: Messages the first session reads before its socket dies.
KILL_AT = 150
SENTINEL = "sentinel"
_PONG = re.compile(rb"""<iq [^>]*id=["'](dlv-\d+)["']""")


@dataclass
class Recipient:
    """What one recipient session received, and what it told the server it had read."""

    client: Client
    received: list[tuple[str, str, bool]] = field(default_factory=list)  # id, body, delayed
    #: Messages received before each ping the client read (XEP-0199 §4.2).
    before_ping: dict[str, int] = field(default_factory=dict)
    #: How many of ``received`` the client had confirmed on the wire (pong or <a/>).
    confirmed: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)


def recipient(user: Any, *, sm: bool) -> Recipient:
    client = Client(jid(user), "correct horse", sm=sm)
    seen = Recipient(client)

    def on_message(msg: Any) -> None:
        if msg["type"] != "chat" or not msg["body"]:
            return
        delayed = msg.xml.find("{urn:xmpp:delay}delay") is not None
        seen.received.append((msg["id"], msg["body"], delayed))
        if len(seen.received) >= KILL_AT:
            seen.reached.set()
        if msg["body"] == SENTINEL:
            seen.done.set()

    def on_stanza_in(stanza: Any) -> Any:
        # Runs before the handlers of the stanza, after those of every earlier one.
        if stanza.name == "iq" and stanza["type"] == "get" and stanza["id"].startswith("dlv-"):
            seen.before_ping[stanza["id"]] = len(seen.received)
        return stanza

    send_raw = client.send_raw

    def recording_send_raw(data: str | bytes) -> None:
        raw = data.encode() if isinstance(data, str) else data
        transport = client.transport
        if transport is None or transport.is_closing():
            return  # written after the socket died: asyncio would drop it silently
        send_raw(data)
        if b"urn:xmpp:sm:3" in raw and b"<a " in raw:
            seen.confirmed = len(seen.received)  # h covers every stanza handled so far
        elif (found := _PONG.search(raw)) is not None and b"get" not in raw:
            seen.confirmed = max(seen.confirmed, seen.before_ping.get(found[1].decode(), 0))

    client.send_raw = recording_send_raw  # type: ignore[method-assign]
    client.add_event_handler("message", on_message)
    client.add_filter("in", on_stanza_in)
    return seen


def silence(client: Client) -> None:
    """The network goes away under the client: it reads and writes nothing more."""
    assert client.transport is not None
    client.transport.pause_reading()
    client.send_raw = lambda _data: None  # type: ignore[method-assign]


def kill(client: Client) -> None:
    """The socket dies under the client: no ``</stream:stream>``, no TLS close_notify."""
    transport = client.transport
    assert transport is not None
    sock = transport.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    transport.abort()


@pytest.mark.parametrize("death", ["reset", "silent"])
@pytest.mark.parametrize("sm", [False, True], ids=["no-sm", "sm-no-resume"])
async def test_recipient_killed_mid_burst_reconnects_fresh(server, sm: bool, death: str) -> None:
    await burst_and_reconnect(server, sm=sm, death=death)


@pytest.mark.parametrize("sm", [False, True], ids=["no-sm", "sm-no-resume"])
async def test_with_an_ack_delay_more_comes_twice_and_nothing_is_lost(server, sm: bool) -> None:
    """TIDINGS_XMPP_ACK_DELAY_MS: one request covers 200 ms of messages; still at least once."""
    settings = server.core.settings
    server.core.settings = settings.with_changes(xmpp_ack_delay_ms=200)
    try:
        await burst_and_reconnect(server, sm=sm, death="reset")
    finally:
        server.core.settings = settings


async def burst_and_reconnect(server: Any, *, sm: bool, death: str) -> None:
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        sender = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        first = recipient(bob, sm=sm)
        second = recipient(bob, sm=sm)
        try:
            await connect(first.client, xmpp.port)
            for i in range(BURST):
                sender.send_message(mto=jid(bob), mbody=f"m{i}", mtype="chat")
            sender.send_message(mto=jid(bob), mbody=SENTINEL, mtype="chat")
            await asyncio.wait_for(first.reached.wait(), 60)
            (kill if death == "reset" else silence)(first.client)
            before_kill = len(first.received)
            # A fresh stream: a new client object, so no XEP-0198 id to resume with.
            await connect(second.client, xmpp.port)
            await asyncio.wait_for(second.done.wait(), 60)
        finally:
            await close(sender, second.client)
            if first.client.transport is not None:
                kill(first.client)

    assert len(first.received) == before_kill  # nothing read after the socket died
    bodies = {f"m{i}" for i in range(BURST)} | {SENTINEL}
    ids_by_body: dict[str, set[str]] = {}
    for message_id, body, _delayed in first.received + second.received:
        ids_by_body.setdefault(body, set()).add(message_id)
    lost = bodies - ids_by_body.keys()
    received_once = [body for _, body, _ in first.received]
    again = [body for _, body, _ in second.received if body in set(received_once)]
    unconfirmed = set(received_once[first.confirmed :])
    delay_ms = server.core.settings.xmpp_ack_delay_ms
    print(
        f"\n[{server.backend}, {'SM without resume' if sm else 'no SM'}, {death},"
        f" ack delay {delay_ms} ms] sent {BURST}:"
        f" first session read {len(first.received)} and confirmed {first.confirmed};"
        f" second session got {len(second.received) - 1}"
        f" ({sum(d for _, _, d in second.received)} with <delay/>);"
        f" lost {len(lost)}, duplicated {len(again)}"
    )
    assert not lost
    assert all(len(ids) == 1 for ids in ids_by_body.values())  # a second copy keeps its id
    assert set(again) <= unconfirmed  # only what was read without an acknowledgement
    # Offline messages first and in order (RFC 6121 §8.5.2.2), then live ones in order.
    order = [int(body[1:]) for _, body, _ in second.received if body != SENTINEL]
    assert order == sorted(order)
    delays = [delayed for _, _, delayed in second.received]
    assert delays == sorted(delays, reverse=True)
    assert second.received[-1][1] == SENTINEL
