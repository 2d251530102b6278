"""XMPP over WebSocket (RFC 7395) as the ConnectyCube SDK speaks it (connectycube-wire §9-§10).

The frames are the SDK's own (copied from the spec), so each test checks the exact
shape the SDK depends on: the subprotocol echo, ``<open/>`` framing, PLAIN with
``<userId>-<appId>``, bind, ``extraParams``, markers, the MUC self-presence quirk,
privacy lists and the blocked-message error.
"""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any
from xml.etree import ElementTree

import websockets

from tests.integration.test_xmpp_chat import jid

FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"


class SdkLikeClient:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.full_jid = ""

    async def recv(self) -> ElementTree.Element:
        frame = await asyncio.wait_for(self.ws.recv(), 10)
        return ElementTree.fromstring(frame)

    async def recv_until(self, predicate: Any) -> ElementTree.Element:
        while True:
            element = await self.recv()
            if predicate(element):
                return element

    async def send(self, xml: str) -> None:
        await self.ws.send(xml)


async def login(url: str, user: Any, secret: str) -> SdkLikeClient:
    ws = await websockets.connect(url, subprotocols=["xmpp"])
    assert ws.subprotocol == "xmpp"
    client = SdkLikeClient(ws)
    await client.send(f'<open version="1.0" xmlns="{FRAMING}" to="localhost"/>')
    opened = await client.recv()
    assert opened.tag == f"{{{FRAMING}}}open"
    features = await client.recv()
    assert features.tag == "{http://etherx.jabber.org/streams}features"
    mechanisms = [m.text for m in features.iter("{urn:ietf:params:xml:ns:xmpp-sasl}mechanism")]
    assert mechanisms == ["PLAIN"]
    payload = base64.b64encode(f"\0{user.id}-{user.app_id}\0{secret}".encode()).decode()
    await client.send(
        f'<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">{payload}</auth>'
    )
    success = await client.recv()
    if success.tag != "{urn:ietf:params:xml:ns:xmpp-sasl}success":
        await ws.close()
        raise PermissionError(ElementTree.tostring(success).decode())
    await client.send(f'<open version="1.0" xmlns="{FRAMING}" to="localhost"/>')
    await client.recv()  # <open/>
    features = await client.recv()
    assert features.find("{urn:ietf:params:xml:ns:xmpp-bind}bind") is not None
    await client.send(
        '<iq type="set" id="ndnn04vork" xmlns="jabber:client">'
        '<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>'
    )
    bound = await client.recv()
    assert bound.get("id") == "ndnn04vork" and bound.get("type") == "result"
    client.full_jid = bound.findtext(".//{urn:ietf:params:xml:ns:xmpp-bind}jid") or ""
    resource = client.full_jid.split("/", 1)[1]
    assert len(resource) >= 16
    await client.send('<enable xmlns="urn:xmpp:sm:3"/>')
    assert (await client.recv()).tag == "{urn:xmpp:sm:3}enabled"
    await client.send(
        f'<iq type="set" from="{client.full_jid}" id="a1:enableCarbons" xmlns="jabber:client">'
        '<enable xmlns="urn:xmpp:carbons:2"/></iq>'
    )
    assert (await client.recv()).get("type") == "result"
    await client.send('<presence xmlns="jabber:client"/>')
    return client


def ws_url(server: Any) -> str:
    return server.base_url.replace("http", "ws", 1) + "/xmpp-websocket"


def is_chat(element: ElementTree.Element) -> bool:
    return (
        element.tag == "{jabber:client}message" and element.find("{jabber:client}body") is not None
    )


