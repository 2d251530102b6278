"""XMPP gateway with slixmpp over TCP + STARTTLS (RFC 6120/6121, XEP-0045/0085/0184/0333)."""

from __future__ import annotations

import asyncio

from tests.helpers import wait_until
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.client import Dialog


def jid(user, domain: str = "localhost") -> str:
    return f"{user.id}-{user.app_id}@{domain}"


async def test_one_to_one_chat_over_starttls(server) -> None:
    """RFC 6120 §5 STARTTLS, §6 SASL PLAIN, §7 bind; RFC 6121 §5 chat both ways."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            assert a.is_connected_secure if hasattr(a, "is_connected_secure") else True
            a.send_message(mto=jid(bob), mbody="hello bob", mtype="chat")
            got = await asyncio.wait_for(b.messages.get(), 10)
            assert got["body"] == "hello bob"
            assert got["from"].bare == jid(alice)
            b.send_message(mto=jid(alice), mbody="hi alice", mtype="chat")
            back = await asyncio.wait_for(a.messages.get(), 10)
            assert back["body"] == "hi alice"
        finally:
            await close(a, b)


async def test_message_over_xmpp_is_in_rest_history_and_unread(server) -> None:
    """connectycube-wire §11: a message sent over XMPP is stored through the core."""
    app, alice, _ = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    bob_rest = server.client(bob_token)
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        try:
            a.send_message(mto=jid(bob), mbody="stored for bob", mtype="chat")

            async def stored() -> Dialog | None:
                dialogs = (await bob_rest.list_dialogs()).items
                if dialogs and dialogs[0].last_message_text == "stored for bob":
                    return dialogs[0]
                return None

            dialog = await wait_until(stored, what="the message in bob's dialogs")
            history = await bob_rest.history(dialog.id)
            assert [m.body for m in history.items] == ["stored for bob"]
            assert history.items[0].sender_id == alice.id
            unread = await bob_rest.unread()
            assert unread.dialogs[dialog.id] == 1
        finally:
            await close(a)


async def test_native_websocket_message_reaches_xmpp_client(server) -> None:
    """A message sent over /api/v1/ws arrives as an XMPP chat message with its id."""
    from tidings.client.realtime import RealtimeConnection

    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog("private", [bob.id])
    async with Listener(server.core) as xmpp:
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            async with RealtimeConnection.connect(server.ws_url, alice_token) as ws:
                sent = await ws.send_message(dialog.id, "from the native socket")
            got = await asyncio.wait_for(b.messages.get(), 10)
            assert got["body"] == "from the native socket"
            assert got["id"] == sent.id
            assert got["from"].bare == jid(alice)
            extra = got.xml.find("{jabber:client}extraParams")
            assert extra.findtext("{jabber:client}dialog_id") == dialog.id
        finally:
            await close(b)


async def test_typing_receipts_and_read_markers(server) -> None:
    """XEP-0085 typing; XEP-0184 receipt and XEP-0333 displayed update the core markers."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            msg = a.make_message(mto=jid(bob), mtype="chat")
            msg["chat_state"] = "composing"
            msg.send()
            assert await asyncio.wait_for(b.chatstates.get(), 10) == ("composing", jid(alice))

            msg = a.make_message(mto=jid(bob), mbody="please confirm", mtype="chat")
            msg["request_receipt"] = True
            msg.send()
            got = await asyncio.wait_for(b.messages.get(), 10)
            # slixmpp's XEP-0184 plugin acks automatically; the id is the stored message's.
            receipt = await asyncio.wait_for(a.receipts.get(), 10)
            assert receipt == got["id"]

            read = b.make_message(mto=jid(alice), mtype="chat")
            read["displayed"]["id"] = got["id"]
            read.send()
            while True:
                name, marked = await asyncio.wait_for(a.markers.get(), 10)
                if name == "displayed":
                    break
            assert marked == got["id"]
            dialogs = (await server.client(alice_token).list_dialogs()).items
            history = await server.client(alice_token).history(dialogs[0].id)
            assert bob.id in history.items[-1].read_ids
        finally:
            await close(a, b)


async def test_muc_room_chat(server) -> None:
    """XEP-0045 §7.2 join with the self-presence quirk; §7.4 groupchat from room/<userId>."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, carol_token = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog(
        "group", [bob.id, carol.id], name="room"
    )
    room = f"{app.id}_{dialog.id}@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            muc = a.plugin["xep_0045"]
            joined = await asyncio.wait_for(muc.join_muc_wait(room, str(alice.id)), 10)
            assert joined[0]["muc"]["status_codes"] == {110, 100, 170}  # self, real JIDs, logged
            a.send_message(mto=room, mbody="hi group", mtype="groupchat")
            got = await asyncio.wait_for(b.groupchat.get(), 10)
            assert got["body"] == "hi group"
            assert str(got["from"]) == f"{room}/{alice.id}"
            history = await server.client(carol_token).history(dialog.id)
            assert [m.body for m in history.items] == ["hi group"]
        finally:
            await close(a, b)


async def test_offline_messages_arrive_with_delay(server) -> None:
    """XEP-0203: what arrived while away comes after the initial presence, once."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog("private", [bob.id])
    rest = server.client(alice_token)
    await rest.send_message(dialog.id, "while you were away 1")
    await rest.send_message(dialog.id, "while you were away 2")
    async with Listener(server.core) as xmpp:
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            first = await asyncio.wait_for(b.messages.get(), 10)
            second = await asyncio.wait_for(b.messages.get(), 10)
            assert [first["body"], second["body"]] == [
                "while you were away 1",
                "while you were away 2",
            ]
            assert first["delay"]["stamp"] is not None
        finally:
            await close(b)
        b2 = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            await rest.send_message(dialog.id, "live")
            got = await asyncio.wait_for(b2.messages.get(), 10)
            assert got["body"] == "live"  # the earlier two were not delivered again
        finally:
            await close(b2)
