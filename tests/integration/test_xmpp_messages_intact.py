"""Messages are routed, not rebuilt (RFC 6120 §8.4): slixmpp clients on the real server.

The client's id and ``origin-id`` (XEP-0359), its extension elements, its message
type, payloads without a body (XEP-0444, XEP-0424), receipts (XEP-0184) and
markers (XEP-0333) reach the other side as the sender wrote them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from tests.helpers import wait_until
from tests.integration.xmpp_helpers import Client, Listener, close, connect

CUSTOM = '<custom xmlns="urn:example:custom" level="3"><deep note="x &amp; y">inner</deep></custom>'


def jid(user: Any, domain: str = "localhost") -> str:
    return f"{user.id}-{user.app_id}@{domain}"


class Raw(Client):
    """Records every ``<message>`` as it arrived, with or without a body."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.all: asyncio.Queue[Any] = asyncio.Queue()
        # slixmpp's own "message" event needs a body; this sees every message.
        self.register_handler(
            Callback("every message", MatchXPath("{jabber:client}message"), self.all.put_nowait)
        )


async def next_with(client: Raw, tag: str) -> Any:
    """The next message that has a child ``tag`` (Clark name); others are skipped."""
    while True:
        msg = await asyncio.wait_for(client.all.get(), 10)
        if msg.xml.find(tag) is not None:
            return msg


async def test_client_id_and_origin_id_reach_the_recipient(server) -> None:
    """XEP-0359 §3/§4: the recipient sees the sender's id and origin-id; the server adds
    its own ``stanza-id`` (the stored message's id), and the REST history has it."""
    app, alice, _ = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Raw(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Raw(jid(bob), "correct horse"), xmpp.port)
        try:
            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="slix-0001">'
                "<body>hello with my id</body>"
                '<origin-id xmlns="urn:xmpp:sid:0" id="slix-0001"/>'
                '<stanza-id xmlns="urn:xmpp:sid:0" id="forged" by="localhost"/>'
                "</message>"
            )
            got = await next_with(b, "{jabber:client}body")
            print("received:", got)
            assert got["id"] == "slix-0001"
            assert got.xml.find("{urn:xmpp:sid:0}origin-id").get("id") == "slix-0001"
            stanza_ids = got.xml.findall("{urn:xmpp:sid:0}stanza-id")
            assert len(stanza_ids) == 1 and stanza_ids[0].get("id") != "forged"
            stored_id = stanza_ids[0].get("id")
            dialogs = (await server.client(bob_token).list_dialogs()).items
            history = await server.client(bob_token).history(dialogs[0].id)
            assert [m.id for m in history.items] == [stored_id]
            assert history.items[0].client_id == "slix-0001"

            # A retry under the same client id is the same message, delivered once.
            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="slix-0001">'
                "<body>hello with my id</body></message>"
            )
            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="slix-0002"><body>2</body></message>'
            )
            after = await next_with(b, "{jabber:client}body")
            assert after["id"] == "slix-0002"
            history = await server.client(bob_token).history(dialogs[0].id)
            print("history ids:", [m.client_id for m in history.items])
            assert [m.client_id for m in history.items] == ["slix-0001", "slix-0002"]
        finally:
            await close(a, b)


async def test_unknown_extension_arrives_intact_live_and_offline(server) -> None:
    """RFC 6120 §8.4: an extension element the server does not know reaches the
    recipient as sent, live and (RFC 6121 §8.5.2.2) from the offline store."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    rest = server.client(alice_token)
    async with Listener(server.core) as xmpp:
        a = await connect(Raw(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Raw(jid(bob), "correct horse"), xmpp.port)
        try:
            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="live-1">'
                f"<body>live</body>{CUSTOM}</message>"
            )
            live = await next_with(b, "{jabber:client}body")
            custom = live.xml.find("{urn:example:custom}custom")
            assert custom is not None and custom.get("level") == "3"
            deep = custom.find("{urn:example:custom}deep")
            assert deep.get("note") == "x & y" and deep.text == "inner"
            await close(b)

            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="off-1">'
                f"<body>later</body>{CUSTOM}</message>"
            )
            await wait_until(lambda: _stored(rest, 2), what="the offline message stored")
            b = await connect(Raw(jid(bob), "correct horse"), xmpp.port)
            while True:
                offline = await next_with(b, "{jabber:client}body")
                if offline["id"] == "off-1":
                    break
            print("offline:", offline)
            assert offline.xml.find("{urn:xmpp:delay}delay") is not None
            deep = offline.xml.find("{urn:example:custom}custom/{urn:example:custom}deep")
            assert deep is not None and deep.get("note") == "x & y" and deep.text == "inner"
        finally:
            await close(a, b)


async def _stored(rest: Any, count: int) -> bool:
    """Whether the (only) dialog of ``rest``'s user holds ``count`` messages."""
    dialogs = (await rest.list_dialogs()).items
    return bool(dialogs) and len((await rest.history(dialogs[0].id)).items) == count