async def test_sdk_chat_markers_and_stream_management(server) -> None:
    """§9.2-§9.6 connect; §10.3 chat with extraParams; §10.5 markers; §9.6 <r/> -> <a h/>."""
    app, alice, _ = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    a = await login(ws_url(server), alice, "correct horse")
    b = await login(ws_url(server), bob, bob_token)  # the session token as the password
    try:
        message_id = "6651a3f0c41a2b9e3d000000"
        await a.send(
            f'<message from="{a.full_jid}" to="{jid(bob)}" type="chat" id="{message_id}"'
            ' xmlns="jabber:client"><body>hello bob</body><extraParams xmlns="jabber:client">'
            "<save_to_history>1</save_to_history><custom_key>v</custom_key></extraParams></message>"
        )
        await a.send('<r xmlns="urn:xmpp:sm:3"/>')
        ack = await a.recv_until(lambda e: e.tag == "{urn:xmpp:sm:3}a")
        assert int(ack.get("h")) >= 3  # carbons iq, presence, message
        got = await b.recv_until(is_chat)
        assert got.get("id") == message_id
        assert got.get("from").startswith(jid(alice))
        assert alice_resource(a) not in got.get("from")
        extra = got.find("{jabber:client}extraParams")
        dialog_id = extra.findtext("{jabber:client}dialog_id")
        assert extra.findtext("{jabber:client}custom_key") == "v"
        assert re.fullmatch(r"\d+", extra.findtext("{jabber:client}date_sent") or "")
        await b.send(
            f'<message type="chat" from="{b.full_jid}" id="6651a3f2d0e11c6f4a000000"'
            f' to="{jid(alice)}" xmlns="jabber:client"><displayed xmlns="urn:xmpp:chat-markers:0"'
            f' id="{message_id}"/><extraParams xmlns="jabber:client"><dialog_id>{dialog_id}'
            "</dialog_id></extraParams></message>"
        )
        read = await a.recv_until(
            lambda e: e.find("{urn:xmpp:chat-markers:0}displayed") is not None
        )
        assert read.find("{urn:xmpp:chat-markers:0}displayed").get("id") == message_id
        assert read.get("type") == "chat"
        history = await server.client(bob_token).history(dialog_id)
        assert history.items[0].id == message_id
        assert history.items[0].params == {"custom_key": "v"}
        assert alice.id in history.items[0].read_ids
    finally:
        await a.ws.close()
        await b.ws.close()


def alice_resource(client: SdkLikeClient) -> str:
    return client.full_jid.split("/", 1)[1]


async def test_sdk_muc_join_quirk_and_group_message(server) -> None:
    """§10.11 self-presence with <xmlns><code>110</code></xmlns>; §10.4 fan-out to members."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog("group", [bob.id], name="g")
    room = f"{app.id}_{dialog.id}@muc.localhost"
    a = await login(ws_url(server), alice, "correct horse")
    b = await login(ws_url(server), bob, "correct horse")
    try:
        await a.send(
            f'<presence id="9b1f:join" from="{a.full_jid}" to="{room}/{alice.id}"'
            ' xmlns="jabber:client"><x xmlns="http://jabber.org/protocol/muc">'
            '<history maxstanzas="0"/></x></presence>'
        )
        joined = await a.recv_until(  # the room's, not the account's own presence
            lambda e: e.tag == "{jabber:client}presence" and e.get("from", "").startswith(room)
        )
        assert joined.get("id") == "9b1f:join"
        x = joined.find("{http://jabber.org/protocol/muc#user}x")
        assert (
            x.find(
                "{http://jabber.org/protocol/muc#user}xmlns/{http://jabber.org/protocol/muc#user}code"
            ).text
            == "110"
        )
        # Bob never joined: group delivery does not depend on it.
        await a.send(
            f'<message from="{a.full_jid}" to="{room}" type="groupchat"'
            ' id="6651a3f1aa03be77c1000000" xmlns="jabber:client"><body>hi group</body>'
            '<extraParams xmlns="jabber:client">'
            f"<save_to_history>1</save_to_history><dialog_id>{dialog.id}</dialog_id>"
            "</extraParams></message>"
        )
        got = await b.recv_until(is_chat)
        assert got.get("type") == "groupchat"
        assert got.get("from") == f"{room}/{alice.id}"
        await a.send(
            f'<presence type="unavailable" from="{a.full_jid}" to="{room}/{alice.id}"'
            ' xmlns="jabber:client"/>'
        )
        left = await a.recv_until(
            lambda e: e.tag == "{jabber:client}presence" and e.get("type") == "unavailable"
        )
        assert left.find(".//{http://jabber.org/protocol/muc#user}code").text == "110"
    finally:
        await a.ws.close()
        await b.ws.close()


async def test_sdk_privacy_block_bounces_with_503(server) -> None:
    """§10.12 privacy list in pairs, default list enforced; §10.10 the blocked error."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    a = await login(ws_url(server), alice, "correct horse")
    b = await login(ws_url(server), bob, "correct horse")
    try:
        await b.send(
            f'<iq type="set" from="{b.full_jid}" id="x:edit" xmlns="jabber:client">'
            '<query xmlns="jabber:iq:privacy"><list name="blocked">'
            f'<item type="jid" value="{jid(alice)}" action="deny" order="1"/>'
            f'<item type="jid" value="muc.localhost/{alice.id}" action="deny" order="2"/>'
            "</list></query></iq>"
        )
        assert (await b.recv_until(lambda e: e.get("id") == "x:edit")).get("type") == "result"
        await b.send(
            f'<iq type="set" from="{b.full_jid}" id="x:default" xmlns="jabber:client">'
            '<query xmlns="jabber:iq:privacy"><default name="blocked"/></query></iq>'
        )
        assert (await b.recv_until(lambda e: e.get("id") == "x:default")).get("type") == "result"
        await b.send(
            f'<iq type="get" from="{b.full_jid}" id="x:getlist" xmlns="jabber:client">'
            '<query xmlns="jabber:iq:privacy"><list name="blocked"/></query></iq>'
        )
        listed = await b.recv_until(lambda e: e.get("id") == "x:getlist")
        values = [i.get("value") for i in listed.iter("{jabber:iq:privacy}item")]
        assert values == [jid(alice), f"muc.localhost/{alice.id}"]
        await a.send(
            f'<message from="{a.full_jid}" to="{jid(bob)}" type="chat"'
            ' id="6651a3f0c41a2b9e3d000001" xmlns="jabber:client"><body>let me in</body></message>'
        )
        bounced = await a.recv_until(lambda e: e.get("type") == "error")
        assert bounced.get("id") == "6651a3f0c41a2b9e3d000001"
        error = bounced.find("{jabber:client}error")
        assert error.get("code") == "503"
        assert error.find("{urn:ietf:params:xml:ns:xmpp-stanzas}service-unavailable") is not None
    finally:
        await a.ws.close()
        await b.ws.close()


