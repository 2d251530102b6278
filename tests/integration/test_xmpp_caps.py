"""XEP-0115 entity capabilities with slixmpp: the server's own ``<c/>`` stream feature
(§6.3), clients' caps resolved once, verified and cached (§5.4, §6.2), and PEP
notifications filtered by ``+notify`` (XEP-0163 §4.3, XEP-0060 §9.2)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

from tests.helpers import wait_until
from tests.integration.test_xmpp_pep import contacts, jid
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.gateways.xmpp import services
from tidings.gateways.xmpp.xep_0115.stanza import NODE

NICK = "http://jabber.org/protocol/nick"
TUNE = "http://jabber.org/protocol/tune"
DISCO = "http://jabber.org/protocol/disco#info"
EVENT = "http://jabber.org/protocol/pubsub#event"


class CapsClient(Client):
    """A PEP client whose caps ask ``+notify`` for nick and tune (slixmpp's XEP-0172
    and XEP-0118 plugins) minus ``drop``; records the notifications it gets and the
    server's disco#info queries of its caps (``hold``: those are not answered)."""

    def __init__(
        self, jid_text: str, *, drop: tuple[str, ...] = (), roster: bool = True, hold: bool = False
    ) -> None:
        super().__init__(jid_text, "correct horse")
        for plugin in ("xep_0060", "xep_0163", "xep_0172", "xep_0118", "xep_0203"):
            self.register_plugin(plugin)
        self.drop, self.fetch_roster, self.hold = drop, roster, hold
        self.events: asyncio.Queue[tuple[str, str, bool]] = asyncio.Queue()
        self.caps_queries: list[Any] = []
        self.add_event_handler("pubsub_publish", self._event)
        self.add_filter("in", self._in)

    def _in(self, stanza: Any) -> Any:
        if (
            stanza.name == "iq"
            and stanza["type"] == "get"
            and str(stanza["from"]) == "localhost"
            and stanza.xml.find(f"{{{DISCO}}}query") is not None
        ):
            self.caps_queries.append(stanza)
            if self.hold:
                return None  # the test answers in its place
        return stanza

    def _event(self, msg: Any) -> None:
        node = msg.xml.find(f"{{{EVENT}}}event/{{{EVENT}}}items").get("node")
        delayed = msg.xml.find("{urn:xmpp:delay}delay") is not None
        self.events.put_nowait((node, str(msg["from"].bare), delayed))

    async def _start(self, _event: Any) -> None:
        if self.fetch_roster:
            await self.get_roster()
        for node in self.drop:
            self.plugin["xep_0030"].del_feature(feature=f"{node}+notify")
        await self.plugin["xep_0115"].update_caps(broadcast=False)
        self.send_presence()
        self.started.set()

    async def ver(self) -> str:
        return str(await self.plugin["xep_0115"].get_verstring(None))

    async def info(self) -> ET.Element:
        """Our own disco#info ``<query/>``, as slixmpp answers it (a copy)."""
        local = await self.plugin["xep_0030"].get_info(jid=None, node=None, local=True)
        return ET.fromstring(ET.tostring(local.xml))


def session_of(xmpp: Listener, client: Client) -> Any:
    jid_ = client.boundjid
    user_id, app_id = (int(p) for p in jid_.user.split("-"))
    for session in xmpp.server.gateway.registry.of_user(app_id, user_id):
        if session.jid.resource == jid_.resource:
            return session
    raise AssertionError(f"no session for {jid_}")


async def resolved(xmpp: Listener, client: Client) -> frozenset[str]:
    session = session_of(xmpp, client)
    return await wait_until(lambda: session.features, 20, what="caps resolved")


async def heard(client: CapsClient, node: str) -> tuple[str, str, bool]:
    while True:
        event = await asyncio.wait_for(client.events.get(), 10)
        if event[0] == node and not event[2]:
            return event


async def test_server_caps_are_the_hash_of_its_disco_info(server) -> None:
    """§6.3: ``<c/>`` is in the stream features after SASL; its ``ver`` is the §5.1
    hash of exactly what the server's disco#info returns, with or without the
    ``node#ver`` node (§6.2): slixmpp verifies it itself, and the test recomputes it."""
    _, alice, _ = await server.new_user()
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        try:
            assert "caps" in a.features  # slixmpp saw the stream feature

            async def verified() -> str:
                return str(await a.plugin["xep_0115"].get_verstring("localhost") or "")

            ver = await wait_until(verified, 20, what="slixmpp verified the server's caps")
            plain = await a.plugin["xep_0030"].get_info("localhost", timeout=10)
            at_node = await a.plugin["xep_0030"].get_info(
                "localhost", node=f"{NODE}#{ver}", timeout=10
            )
            generate = a.plugin["xep_0115"].generate_verstring
            assert generate(plain["disco_info"], "sha-1") == ver
            assert generate(at_node["disco_info"], "sha-1") == ver
            assert services.server_caps(server.core.settings).get("ver") == ver
            features = set(plain["disco_info"]["features"])
            assert {"urn:xmpp:http:upload:0", "http://jabber.org/protocol/chatstates"} <= features
            print(f"\nserver caps ver={ver} over {len(features)} features")
        finally:
            await close(a)