async def test_extension_elements_over_the_limit_are_refused(server) -> None:
    """RFC 6120 §8.3.3.11 policy-violation: extension elements are bounded in size."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Raw(jid(alice), "correct horse"), xmpp.port)
        try:
            big = "<big xmlns='urn:example:big'>" + "x" * 20000 + "</big>"
            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="big-1"><body>b</body>{big}</message>'
            )
            error = await asyncio.wait_for(a.errors.get(), 10)
            print("error:", error)
            assert error["id"] == "big-1"
            condition = "{urn:ietf:params:xml:ns:xmpp-stanzas}policy-violation"
            assert error.xml.find(f"{{jabber:client}}error/{condition}") is not None
            assert a.is_connected()
        finally:
            await close(a)


async def test_type_normal_and_chat_state_with_body_are_kept(server) -> None:
    """RFC 6121 §5.2.2: ``normal`` stays ``normal``; XEP-0085 §5.1 ``<active/>`` sent with
    a body reaches the recipient with it."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Raw(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Raw(jid(bob), "correct horse"), xmpp.port)
        try:
            a.send_raw(
                f'<message to="{jid(bob)}" type="normal" id="n-1"><body>memo</body></message>'
            )
            normal = await next_with(b, "{jabber:client}body")
            assert (normal["id"], normal["type"]) == ("n-1", "normal")
            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="c-1"><body>hi</body>'
                '<active xmlns="http://jabber.org/protocol/chatstates"/></message>'
            )
            chat = await next_with(b, "{jabber:client}body")
            assert (chat["id"], chat["type"]) == ("c-1", "chat")
            assert chat.xml.find("{http://jabber.org/protocol/chatstates}active") is not None
        finally:
            await close(a, b)