async def test_last_activity_and_ping(server) -> None:
    """XEP-0012 (§10.13: from = the target's JID) and XEP-0199 (§9.7)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    a = await login(ws_url(server), alice, "correct horse")
    try:
        await a.send(
            f'<iq type="get" from="{a.full_jid}" to="{jid(bob)}" id="u:lastActivity"'
            ' xmlns="jabber:client"><query xmlns="jabber:iq:last"/></iq>'
        )
        last = await a.recv_until(lambda e: e.get("id") == "u:lastActivity")
        assert last.get("from") == jid(bob)
        assert last.find("{jabber:iq:last}query").get("seconds").isdigit()
        await a.send(
            '<iq id="u:ping" type="get" to="localhost" xmlns="jabber:client">'
            '<ping xmlns="urn:xmpp:ping"/></iq>'
        )
        pong = await a.recv_until(lambda e: e.get("id") == "u:ping")
        assert pong.get("type") == "result"
    finally:
        await a.ws.close()


async def test_wrong_password_over_websocket(server) -> None:
    """§9.3 failure: <failure><not-authorized/></failure>."""
    _, alice, _ = await server.new_user()
    try:
        await login(ws_url(server), alice, "nope")
    except PermissionError as exc:
        assert "not-authorized" in str(exc)
    else:
        raise AssertionError("a wrong password was accepted")


async def test_sdk_system_message_headline(server) -> None:
    """§10.8: a headline without ``from`` reaches the user stamped with the sender's JID."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    a = await login(ws_url(server), alice, "correct horse")
    b = await login(ws_url(server), bob, "correct horse")
    try:
        await a.send(
            f'<message type="headline" id="6651a3f5aa03be77c1000000" to="{jid(bob)}"'
            ' xmlns="jabber:client"><body>dialog/UPDATE</body><extraParams xmlns="jabber:client">'
            "<moduleIdentifier>SystemNotifications</moduleIdentifier><photo_uid>abc</photo_uid>"
            "<nested><a>1</a></nested></extraParams></message>"
        )
        got = await b.recv_until(lambda e: e.get("type") == "headline")
        assert got.get("from") == jid(alice)
        assert got.findtext("{jabber:client}body") == "dialog/UPDATE"
        extra = got.find("{jabber:client}extraParams")
        assert extra.findtext("{jabber:client}moduleIdentifier") == "SystemNotifications"
        assert extra.findtext("{jabber:client}photo_uid") == "abc"
        assert extra.findtext("{jabber:client}nested/{jabber:client}a") == "1"
    finally:
        await a.ws.close()
        await b.ws.close()
