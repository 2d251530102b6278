"""XEP-0313 Message Archive Management (v2, ``urn:xmpp:mam:2``) with slixmpp's plugin
and with raw stanzas: queries with and without ``with``, ``start``/``end``, RSM paging
both ways (XEP-0059), ``<metadata/>``, ``<prefs/>`` (XEP-0441) and room archives.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any
from xml.etree import ElementTree

from slixmpp import JID

from tests.integration.test_xmpp_chat import jid
from tests.integration.test_xmpp_websocket import login, ws_url
from tests.integration.xmpp_helpers import Client, Listener, close, connect

MAM = "urn:xmpp:mam:2"
RSM = "http://jabber.org/protocol/rsm"
FORWARD = "urn:xmpp:forward:0"
DELAY = "urn:xmpp:delay"


async def mam_client(user: Any, port: int) -> Client:
    client = Client(jid(user), "correct horse")
    client.register_plugin("xep_0313")
    return await connect(client, port)


def bodies(results: list[Any]) -> list[str]:
    return [r["mam_result"]["forwarded"]["stanza"]["body"] for r in results]


async def retrieve(client: Client, **kwargs: Any) -> tuple[list[Any], Any]:
    result = await client.plugin["xep_0313"].retrieve(timeout=10, **kwargs)
    return list(result["mam"]["results"]), result


async def test_query_with_and_without_with_and_addresses(server) -> None:
    """XEP-0313 §4.1.1 filter by JID; without ``with`` the user's whole archive across
    1-1 dialogs; archived own messages read from=me to=peer (§5.1.1)."""
    app, alice, alice_token = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    _, carol, carol_token = await server.new_user(app)
    with_bob = await server.client(alice_token).create_dialog("private", [bob.id])
    with_carol = await server.client(alice_token).create_dialog("private", [carol.id])
    await server.client(alice_token).send_message(with_bob.id, "a1")
    await server.client(bob_token).send_message(with_bob.id, "b1")
    await server.client(carol_token).send_message(with_carol.id, "c1")
    await server.client(alice_token).send_message(with_bob.id, "a2")
    async with Listener(server.core) as xmpp:
        a = await mam_client(alice, xmpp.port)
        try:
            narrowed, fin = await retrieve(a, with_jid=JID(jid(bob)))
            everything, fin_all = await retrieve(a)
        finally:
            await close(a)
    print(f"\nwith bob: {bodies(narrowed)}; whole archive: {bodies(everything)}")
    assert bodies(narrowed) == ["a1", "b1", "a2"]
    assert bodies(everything) == ["a1", "b1", "c1", "a2"]
    assert fin["mam_fin"]["complete"] and fin_all["mam_fin"]["complete"]
    addresses = [
        (
            str(m["mam_result"]["forwarded"]["stanza"]["from"]),
            str(m["mam_result"]["forwarded"]["stanza"]["to"]),
        )
        for m in everything
    ]
    assert addresses == [
        (jid(alice), jid(bob)),
        (jid(bob), jid(alice)),
        (jid(carol), jid(alice)),
        (jid(alice), jid(bob)),
    ]
    assert all(str(m["from"]) == jid(alice) for m in everything)  # the archive's JID
    ids = [m["mam_result"]["id"] for m in everything]
    assert fin_all["mam_fin"]["rsm"]["first"] == ids[0]
    assert fin_all["mam_fin"]["rsm"]["last"] == ids[-1]


async def test_paging_both_ways_with_slixmpp(server) -> None:
    """XEP-0313 §4.1.4 / XEP-0059 §2.2 (forward with ``after``) and §2.5 (backward with
    ``before``): slixmpp's iterator reads every message once, either way."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog("private", [bob.id])
    sent = [f"m{i}" for i in range(7)]
    for body in sent:
        await server.client(alice_token).send_message(dialog.id, body)
    async with Listener(server.core) as xmpp:
        a = await mam_client(alice, xmpp.port)
        try:
            mam = a.plugin["xep_0313"]
            forward = [
                m["mam_result"]["forwarded"]["stanza"]["body"]
                async for m in mam.iterate(with_jid=JID(jid(bob)), rsm={"max": 3})
            ]
            backward = [
                m["mam_result"]["forwarded"]["stanza"]["body"]
                async for m in mam.iterate(with_jid=JID(jid(bob)), rsm={"max": 3}, reverse=True)
            ]
        finally:
            await close(a)
    print(f"\nforward {forward}\nbackward {backward}")
    assert forward == sent
    assert backward == list(reversed(sent))


