"""Personal eventing (XEP-0163, the XEP-0060 subset it uses) with slixmpp's own PEP
plugins: nick (XEP-0172), avatar (XEP-0084), an OMEMO device list, private PEP
storage (XEP-0223); who may read and who is told; and hostile publishes."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0004.stanza import Form
from slixmpp.xmlstream import ET as SET
from slixmpp.xmlstream import ElementBase

from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.domain.models import Actor

NICK = "http://jabber.org/protocol/nick"
AVATAR_DATA = "urn:xmpp:avatar:data"
AVATAR_META = "urn:xmpp:avatar:metadata"
DEVICELIST = "eu.siacs.conversations.axolotl.devicelist"
SETTINGS = "urn:example:settings"
PUBSUB = "http://jabber.org/protocol/pubsub"
EVENT = "http://jabber.org/protocol/pubsub#event"
ERRORS = "http://jabber.org/protocol/pubsub#errors"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
PEP_PLUGINS = ("xep_0060", "xep_0163", "xep_0084", "xep_0172", "xep_0203", "xep_0223")


def jid(user: Any) -> str:
    return f"{user.id}-{user.app_id}@localhost"


class PepClient(Client):
    """A client with slixmpp's PEP plugins that records every pubsub notification as
    (kind, from bare JID, node, item id, item XML)."""

    #: Nodes asked ``+notify`` for beyond those of slixmpp's plugins (XEP-0163 §4.3).
    interests: tuple[str, ...] = (DEVICELIST, SETTINGS)

    def __init__(self, jid_text: str, password: str = "correct horse") -> None:
        super().__init__(jid_text, password)
        for plugin in PEP_PLUGINS:
            self.register_plugin(plugin)
        self.events: asyncio.Queue[tuple[str, str, str, str, str]] = asyncio.Queue()
        self.replayed: asyncio.Queue[tuple[str, str, str, str, str]] = asyncio.Queue()
        for kind in ("publish", "retract"):
            self.add_event_handler(f"pubsub_{kind}", lambda m, k=kind: self._event(k, m))
        self.add_event_handler(
            "pubsub_delete",
            lambda m: self.events.put_nowait(
                ("delete", str(m["from"].bare), m["pubsub_event"]["delete"]["node"], "", "")
            ),
        )

    async def _start(self, _event: Any) -> None:
        await self.get_roster()  # as PEP clients do: an interested resource (RFC 6121 §2.1.6)
        # XEP-0163 §4.3: the plugins ask +notify for their nodes; the device list and
        # the private settings node too, in the caps of the initial presence (XEP-0115).
        for node in self.interests:
            self.plugin["xep_0030"].add_feature(f"{node}+notify")
        await self.plugin["xep_0115"].update_caps(broadcast=False)
        self.send_presence()
        self.started.set()

    def _event(self, kind: str, msg: Any) -> None:
        # The XML, not the stanza objects: slixmpp is iterating those (one shared index).
        items = msg.xml.find(f"{{{EVENT}}}event/{{{EVENT}}}items")
        # A last published item replayed on the initial presence (XEP-0163 §4.3.2) is
        # stamped with a delay: kept apart, so a test waits for the live ones.
        delayed = msg.xml.find("{urn:xmpp:delay}delay") is not None
        for item in items if items is not None else ():
            payload = ET.tostring(item, encoding="unicode")
            entry = (kind, str(msg["from"].bare), items.get("node", ""), item.get("id", ""))
            (self.replayed if delayed else self.events).put_nowait((*entry, payload))


async def next_event(client: PepClient, node: str, kind: str = "publish") -> tuple[str, ...]:
    while True:
        event = await asyncio.wait_for(client.events.get(), 10)
        if event[2] == node and event[0] == kind:
            return event


def conditions(error: IqError) -> tuple[str, str | None]:
    """(RFC 6120 condition, pubsub#errors condition) of an error reply."""
    found = error.iq.xml.find("{jabber:client}error")
    assert found is not None
    general = next(c.tag.split("}")[1] for c in found if c.tag.startswith(f"{{{STANZAS}}}"))
    specific = next((c.tag.split("}")[1] for c in found if c.tag.startswith(f"{{{ERRORS}}}")), None)
    return general, specific


async def contacts(server: Any, a: Any, b: Any) -> None:
    """A mutual (``both``) presence subscription between two users."""
    await server.core.contacts.request(Actor(a.app_id, a.id), b.id)
    await server.core.contacts.confirm(Actor(b.app_id, b.id), a.id)


def devicelist(*ids: int) -> ElementBase:
    element = SET.Element("{eu.siacs.conversations.axolotl}list")
    for device in ids:
        SET.SubElement(element, "{eu.siacs.conversations.axolotl}device", id=str(device))
    return ElementBase(element)


async def test_publish_notify_retrieve_and_who_may_read(server) -> None:
    """XEP-0163 §4: Alice publishes her nick, avatar (data and metadata) and OMEMO
    device list. Bob (a ``both`` contact) hears each live as a ``headline`` from
    Alice's bare JID (§4.3.1) and retrieves them (XEP-0060 §6.5); Alice's own resource
    hears them too. Carol (same app, no subscription) hears nothing and is refused by
    the ``presence`` access model; Dave (another app) finds no such account. Bob's next
    login gets the last published items with their delay (§4.3.2). A resource of Bob's
    that never asked for its roster (as the ConnectyCube SDK) is sent no
    ``headline``: it is not an interested resource."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    _, dave, _ = await server.new_user()
    await contacts(server, alice, bob)
    async with Listener(server.core) as xmpp:
        a = await connect(PepClient(jid(alice)), xmpp.port)
        b = await connect(PepClient(jid(bob)), xmpp.port)
        c = await connect(PepClient(jid(carol)), xmpp.port)
        d = await connect(PepClient(jid(dave)), xmpp.port)
        sdk_like = Client(jid(bob), "correct horse")
        sdk_like.plugin["xep_0115"].broadcast = False  # the SDK sends no caps
        await connect(sdk_like, xmpp.port)
        headlines: list[Any] = []

        def keep_events(stanza: Any) -> Any:
            if stanza.xml.find(f"{{{EVENT}}}event") is not None:
                headlines.append(stanza)
            return stanza

        sdk_like.add_filter("in", keep_events)
        b2 = None
        try:
            published = await a.plugin["xep_0172"].publish_nick("Alice A.", timeout=10)
            assert published["pubsub"]["publish"]["item"]["id"] == "current"
            kind, sender, node, item_id, payload = await next_event(b, NICK)
            assert (sender, item_id) == (jid(alice), "current") and "Alice A." in payload
            assert "Alice A." in (await next_event(a, NICK))[4]  # the owner's own resource

            picture = b"\x89PNG not really" * 20
            await a.plugin["xep_0084"].publish_avatar(picture, timeout=10)
            avatar_id = a.plugin["xep_0084"].generate_id(picture)
            await a.plugin["xep_0084"].publish_avatar_metadata(
                [{"id": avatar_id, "type": "image/png", "bytes": len(picture)}], timeout=10
            )
            meta = await next_event(b, AVATAR_META)
            assert meta[3] == avatar_id
            got = await b.plugin["xep_0084"].retrieve_avatar(jid(alice), avatar_id, timeout=10)
            data = got["pubsub"]["items"]["item"]["avatar_data"]["value"]
            assert data == picture

            await a.plugin["xep_0163"].publish(devicelist(1111, 2222), node=DEVICELIST, timeout=10)
            assert 'id="2222"' in (await next_event(b, DEVICELIST))[4]

            items = await b.plugin["xep_0060"].get_items(jid(alice), NICK, timeout=10)
            assert items["pubsub"]["items"]["item"].xml[0].text == "Alice A."

            with pytest.raises(IqError) as refused:
                await c.plugin["xep_0060"].get_items(jid(alice), NICK, timeout=10)
            assert conditions(refused.value) == ("not-authorized", "presence-subscription-required")
            with pytest.raises(IqError) as foreign:
                await d.plugin["xep_0060"].get_items(jid(alice), NICK, timeout=10)
            assert conditions(foreign.value)[0] in ("service-unavailable", "item-not-found")
            with pytest.raises(IqError) as missing:
                await b.plugin["xep_0060"].get_items(jid(alice), "urn:example:none", timeout=10)
            assert conditions(missing.value)[0] == "item-not-found"

            # Bob logs in again: the last item of each of Alice's nodes, delayed.
            b2 = PepClient(jid(bob))
            b2_nick = asyncio.get_running_loop().create_future()

            def first_nick(msg: Any) -> None:
                if msg["pubsub_event"]["items"]["node"] == NICK and not b2_nick.done():
                    b2_nick.set_result(msg)

            b2.add_event_handler("pubsub_publish", first_nick)
            await connect(b2, xmpp.port)
            replayed = await asyncio.wait_for(b2_nick, 10)
            assert replayed["delay"]["stamp"] is not None
            assert str(replayed["from"]) == jid(alice)

            # Neither Carol nor Dave heard anything of Alice's nodes.
            await c.plugin["xep_0199"].send_ping("localhost", timeout=10)
            await d.plugin["xep_0199"].send_ping("localhost", timeout=10)
            queues = (c.events, d.events, c.replayed, d.replayed)
            heard = [e for q in queues for e in q._queue]  # noqa: SLF001
            assert not [e for e in heard if e[1] == jid(alice)]
            await sdk_like.plugin["xep_0199"].send_ping("localhost", timeout=10)
            assert headlines == []
        finally:
            await close(a, b, c, d, sdk_like, *([b2] if b2 else []))


async def test_private_pep_storage_and_publish_options(server) -> None:
    """XEP-0223 §3: data stored with ``pubsub#access_model=whitelist`` and
    ``persist_items`` is the owner's alone: a contact gets ``not-allowed`` with
    ``closed-node`` and no notification. Publish-options that disagree with an existing
    node's configuration get ``conflict`` with ``precondition-not-met`` (XEP-0060
    §7.1.5) and leave the item as it was; the owner reads the configuration (§8.2)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    await contacts(server, alice, bob)
    node = SETTINGS
    async with Listener(server.core) as xmpp:
        a = await connect(PepClient(jid(alice)), xmpp.port)
        b = await connect(PepClient(jid(bob)), xmpp.port)
        try:
            secret = ElementBase(SET.Element(f"{{{node}}}settings", theme="dark"))
            await a.plugin["xep_0223"].store(secret, node=node, id="current", timeout=10)
            assert (await next_event(a, node))[3] == "current"  # the owner hears it
            with pytest.raises(IqError) as closed:
                await b.plugin["xep_0060"].get_items(jid(alice), node, timeout=10)
            assert conditions(closed.value) == ("not-allowed", "closed-node")

            form = Form()
            form["type"] = "submit"
            form.add_field(var="FORM_TYPE", ftype="hidden", value=f"{PUBSUB}#publish-options")
            form.add_field(var="pubsub#access_model", value="open")
            leak = ElementBase(SET.Element(f"{{{node}}}settings", theme="light"))
            with pytest.raises(IqError) as conflict:
                await a.plugin["xep_0163"].publish(leak, node=node, options=form, timeout=10)
            assert conditions(conflict.value) == ("conflict", "precondition-not-met")

            stored = await a.plugin["xep_0223"].retrieve(node, timeout=10)
            item = stored["pubsub"]["items"]["item"]
            assert item.xml[0].get("theme") == "dark"
            config = await a.plugin["xep_0060"].get_node_config(None, node, timeout=10)
            values = config["pubsub_owner"]["configure"]["form"].get_values()
            assert values["pubsub#access_model"] == "whitelist"

            await b.plugin["xep_0199"].send_ping("localhost", timeout=10)
            assert not [e for e in b.events._queue if e[2] == node]  # noqa: SLF001
        finally:
            await close(a, b)


