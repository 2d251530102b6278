"""Offline delivery and the delivered marker over XMPP, with slixmpp over STARTTLS.

RFC 6121 §8.5.2.2 (offline messages after the initial presence), XEP-0203
(``<delay/>``), XEP-0198 §4 and XEP-0199 §4.2 (what the client confirmed), RFC
6120 §4.4 (a clean close), and ARCHITECTURE "Delivered means the client has it".
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.test_xmpp_chat import jid
from tests.integration.test_xmpp_reconnect_faults import kill
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.domain.models import Actor


async def _until(client: Client, body: str) -> list[Any]:
    """Every chat message up to and including the one with ``body``."""
    got = []
    while True:
        message = await asyncio.wait_for(client.messages.get(), 30)
        got.append(message)
        if message["body"] == body:
            return got


def _deaf(client: Client, *, sm: bool) -> Client:
    """A client that reads but never confirms: it drops the server's pings (or <r/>)."""

    def drop(stanza: Any) -> Any:
        if sm and stanza.name == "r":
            return None
        if not sm and stanza.name == "iq" and stanza["id"].startswith("dlv-"):
            return None
        return stanza

    client.add_filter("in", drop)
    return client


async def test_every_stored_message_arrives_in_order_without_a_cap(server) -> None:
    """RFC 6121 §8.5.2.2 + XEP-0203: hundreds per dialog, two dialogs, oldest first."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    author, reader = Actor(app.id, alice.id), Actor(app.id, bob.id)
    messages = server.core.messages
    private = await server.core.dialogs.create_dialog(author, "private", occupant_ids=[bob.id])
    group = await server.core.dialogs.create_dialog(
        author, "group", occupant_ids=[bob.id], name="backlog"
    )
    # Sending reads the dialog up to one's own message, so bob's comes first.
    await messages.send_message(reader, private.id, "bob was here")
    expected = []
    for i in range(450):
        dialog = private if i % 3 else group
        sent = await messages.send_message(author, dialog.id, f"m{i}")
        if i % 50 == 7:
            await messages.delete_message(author, dialog.id, sent.id, for_everyone=True)
        else:
            expected.append(f"m{i}")
    await messages.send_message(author, private.id, "last")
    expected.append("last")
    async with Listener(server.core) as xmpp:
        b = Client(jid(bob), "correct horse")
        arrived: list[tuple[str, str, bool]] = []  # type, body, delayed; both queues, in order
        done = asyncio.Event()

        def collect(message: Any) -> None:
            if message["body"]:
                arrived.append((message["type"], message["body"], bool(message["delay"]["stamp"])))
            if message["body"] == "last":
                done.set()

        b.add_event_handler("message", collect)
        await connect(b, xmpp.port)
        try:
            await asyncio.wait_for(done.wait(), 60)
            assert [body for _, body, _ in arrived] == expected  # ids are time-ordered
            assert all(delayed for _, _, delayed in arrived)
            kinds = {body: kind for kind, body, _ in arrived}
            assert kinds["m0"] == "groupchat" and kinds["m1"] == "chat"
        finally:
            await close(b)


async def test_an_unconfirmed_message_goes_to_the_next_session(server) -> None:
    """Not on a socket write: a message the client never confirmed comes again, same id."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    rest = server.client(alice_token)
    dialog = await rest.create_dialog("private", [bob.id])
    for sm in (False, True):
        async with Listener(server.core) as xmpp:
            first = await connect(_deaf(Client(jid(bob), "correct horse", sm=sm), sm=sm), xmpp.port)
            try:
                sent = await rest.send_message(dialog.id, f"unconfirmed {sm}")
                got = await asyncio.wait_for(first.messages.get(), 10)
                assert got["id"] == sent.id
            finally:
                kill(first)
            second = await connect(Client(jid(bob), "correct horse", sm=sm), xmpp.port)
            try:
                again = await asyncio.wait_for(second.messages.get(), 10)
                assert again["id"] == sent.id  # the client can drop the second copy
                assert again["delay"]["stamp"] is not None
                await rest.send_message(dialog.id, f"live {sm}")
                got = await _until(second, f"live {sm}")
                assert [m["body"] for m in got] == [f"live {sm}"]
            finally:
                await close(second)
        await server.core.delivered_marks.flush()  # confirmations are written in batches
        history = await rest.history(dialog.id)
        assert bob.id in history.items[-1].delivered_ids  # the second one confirmed


async def test_a_clean_close_without_stream_management_counts_as_read(server) -> None:
    """RFC 6120 §4.4: a client that closes its stream read what came before our close."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    rest = server.client(alice_token)
    dialog = await rest.create_dialog("private", [bob.id])
    async with Listener(server.core) as xmpp:
        first = await connect(_deaf(Client(jid(bob), "correct horse"), sm=False), xmpp.port)
        try:
            await rest.send_message(dialog.id, "read before closing")
            await asyncio.wait_for(first.messages.get(), 10)
        finally:
            await close(first)
        second = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            await rest.send_message(dialog.id, "after")
            got = await _until(second, "after")
            assert [m["body"] for m in got] == ["after"]
        finally:
            await close(second)


async def test_unacked_stanzas_of_a_cleanly_closed_sm_stream_come_again(server) -> None:
    """XEP-0198 §4: without an <a/> covering it, a message is re-sent, with its id."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    rest = server.client(alice_token)
    dialog = await rest.create_dialog("private", [bob.id])
    async with Listener(server.core) as xmpp:
        first = await connect(_deaf(Client(jid(bob), "correct horse", sm=True), sm=True), xmpp.port)
        try:
            sent = await rest.send_message(dialog.id, "never acked")
            await asyncio.wait_for(first.messages.get(), 10)
        finally:
            await close(first)
        second = await connect(Client(jid(bob), "correct horse", sm=True), xmpp.port)
        try:
            again = await asyncio.wait_for(second.messages.get(), 10)
            assert (again["id"], again["body"]) == (sent.id, "never acked")
        finally:
            await close(second)


async def test_offline_delivery_keeps_to_the_privacy_list(server) -> None:
    """XEP-0016: what a blocked member wrote in a group is not delivered, live or offline."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    author, reader = Actor(app.id, alice.id), Actor(app.id, bob.id)
    group = await server.core.dialogs.create_dialog(
        author, "group", occupant_ids=[bob.id, carol.id], name="blocked"
    )
    await server.core.privacy.put_list(reader, "nope", [{"user_id": alice.id, "action": "deny"}])
    await server.core.privacy.set_active(reader, "nope")
    await server.core.messages.send_message(author, group.id, "from a blocked member")
    await server.core.messages.send_message(Actor(app.id, carol.id), group.id, "from carol")
    async with Listener(server.core) as xmpp:
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            got = await asyncio.wait_for(b.groupchat.get(), 10)
            assert got["body"] == "from carol"
            assert b.groupchat.empty()
        finally:
            await close(b)