async def raw_query(
    client: Any, qid: str, rsm: str = "", form: str = "", to: str = ""
) -> tuple[list[ElementTree.Element], ElementTree.Element]:
    to_attr = f' to="{to}"' if to else ""
    await client.send(
        f'<iq type="set" id="{qid}"{to_attr} xmlns="jabber:client">'
        f'<query xmlns="{MAM}" queryid="{qid}">{form}{rsm}</query></iq>'
    )
    results = []
    while True:
        element = await client.recv()
        if element.get("id") == qid and element.tag == "{jabber:client}iq":
            return results, element
        if element.find(f"{{{MAM}}}result") is not None:
            results.append(element)


def ids_of(results: list[ElementTree.Element]) -> list[str]:
    return [r.find(f"{{{MAM}}}result").get("id") for r in results]


def body_of(result: ElementTree.Element) -> str:
    inner = result.find(f"{{{MAM}}}result/{{{FORWARD}}}forwarded/{{jabber:client}}message")
    return inner.findtext("{jabber:client}body")


async def test_raw_paging_last_page_and_before(server) -> None:
    """XEP-0059 §2.5: ``<before/>`` empty asks for the last page; ``<before>id`` pages
    back; ``<fin complete='true'>`` only on the page that reaches the start (XEP-0313
    §4.3), with ``first``/``last`` naming the page's ends."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog("private", [bob.id])
    for i in range(7):
        await server.client(alice_token).send_message(dialog.id, f"m{i}")
    a = await login(ws_url(server), alice, "correct horse")
    try:
        pages = []
        before = "<before/>"
        while True:
            got, fin_iq = await raw_query(
                a, f"q{len(pages)}", rsm=f'<set xmlns="{RSM}"><max>3</max>{before}</set>'
            )
            fin = fin_iq.find(f"{{{MAM}}}fin")
            pages.append(([body_of(r) for r in got], fin.get("complete")))
            assert fin.findtext(f"{{{RSM}}}set/{{{RSM}}}first") == ids_of(got)[0]
            assert fin.findtext(f"{{{RSM}}}set/{{{RSM}}}last") == ids_of(got)[-1]
            if fin.get("complete") == "true":
                break
            before = f"<before>{ids_of(got)[0]}</before>"
        after_id = ids_of(got)[-1]
        rest, fin_iq = await raw_query(
            a, "qa", rsm=f'<set xmlns="{RSM}"><max>10</max><after>{after_id}</after></set>'
        )
    finally:
        await a.ws.close()
    print(f"\npages backwards: {pages}")
    assert pages == [
        (["m4", "m5", "m6"], None),
        (["m1", "m2", "m3"], None),
        (["m0"], "true"),
    ]
    assert [body_of(r) for r in rest] == [f"m{i}" for i in range(1, 7)]
    assert fin_iq.find(f"{{{MAM}}}fin").get("complete") == "true"


def stamp_ms(result: ElementTree.Element) -> int:
    stamp = result.find(f"{{{MAM}}}result/{{{FORWARD}}}forwarded/{{{DELAY}}}delay").get("stamp")
    return int(datetime.datetime.fromisoformat(stamp).timestamp() * 1000)


def field(var: str, value: str) -> str:
    return f'<field var="{var}"><value>{value}</value></field>'


async def test_start_and_end_filter_by_time(server) -> None:
    """XEP-0313 §4.1.2: ``start`` and ``end`` bound the messages' times (inclusive)."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog("private", [bob.id])
    for i in range(5):
        await server.client(alice_token).send_message(dialog.id, f"m{i}")
        await asyncio.sleep(0.005)  # distinct times, so the bounds fall between messages
    a = await login(ws_url(server), alice, "correct horse")
    try:
        everything, _ = await raw_query(a, "all")
        times = [stamp_ms(r) for r in everything]
        low, high = times[1], times[3]

        def iso(ms: int) -> str:
            return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).isoformat()

        form = (
            '<x xmlns="jabber:x:data" type="submit">'
            + field("FORM_TYPE", MAM)
            + field("with", jid(bob))
            + field("start", iso(low))
            + field("end", iso(high))
            + "</x>"
        )
        window, _ = await raw_query(a, "window", form=form)
    finally:
        await a.ws.close()
    expected = [body_of(r) for r, t in zip(everything, times, strict=True) if low <= t <= high]
    print(f"\nwindow {[body_of(r) for r in window]} of {len(everything)}")
    assert [body_of(r) for r in window] == expected
    assert "m0" not in expected and "m4" not in expected