async def raw(client: Client, payload: str, *, to: str | None = None) -> Any:
    """Send ``<iq type='set'>payload</iq>``; the reply (result or error)."""
    iq = client.make_iq_set(ito=to)
    iq.append(ET.fromstring(payload))
    try:
        return await iq.send(timeout=10)
    except IqError as exc:
        return exc


async def test_hostile_publishes_get_precise_errors_and_the_stream_stays_open(server) -> None:
    """XEP-0060 §7.1.3 and §7.2.3: an oversize payload (``payload-too-big``), no node
    (``nodeid-required``), a node name past 255 characters, no item
    (``item-required``), two payloads (``invalid-payload``), bad publish-options
    (``invalid-options``), a publish to another user's node (``forbidden``), a retract
    or delete of what is not there (``item-not-found``), an unsupported action
    (``feature-not-implemented`` + ``unsupported``), and more nodes than allowed
    (``not-allowed`` + ``max-nodes-exceeded``). Nothing is stored by a refused
    publish, and the stream stays open."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    limit = server.core.settings.pep_max_nodes
    big = "x" * (server.core.settings.pep_max_payload_bytes + 10)
    cases = {
        "oversize": (
            f'<pubsub xmlns="{PUBSUB}"><publish node="urn:example:big"><item id="1">'
            f'<blob xmlns="urn:example:big">{big}</blob></item></publish></pubsub>',
            None,
            ("not-acceptable", "payload-too-big"),
        ),
        "no-node": (
            f'<pubsub xmlns="{PUBSUB}"><publish><item><x xmlns="urn:e"/></item></publish></pubsub>',
            None,
            ("bad-request", "nodeid-required"),
        ),
        "long-node": (
            f'<pubsub xmlns="{PUBSUB}"><publish node="{"n" * 300}"><item>'
            '<x xmlns="urn:e"/></item></publish></pubsub>',
            None,
            ("bad-request", None),
        ),
        "no-item": (
            f'<pubsub xmlns="{PUBSUB}"><publish node="urn:e"/></pubsub>',
            None,
            ("bad-request", "item-required"),
        ),
        "two-payloads": (
            f'<pubsub xmlns="{PUBSUB}"><publish node="urn:e"><item>'
            '<x xmlns="urn:e"/><y xmlns="urn:e"/></item></publish></pubsub>',
            None,
            ("bad-request", "invalid-payload"),
        ),
        "bad-options": (
            f'<pubsub xmlns="{PUBSUB}"><publish node="urn:e"><item><x xmlns="urn:e"/></item>'
            '</publish><publish-options><x xmlns="jabber:x:data" type="submit">'
            f'<field var="FORM_TYPE"><value>{PUBSUB}#publish-options</value></field>'
            '<field var="pubsub#max_items"><value>-3</value></field></x></publish-options>'
            "</pubsub>",
            None,
            ("bad-request", "invalid-options"),
        ),
        "others-node": (
            f'<pubsub xmlns="{PUBSUB}"><publish node="{NICK}"><item>'
            f'<nick xmlns="{NICK}">Mallory</nick></item></publish></pubsub>',
            jid(bob),
            ("forbidden", None),
        ),
        "retract-nothing": (
            f'<pubsub xmlns="{PUBSUB}"><retract node="urn:example:none"><item id="1"/>'
            "</retract></pubsub>",
            None,
            ("item-not-found", None),
        ),
        "delete-nothing": (
            f'<pubsub xmlns="{PUBSUB}#owner"><delete node="urn:example:none"/></pubsub>',
            None,
            ("item-not-found", None),
        ),
        "subscribe": (
            f'<pubsub xmlns="{PUBSUB}"><subscribe node="{NICK}" jid="{jid(alice)}"/></pubsub>',
            jid(bob),
            ("feature-not-implemented", "unsupported"),
        ),
    }
    async with Listener(server.core) as xmpp:
        a = await connect(PepClient(jid(alice)), xmpp.port)
        try:
            got = {}
            for name, (payload, to, _want) in cases.items():
                reply = await raw(a, payload, to=to)
                got[name] = conditions(reply) if isinstance(reply, IqError) else ("result", None)
            for n in range(limit):
                done = await raw(
                    a,
                    f'<pubsub xmlns="{PUBSUB}"><publish node="urn:example:n{n}"><item>'
                    '<x xmlns="urn:e"/></item></publish></pubsub>',
                )
                assert not isinstance(done, IqError), n
            over = await raw(
                a,
                f'<pubsub xmlns="{PUBSUB}"><publish node="urn:example:one-more"><item>'
                '<x xmlns="urn:e"/></item></publish></pubsub>',
            )
            pong = await a.plugin["xep_0199"].send_ping("localhost", timeout=10)
        finally:
            await close(a)
    wrong = {n: got[n] for n, (_p, _t, want) in cases.items() if got[n] != want}
    assert not wrong, wrong
    assert isinstance(over, IqError)
    assert conditions(over) == ("not-allowed", "max-nodes-exceeded")
    assert pong["type"] == "result"
    bob_nodes = await server.core.pep.last_items(Actor(bob.app_id, bob.id))
    assert bob_nodes == []  # nothing was published on Bob's behalf
    with pytest.raises(Exception, match="no such node"):
        await server.core.pep.items(Actor(alice.app_id, alice.id), alice.id, "urn:example:big")
