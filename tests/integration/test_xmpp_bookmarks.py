"""Bookmarks with slixmpp: XEP-0402 PEP items and XEP-0048 bookmarks in XEP-0049
private storage are one set (XEP-0402 §3 ``#compat``); both are the owner's alone."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0004.stanza import Form
from slixmpp.plugins.xep_0048.stanza import Bookmarks

from tests.integration.test_xmpp_pep import PUBSUB, PepClient, conditions, contacts, jid, raw
from tests.integration.xmpp_helpers import Listener, close, connect

NODE = "urn:xmpp:bookmarks:1"
PRIVATE = "jabber:iq:private"


class BookmarkClient(PepClient):
    interests = (*PepClient.interests, NODE)  # XEP-0402 §3.3: clients ask +notify

    def __init__(self, jid_text: str) -> None:
        super().__init__(jid_text)
        for plugin in ("xep_0049", "xep_0048", "xep_0402"):
            self.register_plugin(plugin)
        self.plugin["xep_0048"].auto_join = False


def conference_item(name: str, nick: str, autojoin: bool) -> ET.Element:
    conference = ET.Element(f"{{{NODE}}}conference", name=name, autojoin=str(autojoin).lower())
    ET.SubElement(conference, f"{{{NODE}}}nick").text = nick
    return conference


def publish_options() -> Form:
    """The publish-options XEP-0402 §3.2 asks a client to send."""
    form = Form()
    form["type"] = "submit"
    form.add_field(var="FORM_TYPE", ftype="hidden", value=f"{PUBSUB}#publish-options")
    form.add_field(var="pubsub#persist_items", value="true")
    form.add_field(var="pubsub#max_items", value="max")
    form.add_field(var="pubsub#send_last_published_item", value="never")
    form.add_field(var="pubsub#access_model", value="whitelist")
    return form


async def legacy_rooms(client: BookmarkClient) -> dict[str, dict[str, Any]]:
    """XEP-0048 bookmarks read through XEP-0049, by room."""
    got = await client.plugin["xep_0048"].get_bookmarks(method="xep_0049", timeout=10)
    return {
        str(c["jid"]): {
            "name": c["name"],
            "nick": c["nick"],
            "autojoin": c["autojoin"],
            "password": c["password"],
        }
        for c in got["private"]["bookmarks"]["conferences"]
    }


async def native_rooms(client: BookmarkClient) -> dict[str, ET.Element]:
    """XEP-0402 items, by item id (the room)."""
    got = await client.plugin["xep_0060"].get_items(None, NODE, timeout=10)
    return {item["id"]: item.xml[0] for item in got["pubsub"]["items"]}


async def test_legacy_and_native_bookmarks_are_one_set(server) -> None:
    """XEP-0402 §3: rooms set as XEP-0048 ``<storage/>`` in private storage become one
    XEP-0402 item each (the other resource is notified, XEP-0163 §4.3); a room published
    as a XEP-0402 item (with the §3.2 publish-options) shows in the XEP-0048 view; a
    retracted item leaves it; a smaller ``<storage/>`` retracts what it no longer
    lists."""
    _, alice, _ = await server.new_user()
    async with Listener(server.core) as xmpp:
        a1 = await connect(BookmarkClient(jid(alice)), xmpp.port)
        a2 = await connect(BookmarkClient(jid(alice)), xmpp.port)
        try:
            storage = Bookmarks()
            storage.add_conference("one@muc.localhost", "alice", name="Room One", autojoin=True)
            storage.add_conference("two@muc.localhost", "al", name="Two", password="pw")
            await a1.plugin["xep_0048"].set_bookmarks(storage, method="xep_0049", timeout=10)
            heard = {(await _next_publish(a2))[3] for _ in range(2)}
            assert heard == {"one@muc.localhost", "two@muc.localhost"}

            native = await native_rooms(a2)
            assert set(native) == {"one@muc.localhost", "two@muc.localhost"}
            one = native["one@muc.localhost"]
            assert (one.get("name"), one.get("autojoin")) == ("Room One", "true")
            assert one.findtext(f"{{{NODE}}}nick") == "alice"
            assert native["two@muc.localhost"].findtext(f"{{{NODE}}}password") == "pw"

            await a2.plugin["xep_0060"].publish(
                None,
                NODE,
                id="three@muc.localhost",
                payload=conference_item("Three", "ally", True),
                options=publish_options(),
                timeout=10,
            )
            legacy = await legacy_rooms(a1)
            assert set(legacy) == {"one@muc.localhost", "two@muc.localhost", "three@muc.localhost"}
            assert legacy["three@muc.localhost"]["nick"] == "ally"
            assert legacy["three@muc.localhost"]["autojoin"] is True

            await a2.plugin["xep_0060"].retract(None, NODE, "one@muc.localhost", notify=True)
            assert set(await legacy_rooms(a1)) == {"two@muc.localhost", "three@muc.localhost"}

            smaller = Bookmarks()
            smaller.add_conference("three@muc.localhost", "ally", name="Three", autojoin=True)
            await a1.plugin["xep_0048"].set_bookmarks(smaller, method="xep_0049", timeout=10)
            retracted = await _next_event(a2, "retract", "two@muc.localhost")
            assert retracted[1] == jid(alice)
            assert set(await native_rooms(a2)) == {"three@muc.localhost"}
        finally:
            await close(a1, a2)


async def _next_publish(client: PepClient) -> tuple[str, ...]:
    while True:
        event = await asyncio.wait_for(client.events.get(), 10)
        if event[0] == "publish" and event[2] == NODE:
            return event


async def _next_event(client: PepClient, kind: str, item_id: str) -> tuple[str, ...]:
    while True:
        event = await asyncio.wait_for(client.events.get(), 10)
        if event[0] == kind and event[2] == NODE and event[3] == item_id:
            return event


async def test_bookmarks_and_private_data_are_the_owners_alone(server) -> None:
    """XEP-0402 §3.2 (``whitelist``) and XEP-0049 §3: a contact reading Alice's
    bookmark node gets ``not-allowed`` + ``closed-node`` and hears nothing of it;
    Alice's private storage asked by him is ``forbidden``; a user of another app finds
    no such account. Private data under any other namespace is kept as-is (XEP-0223
    node of that name). Hostile input: a ``jabber:*`` namespace is ``not-acceptable``,
    two elements ``bad-request``, a conference with a broken JID is dropped while the
    good one is kept; the stream stays open."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, dave, _ = await server.new_user()
    await contacts(server, alice, bob)
    async with Listener(server.core) as xmpp:
        a = await connect(BookmarkClient(jid(alice)), xmpp.port)
        b = await connect(BookmarkClient(jid(bob)), xmpp.port)
        d = await connect(BookmarkClient(jid(dave)), xmpp.port)
        try:
            storage = Bookmarks()
            storage.add_conference("secret@muc.localhost", "alice", name="Secret")
            conference = storage.xml.find("{storage:bookmarks}conference")
            bad = ET.SubElement(storage.xml, "{storage:bookmarks}conference")
            bad.set("jid", "not a jid@@/x")
            assert conference is not None
            await a.plugin["xep_0048"].set_bookmarks(storage, method="xep_0049", timeout=10)
            assert set(await legacy_rooms(a)) == {"secret@muc.localhost"}

            with pytest.raises(IqError) as closed:
                await b.plugin["xep_0060"].get_items(jid(alice), NODE, timeout=10)
            assert conditions(closed.value) == ("not-allowed", "closed-node")
            peek = await raw(
                b,
                f'<query xmlns="{PRIVATE}"><storage xmlns="storage:bookmarks"/></query>',
                to=jid(alice),
            )
            assert isinstance(peek, IqError) and conditions(peek)[0] == "forbidden"
            foreign = await raw(
                d,
                f'<pubsub xmlns="{PUBSUB}"><items node="{NODE}"/></pubsub>',
                to=jid(alice),
            )
            assert isinstance(foreign, IqError)
            assert conditions(foreign)[0] in ("service-unavailable", "item-not-found")

            prefs = ET.Element("{urn:example:prefs}prefs", colour="teal")
            stored = await raw(a, f'<query xmlns="{PRIVATE}">{ET.tostring(prefs).decode()}</query>')
            assert not isinstance(stored, IqError)
            back = a.make_iq_get()
            back.append(
                ET.fromstring(
                    f'<query xmlns="{PRIVATE}"><prefs xmlns="urn:example:prefs"/></query>'
                )
            )
            answer = await back.send(timeout=10)
            kept = answer.xml.find(f"{{{PRIVATE}}}query/{{urn:example:prefs}}prefs")
            assert kept is not None and kept.get("colour") == "teal"
            with pytest.raises(IqError) as hidden:
                await b.plugin["xep_0060"].get_items(jid(alice), "urn:example:prefs", timeout=10)
            assert conditions(hidden.value) == ("not-allowed", "closed-node")

            roster_ns = await raw(
                a, f'<query xmlns="{PRIVATE}"><query xmlns="jabber:iq:roster"/></query>'
            )
            assert isinstance(roster_ns, IqError)
            assert conditions(roster_ns)[0] == "not-acceptable"
            two = await raw(
                a, f'<query xmlns="{PRIVATE}"><a xmlns="urn:a"/><b xmlns="urn:b"/></query>'
            )
            assert isinstance(two, IqError) and conditions(two)[0] == "bad-request"
            pong = await a.plugin["xep_0199"].send_ping("localhost", timeout=10)
            assert pong["type"] == "result"

            await b.plugin["xep_0199"].send_ping("localhost", timeout=10)
            seen = [*b.events._queue, *b.replayed._queue]  # noqa: SLF001
            assert not [e for e in seen if e[2] == NODE]
        finally:
            await close(a, b, d)