async def test_metadata_prefs_and_fields(server) -> None:
    """XEP-0313 §6 ``<metadata/>``: first and last id and time (empty for an empty
    archive); XEP-0441 ``<prefs/>`` read as ``default='always'``; "Retrieving form
    fields" lists with/start/end. None of them closes the stream."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, loner, _ = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog("private", [bob.id])
    for i in range(3):
        await server.client(alice_token).send_message(dialog.id, f"m{i}")
    a = await login(ws_url(server), alice, "correct horse")
    lone = await login(ws_url(server), loner, "correct horse")
    try:
        everything, _ = await raw_query(a, "all")
        await a.send(f'<iq type="get" id="md" xmlns="jabber:client"><metadata xmlns="{MAM}"/></iq>')
        metadata = (await a.recv_until(lambda e: e.get("id") == "md")).find(f"{{{MAM}}}metadata")
        await lone.send(
            f'<iq type="get" id="md0" xmlns="jabber:client"><metadata xmlns="{MAM}"/></iq>'
        )
        empty = await lone.recv_until(lambda e: e.get("id") == "md0")
        await a.send(f'<iq type="get" id="pr" xmlns="jabber:client"><prefs xmlns="{MAM}"/></iq>')
        prefs = await a.recv_until(lambda e: e.get("id") == "pr")
        await a.send(f'<iq type="get" id="ff" xmlns="jabber:client"><query xmlns="{MAM}"/></iq>')
        fields = await a.recv_until(lambda e: e.get("id") == "ff")
    finally:
        await a.ws.close()
        await lone.ws.close()
    ids = ids_of(everything)
    assert metadata.find(f"{{{MAM}}}start").get("id") == ids[0]
    assert metadata.find(f"{{{MAM}}}end").get("id") == ids[-1]
    assert metadata.find(f"{{{MAM}}}start").get("timestamp").endswith("Z")
    assert empty.get("type") == "result" and len(empty.find(f"{{{MAM}}}metadata")) == 0
    assert prefs.get("type") == "result"
    assert prefs.find(f"{{{MAM}}}prefs").get("default") == "always"
    vars_ = [f.get("var") for f in fields.iter("{jabber:x:data}field")]
    assert vars_ == ["FORM_TYPE", "with", "start", "end"]


async def test_room_archive_is_answered_from_the_room(server) -> None:
    """XEP-0313 §4 queried at the room JID; §5.1.1 results come from the room's bare
    JID and each message from ``room/nick`` as ``groupchat``."""
    app, alice, alice_token = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    group = await server.client(alice_token).create_dialog("group", [bob.id], name="room")
    await server.client(alice_token).send_message(group.id, "hello room")
    await server.client(bob_token).send_message(group.id, "hi all")
    room = f"{app.id}_{group.id}@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await mam_client(alice, xmpp.port)
        try:
            results, fin = await retrieve(a, jid=JID(room))
        finally:
            await close(a)
    print(f"\nroom archive: {bodies(results)}")
    assert bodies(results) == ["hello room", "hi all"]
    assert fin["mam_fin"]["complete"]
    for result, sender in zip(results, (alice, bob), strict=True):
        assert str(result["from"]) == room
        inner = result["mam_result"]["forwarded"]["stanza"]
        assert inner["type"] == "groupchat"
        assert str(inner["from"]) == f"{room}/{sender.id}"


async def test_archived_messages_keep_their_id_and_extension_elements(server) -> None:
    """XEP-0313 §5.1.1 forwards the message as it was sent (RFC 6120 §8.4): the
    sender's id and an extension element the server does not know come back, while
    the result id is the archive's (XEP-0359 ``<stanza-id>``)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    a = await login(ws_url(server), alice, "correct horse")
    try:
        await a.send(
            f'<message to="{jid(bob)}" type="chat" id="client-1" xmlns="jabber:client">'
            '<body>kept</body><flavour xmlns="urn:example:flavour">mint</flavour></message>'
        )
        form = (
            f'<x xmlns="jabber:x:data" type="submit">{field("FORM_TYPE", MAM)}'
            f"{field('with', jid(bob))}</x>"
        )
        got: list[ElementTree.Element] = []
        for attempt in range(50):  # the message is stored by the time the query runs
            got, _ = await raw_query(a, f"k{attempt}", form=form)
            if got:
                break
            await asyncio.sleep(0.05)
    finally:
        await a.ws.close()
    inner = got[0].find(f"{{{MAM}}}result/{{{FORWARD}}}forwarded/{{jabber:client}}message")
    print(f"\narchived: {ElementTree.tostring(inner).decode()[:300]}")
    assert inner.get("id") == "client-1"
    assert inner.findtext("{urn:example:flavour}flavour") == "mint"
    result_id = got[0].find(f"{{{MAM}}}result").get("id")
    assert inner.find("{urn:xmpp:sid:0}stanza-id").get("id") == result_id