async def test_reaction_live_and_retraction_offline_without_body(server) -> None:
    """XEP-0444 §3 reactions and XEP-0424 §4 retractions carry no body: routed to the
    recipient, live, and (stored) to a recipient that was offline."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    rest = server.client(alice_token)
    async with Listener(server.core) as xmpp:
        a = await connect(Raw(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Raw(jid(bob), "correct horse"), xmpp.port)
        try:
            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="m-1"><body>react</body></message>'
            )
            await next_with(b, "{jabber:client}body")
            b.send_raw(
                f'<message to="{jid(alice)}" type="chat" id="r-1">'
                '<reactions xmlns="urn:xmpp:reactions:0" id="m-1">'
                "<reaction>\U0001f44d</reaction></reactions>"
                '<store xmlns="urn:xmpp:hints"/></message>'
            )
            reaction = await next_with(a, "{urn:xmpp:reactions:0}reactions")
            assert reaction["id"] == "r-1" and reaction.xml.find("{jabber:client}body") is None
            assert reaction.xml.find("{urn:xmpp:reactions:0}reactions").get("id") == "m-1"
            assert (
                reaction.xml.findtext(
                    "{urn:xmpp:reactions:0}reactions/{urn:xmpp:reactions:0}reaction"
                )
                == "\U0001f44d"
            )
            await close(b)

            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="x-1">'
                '<retract xmlns="urn:xmpp:message-retract:1" id="m-1"/>'
                '<fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:message-retract:1"/>'
                "</message>"
            )
            # message, reaction, retraction: all three stored before bob comes back
            await wait_until(lambda: _stored(rest, 3), what="the retraction stored")
            b = await connect(Raw(jid(bob), "correct horse"), xmpp.port)
            retraction = await next_with(b, "{urn:xmpp:message-retract:1}retract")
            print("retraction:", retraction)
            assert retraction["id"] == "x-1"
            assert retraction.xml.find("{urn:xmpp:message-retract:1}retract").get("id") == "m-1"
        finally:
            await close(a, b)


async def test_receipt_request_and_answer_are_routed_with_the_senders_id(server) -> None:
    """XEP-0184 §5: the ``<request/>`` reaches the recipient; the recipient client's
    ``<received/>`` reaches the sender naming the sender's own id, and the core counts
    the message as delivered. The server never answers a request itself."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Raw(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Raw(jid(bob), "correct horse"), xmpp.port)
        b.plugin["xep_0184"].auto_ack = False  # bob answers by hand below
        try:
            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="ask-1"><body>ack me</body>'
                '<request xmlns="urn:xmpp:receipts"/></message>'
            )
            got = await next_with(b, "{jabber:client}body")
            assert got["id"] == "ask-1"
            assert got.xml.find("{urn:xmpp:receipts}request") is not None
            # (bob's client confirming the stanza itself, by answering the server's ping,
            # counts as delivered too; that receipt names alice's id as well.)

            b.send_raw(
                f'<message to="{jid(alice)}" id="ack-1">'
                '<received xmlns="urn:xmpp:receipts" id="ask-1"/></message>'
            )
            receipt = await asyncio.wait_for(a.receipts.get(), 10)
            print("receipt for:", receipt)
            assert receipt == "ask-1"
            dialogs = (await server.client(alice_token).list_dialogs()).items
            history = await server.client(alice_token).history(dialogs[0].id)
            assert bob.id in history.items[-1].delivered_ids

            # A displayed marker naming the client's id marks it read (XEP-0333 §4).
            b.send_raw(
                f'<message to="{jid(alice)}" type="chat" id="mk-1">'
                '<displayed xmlns="urn:xmpp:chat-markers:0" id="ask-1"/></message>'
            )
            while True:
                name, marked = await asyncio.wait_for(a.markers.get(), 10)
                if name == "displayed":
                    break
            assert marked == "ask-1"
            history = await server.client(alice_token).history(dialogs[0].id)
            assert bob.id in history.items[-1].read_ids
        finally:
            await close(a, b)


async def test_group_marker_comes_from_the_room(server) -> None:
    """XEP-0333 §5 (markers in MUC): a member's marker on a standard client's group
    message reaches the author from the room, ``type="groupchat"``, naming the
    author's id — not as a 1-1 chat message."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog("group", [bob.id], name="markers")
    room = f"{app.id}_{dialog.id}@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Raw(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Raw(jid(bob), "correct horse"), xmpp.port)
        try:
            for client, user in ((a, alice), (b, bob)):
                await asyncio.wait_for(
                    client.plugin["xep_0045"].join_muc_wait(room, str(user.id)), 10
                )
            a.send_raw(
                f'<message to="{room}" type="groupchat" id="g-1"><body>group hello</body></message>'
            )
            while True:
                got = await next_with(b, "{jabber:client}body")
                if got["id"] == "g-1":
                    break
            b.send_raw(
                f'<message to="{room}" type="groupchat" id="gm-1">'
                '<displayed xmlns="urn:xmpp:chat-markers:0" id="g-1"/></message>'
            )
            marker = await next_with(a, "{urn:xmpp:chat-markers:0}displayed")
            print("marker:", marker)
            assert marker["type"] == "groupchat"
            assert marker["from"].bare == room
            assert marker.xml.find("{urn:xmpp:chat-markers:0}displayed").get("id") == "g-1"
            history = await server.client(alice_token).history(dialog.id)
            assert bob.id in history.items[-1].read_ids
        finally:
            await close(a, b)


async def test_receipt_reaches_the_sender_on_another_node_with_its_id(server) -> None:
    """XEP-0184 §5 across nodes: the author sent on one gateway and is now on another,
    which never saw the message sent; the receipt still names the author's id (read
    back from the stored message's ``client_id``), and so does the marker (XEP-0333)."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    alice_rest = server.client(alice_token)
    async with Listener(server.core) as first, Listener(server.core) as second:
        a = await connect(Raw(jid(alice), "correct horse"), first.port)
        b = None
        try:
            a.send_raw(
                f'<message to="{jid(bob)}" type="chat" id="far-1"><body>ack me later</body>'
                '<request xmlns="urn:xmpp:receipts"/></message>'
            )
            await wait_until(lambda: _stored(alice_rest, 1), what="the message stored")
            await close(a)
            a = await connect(Raw(jid(alice), "correct horse"), second.port)
            # bob comes online on the second node: he gets it from the store and his
            # client answers the request.
            b = await connect(Raw(jid(bob), "correct horse"), second.port)
            got = await next_with(b, "{jabber:client}body")
            assert got["id"] == "far-1"
            receipt = await asyncio.wait_for(a.receipts.get(), 10)
            name, marked = await asyncio.wait_for(a.markers.get(), 10)
            print("receipt:", receipt, "marker:", name, marked)
            assert receipt == "far-1"
            assert (name, marked) == ("received", "far-1")
        finally:
            await close(a, *([b] if b is not None else []))