async def test_plus_notify_decides_who_hears_which_node(server) -> None:
    """XEP-0163 §4.3 / XEP-0060 §9.2: Bob's caps ask for nick but not tune, and he never
    fetched his roster: he hears Alice's nick only. Carol's ask for tune but not nick
    (and she fetched her roster, which alone used to be enough): she hears the tune
    only. §6.2: Bob's caps are asked of him once; his second resource, announcing the
    same ``ver``, is not asked (the cache) and gets the last nick with a delay
    (§4.3.2). A resource without caps that never fetched its roster (as the
    ConnectyCube SDK) hears nothing."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    await contacts(server, alice, bob)
    await contacts(server, alice, carol)
    async with Listener(server.core) as xmpp:
        a = await connect(CapsClient(jid(alice)), xmpp.port)
        b = await connect(CapsClient(jid(bob), drop=(TUNE,), roster=False), xmpp.port)
        c = await connect(CapsClient(jid(carol), drop=(NICK,)), xmpp.port)
        sdk_like = CapsClient(jid(bob), roster=False)
        sdk_like.plugin["xep_0115"].broadcast = False
        await connect(sdk_like, xmpp.port)
        b2 = None
        try:
            bob_features = await resolved(xmpp, b)
            assert f"{NICK}+notify" in bob_features and f"{TUNE}+notify" not in bob_features
            assert f"{TUNE}+notify" in await resolved(xmpp, c)
            await resolved(xmpp, a)
            [query] = b.caps_queries
            assert (
                query["disco_info"]["node"] == f"{b.plugin['xep_0115'].caps_node}#{await b.ver()}"
            )
            assert session_of(xmpp, sdk_like).caps is None

            await a.plugin["xep_0172"].publish_nick("Alice A.", timeout=10)
            assert (await heard(b, NICK))[1] == jid(alice)
            await a.plugin["xep_0118"].publish_tune(artist="Nina", title="Sinnerman", timeout=10)
            assert (await heard(c, TUNE))[1] == jid(alice)

            b2 = await connect(CapsClient(jid(bob), drop=(TUNE,), roster=False), xmpp.port)
            assert await resolved(xmpp, b2) == bob_features
            replayed = await asyncio.wait_for(b2.events.get(), 10)
            assert replayed == (NICK, jid(alice), True)
            assert b2.caps_queries == []  # the cache answered

            for client in (b, c, b2, sdk_like):
                await client.plugin["xep_0199"].send_ping("localhost", timeout=10)
            assert [e for e in b.events._queue if e[0] == TUNE] == []  # noqa: SLF001
            assert [e for e in c.events._queue if e[0] == NICK] == []  # noqa: SLF001
            assert [e for e in b2.events._queue if e[0] == TUNE] == []  # noqa: SLF001
            assert sdk_like.events.empty()
        finally:
            await close(a, b, c, sdk_like, *([b2] if b2 else []))


async def test_wrong_hash_is_not_cached_and_others_cannot_answer(server) -> None:
    """§5.4: the server's query about Mallory's caps is answered first by Dave (same
    app) and Eve (another app) with her true features under its id: both are ignored
    (only the asked resource answers). Mallory then answers with a feature more than
    her ``ver`` says: not cached, and her session counts as one without caps (the
    roster rule: she hears every node). Her next resource announcing the same ``ver``
    is asked again, answers truly, and the ``ver`` is cached."""
    app, alice, _ = await server.new_user()
    _, mallory, _ = await server.new_user(app)
    _, dave, _ = await server.new_user(app)
    _, eve, _ = await server.new_user()
    await contacts(server, alice, mallory)
    async with Listener(server.core) as xmpp:
        a = await connect(CapsClient(jid(alice)), xmpp.port)
        m = await connect(CapsClient(jid(mallory), drop=(NICK,), hold=True), xmpp.port)
        d = await connect(CapsClient(jid(dave)), xmpp.port)
        e = await connect(CapsClient(jid(eve)), xmpp.port)
        m2 = None
        try:
            await wait_until(lambda: m.caps_queries, 20, what="the server's caps query")
            query_id = m.caps_queries[0]["id"]
            ver = await m.ver()
            key = ("sha-1", ver)
            true_info = await m.info()
            for other in (d, e):
                forged = other.make_iq_result(id=query_id, ito="localhost")
                forged.append(ET.fromstring(ET.tostring(true_info)))
                forged.send()
                await other.plugin["xep_0199"].send_ping("localhost", timeout=10)
            session = session_of(xmpp, m)
            assert session.caps is not None and session.features is None  # still asked
            assert xmpp.server.gateway.caps.cache.get(key) is None

            wrong = ET.fromstring(ET.tostring(true_info))
            ET.SubElement(wrong, f"{{{DISCO}}}feature", var="urn:example:extra")
            answer = m.make_iq_result(id=query_id, ito="localhost")
            answer.append(wrong)
            answer.send()
            await m.plugin["xep_0199"].send_ping("localhost", timeout=10)
            assert xmpp.server.gateway.caps.cache.get(key) is None
            assert session.caps is None  # no caps: the roster rule
            await a.plugin["xep_0172"].publish_nick("Alice A.", timeout=10)
            assert (await heard(m, NICK))[1] == jid(alice)

            m2 = await connect(CapsClient(jid(mallory), drop=(NICK,)), xmpp.port)
            assert f"{NICK}+notify" not in await resolved(xmpp, m2)
            assert len(m2.caps_queries) == 1  # asked again: the wrong answer was not kept
            assert xmpp.server.gateway.caps.cache.get(key) is not None
        finally:
            await close(a, m, d, e, *([m2] if m2 else []))
