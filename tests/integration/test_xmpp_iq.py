"""iq routing and answers (RFC 6120 §8.2.3, §10.5; XEP-0030, XEP-0199) with slixmpp
and raw stanzas, on one node and across two nodes sharing the bus.

Two :class:`Listener` s on one core are two nodes: each has its own gateway, session
registry and iq router, and they meet only through the bus.
"""

from __future__ import annotations

import asyncio
import secrets
from types import SimpleNamespace
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from slixmpp.exceptions import IqError

from tests.integration.processes import ServerProcess, run_cli_json
from tests.integration.test_xmpp_chat import jid
from tests.integration.test_xmpp_websocket import login, ws_url
from tests.integration.xmpp_helpers import Client, Listener, close, connect

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
DISCO_INFO = "http://jabber.org/protocol/disco#info"


def condition(iq: Any) -> str:
    return str(iq["error"]["condition"])


async def routed_exchange(a: Client, b: Client) -> tuple[Any, Any]:
    """disco#info and a ping from ``a`` to ``b``'s full JID, answered by ``b`` itself."""
    info = await a.plugin["xep_0030"].get_info(jid=b.boundjid.full, timeout=10)
    pong = await a.plugin["xep_0199"].send_ping(b.boundjid.full, timeout=10)
    return info, pong


@pytest.mark.parametrize("nodes", [1, 2], ids=["one-node", "two-nodes"])
async def test_iq_to_a_full_jid_is_routed_to_that_resource(server, nodes: int) -> None:
    """RFC 6120 §10.5.4: an iq to another user's full JID is delivered to that resource
    (``from`` stamped, §8.1.2.1, ``id`` kept) and its answer routed back, on whichever
    node the resource is bound (the bus carries it between nodes)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as first, Listener(server.core) as second:
        a = await connect(Client(jid(alice), "correct horse"), first.port)
        b = await connect(Client(jid(bob), "correct horse"), (second if nodes == 2 else first).port)
        seen: list[Any] = []

        def keep(stanza: Any) -> Any:
            # (the server's own disco#info of b's XEP-0115 caps is not a routed iq)
            if stanza.name == "iq" and stanza["type"] == "get" and stanza["from"] != "localhost":
                seen.append(stanza)
            return stanza

        b.add_filter("in", keep)
        try:
            info, pong = await routed_exchange(a, b)
        finally:
            await close(a, b)
    identities = [(c, t) for c, t, _lang, _name in info["disco_info"]["identities"]]
    print(f"\n[{nodes} node(s)] identities from {info['from']}: {identities}; pings answered")
    assert str(info["from"]) == b.boundjid.full
    assert any(category == "client" for category, _ in identities)  # slixmpp answered
    assert ("server", "im") not in identities
    assert pong["type"] == "result" and str(pong["from"]) == b.boundjid.full
    assert seen and str(seen[0]["from"]) == a.boundjid.full  # stamped with the sender


@pytest.mark.parametrize("bob_online", [True, False], ids=["other-resource", "offline"])
async def test_iq_to_a_missing_full_jid_gets_service_unavailable(server, bob_online) -> None:
    """RFC 6120 §10.5.3.2 (via §10.5.4): no such resource -> ``service-unavailable``
    from the server, with the request's id; the stream stays open."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port) if bob_online else None
        try:
            iq = a.make_iq_get(queryxmlns=DISCO_INFO, ito=f"{jid(bob)}/nowhere")
            sent_id = iq["id"]
            with pytest.raises(IqError) as raised:
                await iq.send(timeout=15)
            pong = await a.plugin["xep_0199"].send_ping("localhost", timeout=10)
        finally:
            await close(a, *([b] if b else []))
    error = raised.value.iq
    print(f"\n[bob online: {bob_online}] {condition(error)} for id {error['id']}")
    assert condition(error) == "service-unavailable"
    assert error["id"] == sent_id
    assert str(error["from"]) == f"{jid(bob)}/nowhere"
    assert pong["type"] == "result"