XMPP_JS = Path(__file__).resolve().parents[1] / "js" / "xmpp"


async def _run_xmpp_js(service: str, users: list[list[str]]) -> dict[str, Any]:
    """Run ``tests/js/xmpp/messages.mjs``; its RESULT, or skip when it is not installed."""
    node = shutil.which("node")
    if node is None or not (XMPP_JS / "node_modules" / "@xmpp" / "client").is_dir():
        problem = f"node or @xmpp/client missing: run `npm ci` in {XMPP_JS} (make test-deps)"
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    env = {**os.environ, "USERS": json.dumps(users), "NODE_TLS_REJECT_UNAUTHORIZED": "0"}
    process = await asyncio.create_subprocess_exec(
        node,
        str(XMPP_JS / "messages.mjs"),
        service,
        "localhost",
        cwd=XMPP_JS,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    lines = [line for line in out.decode().splitlines() if line.startswith("RESULT ")]
    assert lines, f"no result from node:\n{out.decode()[-2000:]}\n{err.decode()[-2000:]}"
    result = json.loads(lines[0][len("RESULT ") :])
    assert result["ok"], f"@xmpp/client failed: {result.get('error')}\n{err.decode()[-2000:]}"
    return dict(result["result"])


@pytest.mark.parametrize("transport", ["tcp", "websocket"])
async def test_xmpp_client_js_message_and_receipt(server, transport: str) -> None:
    """@xmpp/client 0.14 over TCP (RFC 6120 §5 STARTTLS) and WebSocket (RFC 7395): the
    recipient gets the sender's id, origin-id (XEP-0359), receipt request (XEP-0184)
    and unknown element (RFC 6120 §8.4); the recipient's receipt reaches the sender."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    users = [[f"{u.id}-{u.app_id}", "correct horse"] for u in (alice, bob)]
    async with Listener(server.core) as xmpp:
        if transport == "tcp":
            service = f"xmpp://127.0.0.1:{xmpp.port}"
        else:
            service = server.base_url.replace("http", "ws", 1) + "/xmpp-websocket"
        result = await _run_xmpp_js(service, users)
    print(f"{transport}: {result}")
    assert result == {
        "id": "js-1",
        "type": "chat",
        "origin_id": "js-1",
        "request": True,
        "note_level": "2",
        "note_inner": "kept",
        "receipt_for": "js-1",
    }


async def test_marker_for_an_unknown_id_is_routed(server) -> None:
    """XEP-0333 §4 / XEP-0184 §5: a marker or receipt naming a message the server never
    stored changes nothing in the core but still reaches the addressee's resources."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Raw(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Raw(jid(bob), "correct horse"), xmpp.port)
        try:
            b.send_raw(
                f'<message to="{jid(alice)}" type="chat" id="u-1">'
                '<displayed xmlns="urn:xmpp:chat-markers:0" id="never-stored"/></message>'
            )
            marker = await next_with(a, "{urn:xmpp:chat-markers:0}displayed")
            print("marker:", marker)
            assert marker["from"].bare == jid(bob)
            assert marker["id"] == "u-1"
            assert marker.xml.find("{urn:xmpp:chat-markers:0}displayed").get("id") == (
                "never-stored"
            )
        finally:
            await close(a, b)