async def test_bare_jid_is_answered_for_the_account(server) -> None:
    """RFC 6120 §10.5.4: the server answers for a user's bare JID: XEP-0030 §3.1
    disco#info is the account (``account/registered``), not the server; XEP-0199 ping
    and XEP-0054 vCard answered; anything else ``service-unavailable``; a user of
    another app does not exist here (§10.5.3.2)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, stranger, _ = await server.new_user()
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        try:
            info = await a.plugin["xep_0030"].get_info(jid=jid(bob), timeout=10)
            pong = await a.plugin["xep_0199"].send_ping(jid(bob), timeout=10)
            server_info = await a.plugin["xep_0030"].get_info(jid="localhost", timeout=10)
            unknown = a.make_iq_get(queryxmlns="urn:example:nope", ito=jid(bob))
            with pytest.raises(IqError) as unhandled:
                await unknown.send(timeout=10)
            vcard = a.make_iq_get(ito=jid(bob))
            vcard.xml.append(Element("{vcard-temp}vCard"))
            card = await vcard.send(timeout=10)
            with pytest.raises(IqError) as foreign:
                await a.plugin["xep_0030"].get_info(jid=jid(stranger), timeout=10)
        finally:
            await close(a)
    identities = [(c, t) for c, t, _lang, _name in info["disco_info"]["identities"]]
    print(f"\naccount identities {identities}; features {sorted(info['disco_info']['features'])}")
    assert sorted(identities) == [("account", "registered"), ("pubsub", "pep")]  # XEP-0163 §6
    assert "urn:xmpp:mam:2" in info["disco_info"]["features"]
    assert str(info["from"]) == jid(bob)
    assert pong["type"] == "result"
    server_ids = [(c, t) for c, t, _l, _n in server_info["disco_info"]["identities"]]
    # XEP-0363 §3: the server is also the upload service (slixmpp looks for store/file).
    assert sorted(server_ids) == [("server", "im"), ("store", "file")]
    assert condition(unhandled.value.iq) == "service-unavailable"
    assert card["type"] == "result" and str(card["from"]) == jid(bob)
    assert condition(foreign.value.iq) == "service-unavailable"


MAM = "urn:xmpp:mam:2"

#: (id, stanza body inside <iq>, attributes, the answers that are right).
HOSTILE: list[tuple[str, str, str, set[str]]] = [
    ("mam-metadata", f'<metadata xmlns="{MAM}"/>', 'type="get"', {"result"}),
    ("mam-prefs-get", f'<prefs xmlns="{MAM}"/>', 'type="get"', {"result"}),
    ("mam-prefs-set", f'<prefs xmlns="{MAM}" default="never"/>', 'type="set"', {"result"}),
    ("mam-fin", f'<fin xmlns="{MAM}"/>', 'type="set"', {"feature-not-implemented"}),
    (
        "mam-bad-start",
        f'<query xmlns="{MAM}"><x xmlns="jabber:x:data" type="submit">'
        '<field var="start"><value>yesterday</value></field></x></query>',
        'type="set"',
        {"bad-request"},
    ),
    (
        "mam-odd-field",
        f'<query xmlns="{MAM}"><x xmlns="jabber:x:data" type="submit">'
        '<field var="urn:example:flavour"><value>x</value></field></x></query>',
        'type="set"',
        {"feature-not-implemented"},
    ),
    (
        "mam-bad-max",
        f'<query xmlns="{MAM}"><set xmlns="http://jabber.org/protocol/rsm"><max>-1</max>'
        "</set></query>",
        'type="set"',
        {"bad-request"},
    ),
    (
        "mam-unknown-after",
        f'<query xmlns="{MAM}"><set xmlns="http://jabber.org/protocol/rsm">'
        "<after>nope</after></set></query>",
        'type="set"',
        {"item-not-found"},
    ),
    (
        "mam-room-nowhere",
        f'<query xmlns="{MAM}"/>',
        'type="set" to="1_x@muc.localhost"',
        {"item-not-found", "forbidden"},
    ),
    (
        "privacy-odd",
        '<active xmlns="jabber:iq:privacy"/>',
        'type="get"',
        {"feature-not-implemented"},
    ),
    (
        "privacy-junk",
        '<query xmlns="jabber:iq:privacy"><wat/></query>',
        'type="set"',
        {"bad-request"},
    ),
    (
        "roster-odd",
        '<item xmlns="jabber:iq:roster"/>',
        'type="set"',
        {"bad-request", "feature-not-implemented"},
    ),
    (
        "roster-empty-item",
        '<query xmlns="jabber:iq:roster"><item/></query>',
        'type="set"',
        {"bad-request", "item-not-found"},
    ),
    ("disco-set", f'<query xmlns="{DISCO_INFO}"/>', 'type="set"', {"service-unavailable"}),
    ("unknown-ns", '<thing xmlns="urn:example:nope"/>', 'type="get"', {"service-unavailable"}),
    ("vcard-self", '<vCard xmlns="vcard-temp"/>', 'type="get"', {"result"}),
    ("vcard-query", '<query xmlns="vcard-temp"/>', 'type="get"', {"bad-request"}),
    ("blocking-list-set", '<blocklist xmlns="urn:xmpp:blocking"/>', 'type="set"', {"bad-request"}),
    ("blocking-empty", '<block xmlns="urn:xmpp:blocking"/>', 'type="set"', {"bad-request"}),
    ("ping-set", '<ping xmlns="urn:xmpp:ping"/>', 'type="set"', {"service-unavailable"}),
    ("last-server", '<query xmlns="jabber:iq:last"/>', 'type="get"', {"bad-request"}),
    ("carbons-get", '<enable xmlns="urn:xmpp:carbons:2"/>', 'type="get"', {"service-unavailable"}),
    (
        "two-payloads",
        '<ping xmlns="urn:xmpp:ping"/><ping xmlns="urn:xmpp:ping"/>',
        'type="get"',
        {"bad-request"},
    ),
    (
        "pubsub-empty",
        '<pubsub xmlns="http://jabber.org/protocol/pubsub"/>',
        'type="set"',
        {"bad-request"},
    ),
    (
        "pubsub-subscribe",
        '<pubsub xmlns="http://jabber.org/protocol/pubsub"><subscribe node="x" jid="a@b"/>'
        "</pubsub>",
        'type="set"',
        {"feature-not-implemented"},
    ),
    (
        "private-jabber-ns",
        '<query xmlns="jabber:iq:private"><query xmlns="jabber:iq:roster"/></query>',
        'type="get"',
        {"not-acceptable"},
    ),
    ("no-payload", "", 'type="get"', {"bad-request"}),
    ("odd-type", '<ping xmlns="urn:xmpp:ping"/>', 'type="bogus"', {"bad-request"}),
    ("bad-to", '<ping xmlns="urn:xmpp:ping"/>', 'type="get" to="@@"', {"bad-request"}),
    (
        "other-domain-user",
        '<ping xmlns="urn:xmpp:ping"/>',
        'type="get" to="nobody-1@localhost"',
        {"service-unavailable"},
    ),
]


def answer(reply: Any) -> str:
    if reply.get("type") == "result":
        return "result"
    error = reply.find("{jabber:client}error")
    for child in error:
        if child.tag.startswith(f"{{{STANZAS}}}") and not child.tag.endswith("}text"):
            return child.tag.split("}", 1)[1]
    return "?"


async def test_hostile_and_odd_iqs_get_stanza_errors_and_the_stream_stays_open(server) -> None:
    """RFC 6120 §8.2.3 / §8.4: every iq get/set is answered (result or stanza error,
    with its id), whatever the payload, in each namespace the server serves: MAM
    (XEP-0313 ``<metadata/>``, ``<prefs/>`` and broken queries), privacy (XEP-0016),
    roster (RFC 6121 §2), disco, ping, last activity, carbons and unknown ones. A
    result for an id the server never sent is dropped (§8.2.3). The stream stays open."""
    _, alice, _ = await server.new_user()
    a = await login(ws_url(server), alice, "correct horse")
    answers: dict[str, str] = {}
    try:
        for iq_id, payload, attrs, _ok in HOSTILE:
            await a.send(f'<iq id="{iq_id}" {attrs} xmlns="jabber:client">{payload}</iq>')
            reply = await a.recv_until(lambda e, i=iq_id: e.get("id") == i)
            answers[iq_id] = answer(reply)
        await a.send('<iq id="never-asked" type="result" xmlns="jabber:client"/>')
        await a.send(
            '<iq id="alive" type="get" xmlns="jabber:client"><ping xmlns="urn:xmpp:ping"/></iq>'
        )
        alive = await a.recv_until(lambda e: e.get("id") == "alive" or "error" in e.tag)
    finally:
        await a.ws.close()
    wrong = {i: answers[i] for i, _p, _a, ok in HOSTILE if answers[i] not in ok}
    print(f"\n{len(HOSTILE)} odd iqs sent, {len(answers)} answered, {len(wrong)} wrong: {wrong}")
    assert not wrong
    assert alive.get("type") == "result"


async def test_iq_crosses_two_server_processes(cluster_env) -> None:
    """RFC 6120 §10.5.4 across a cluster: two ``tidings serve`` processes on one
    PostgreSQL and one Redis bus. A request from a client of node 1 reaches the
    resource bound on node 2 with ``from`` stamped and its ``id``; the client's answer
    comes back to node 1 unchanged; a resource no node holds gets
    ``service-unavailable`` (§10.5.3.2)."""
    app = await run_cli_json(cluster_env, "app", "create", f"iq-{secrets.token_hex(3)}")
    users = []
    for login_name in ("ann", "ben"):
        created = await run_cli_json(
            cluster_env,
            "user",
            "create",
            str(app["app_id"]),
            "--login",
            login_name,
            "--password",
            "secret123",
        )
        users.append(SimpleNamespace(id=created["id"], app_id=app["app_id"]))
    node1, node2 = await asyncio.gather(
        ServerProcess(cluster_env).start(), ServerProcess(cluster_env).start()
    )
    try:
        ann = await login(
            node1.url.replace("http", "ws", 1) + "/xmpp-websocket", users[0], "secret123"
        )
        ben = await login(
            node2.url.replace("http", "ws", 1) + "/xmpp-websocket", users[1], "secret123"
        )
        try:
            await ann.send(
                f'<iq type="get" id="cross-1" to="{ben.full_jid}" xmlns="jabber:client">'
                '<query xmlns="urn:example:question"/></iq>'
            )
            asked = await ben.recv_until(lambda e: e.get("id") == "cross-1")
            await ben.send(
                f'<iq type="result" id="cross-1" to="{asked.get("from")}" xmlns="jabber:client">'
                '<query xmlns="urn:example:question"><answer>42</answer></query></iq>'
            )
            answered = await ann.recv_until(lambda e: e.get("id") == "cross-1")
            bare_ben = ben.full_jid.split("/", 1)[0]
            await ann.send(
                f'<iq type="get" id="cross-2" to="{bare_ben}/gone" xmlns="jabber:client">'
                '<ping xmlns="urn:xmpp:ping"/></iq>'
            )
            missing = await ann.recv_until(lambda e: e.get("id") == "cross-2")
        finally:
            await ann.ws.close()
            await ben.ws.close()
    finally:
        await asyncio.gather(node1.stop(), node2.stop())
    print(
        f"\nnode 2 got from {asked.get('from')}; node 1 got {answered.get('type')}, then "
        f"{answer(missing)} for a resource nobody holds"
    )
    assert asked.get("from") == ann.full_jid and asked.get("type") == "get"
    assert answered.get("type") == "result" and answered.get("from") == ben.full_jid
    assert answered.findtext(".//{urn:example:question}answer") == "42"
    assert missing.get("type") == "error" and answer(missing) == "service-unavailable"
