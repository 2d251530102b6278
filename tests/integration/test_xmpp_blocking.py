"""XEP-0191 blocking command end to end with slixmpp's plugin: the block list is the
active privacy list's deny rules, so a block over XMPP holds for the native REST API
(and XEP-0016, which ConnectyCube's SDK uses) and the other way round."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.helpers import wait_until
from tests.integration.test_connectycube_rest import Cube, _login
from tests.integration.test_xmpp_chat import jid
from tests.integration.test_xmpp_presence import PASSWORD
from tests.integration.test_xmpp_profanity import Tmux
from tests.integration.test_xmpp_websocket import login, ws_url
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.client.rest import ApiError

BLOCKING = "urn:xmpp:blocking"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


class Blocker(Client):
    """A client with XEP-0191 that records the pushes it gets."""

    def __init__(self, address: str) -> None:
        super().__init__(address, "correct horse")
        self.register_plugin("xep_0191")
        self.pushes: asyncio.Queue[tuple[str, set[str]]] = asyncio.Queue()
        for event, element in (("blocked", "block"), ("unblocked", "unblock")):
            self.add_event_handler(
                event, lambda iq, e=event, el=element: self.pushes.put_nowait((e, _jids(iq[el])))
            )


def _jids(action: Any) -> set[str]:
    return {str(item.get("jid")) for item in action.xml}


async def blocked(client: Client) -> set[str]:
    return {str(j) for j in await client.plugin["xep_0191"].get_blocked_jids(timeout=10)}


async def test_block_over_xmpp_holds_for_every_api(server) -> None:
    """§3.2-§3.5: get, block (pushed to the user's other resource that asked for the
    list, bound on another node), unblock, unblock all. The block is the privacy list
    the native API shows and ConnectyCube's SDK reads over XEP-0016 (the user's JID
    and MUC twin, denied), and it refuses the blocked user's native and ConnectyCube
    REST sends; an unblock lets them through."""
    app, alice, _ = await server.new_user()
    _, bob, bob_token = await server.new_user(app, login=f"bob-{app.id}")
    _, carol, _ = await server.new_user(app)
    alice_rest = server.client((await server.core.auth.create_session(app.id, alice.id)).token)
    bob_rest = server.client(bob_token)
    dialog = await bob_rest.create_dialog("private", [alice.id])
    bob_cube, _ = await _login(lambda: Cube(server), app, f"bob-{app.id}")
    cube_message = {"chat_dialog_id": dialog.id, "message": "over the cube api"}
    async with Listener(server.core) as xmpp, Listener(server.core) as other_node:
        a1 = await connect(Blocker(jid(alice)), xmpp.port)
        a2 = await connect(Blocker(jid(alice)), other_node.port)  # pushes cross nodes
        try:
            assert await blocked(a1) == set()
            assert await blocked(a2) == set()
            await a1.plugin["xep_0191"].block([jid(bob), jid(carol)], timeout=10)
            pushed = await asyncio.wait_for(a2.pushes.get(), 10)
            after_block = await blocked(a2)
            sdk_view = await _privacy_list(a1, "blocklist")
            lists = await alice_rest.request("GET", "/privacy/lists")
            active = await alice_rest.request("GET", f"/privacy/lists/{lists['active']}")
            with pytest.raises(ApiError) as refused:
                await bob_rest.send_message(dialog.id, "hello?")
            cube_refused = await bob_cube.post("/chat/Message.json", cube_message)
            await a1.plugin["xep_0191"].unblock([jid(bob)], timeout=10)
            unpushed = await asyncio.wait_for(a2.pushes.get(), 10)
            sent = await bob_rest.send_message(dialog.id, "hello again")
            cube_sent = await bob_cube.post("/chat/Message.json", cube_message)
            unblock_all = a1.make_iq_set()
            unblock_all.enable("unblock")  # §3.5: no items, everyone
            await unblock_all.send(timeout=10)
            after_all = await blocked(a1)
        finally:
            await close(a1, a2)
            await bob_cube.aclose()
    print(f"\npushed {pushed}, then {unpushed}; native list {active}; refused {refused.value}")
    assert pushed == ("blocked", {jid(bob), jid(carol)})
    assert after_block == {jid(bob), jid(carol)}
    assert lists["active"] == "blocklist"
    denied = {i["user_id"] for i in active["items"] if i["action"] == "deny"}
    assert denied == {bob.id, carol.id}
    assert sdk_view == {jid(bob), "muc.localhost/" + str(bob.id), jid(carol)} | {
        "muc.localhost/" + str(carol.id)
    }
    assert refused.value.status == 403 and refused.value.code == "blocked"
    assert cube_refused.status_code == 403, cube_refused.text
    assert unpushed == ("unblocked", {jid(bob)})
    assert sent.body == "hello again"
    assert cube_sent.status_code == 201, cube_sent.text
    assert after_all == set()


async def _privacy_list(client: Client, name: str) -> set[str]:
    """The denied JIDs of a privacy list, asked as ConnectyCube's SDK asks (XEP-0016)."""
    iq = client.make_iq_get()
    query = ElementTree.SubElement(iq.xml, "{jabber:iq:privacy}query")
    ElementTree.SubElement(query, "{jabber:iq:privacy}list", {"name": name})
    reply = await iq.send(timeout=10)
    items = reply.xml.iterfind(".//{jabber:iq:privacy}item")
    return {i.get("value", "") for i in items if i.get("action") == "deny"}


async def test_a_privacy_list_set_elsewhere_is_the_block_list(server) -> None:
    """XEP-0191 §5: one store. A deny rule put through the native API's privacy lists
    is in the XMPP block list, and is pushed to a resource that asked for it."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    alice_rest = server.client(alice_token)
    async with Listener(server.core) as xmpp:
        a = await connect(Blocker(jid(alice)), xmpp.port)
        try:
            assert await blocked(a) == set()
            await alice_rest.put_privacy_list("mine", [{"user_id": bob.id, "action": "deny"}])
            await alice_rest.set_active_privacy_list("mine")
            pushed = await asyncio.wait_for(a.pushes.get(), 10)
            listed = await blocked(a)
        finally:
            await close(a)
    assert pushed == ("blocked", {jid(bob)})
    assert listed == {jid(bob)}


async def test_blocked_contact_sees_unavailable_and_no_more_presence(server) -> None:
    """§3.3: a subscribed contact who is blocked gets the user's resources' unavailable
    presence, and later presences of the user do not reach them; unblocked, they get
    the user's presence again (§3.4)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    await server.core.contacts.request(_actor(app.id, alice.id), bob.id)
    await server.core.contacts.confirm(_actor(app.id, bob.id), alice.id)
    async with Listener(server.core) as xmpp:
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        seen: list[tuple[str, str]] = []
        b.add_event_handler(
            "presence", lambda p: seen.append((str(p["from"].bare), str(p["type"])))
        )
        a = await connect(Blocker(jid(alice)), xmpp.port)
        try:
            await wait_until(lambda: (jid(alice), "available") in seen, what="alice online")
            await a.plugin["xep_0191"].block([jid(bob)], timeout=10)
            await wait_until(lambda: (jid(alice), "unavailable") in seen, what="unavailable")
            seen.clear()
            a.send_presence(pshow="away")
            pong = await a.plugin["xep_0199"].send_ping("localhost", timeout=10)
            await b.plugin["xep_0199"].send_ping("localhost", timeout=10)
            hidden = list(seen)
            await a.plugin["xep_0191"].unblock([jid(bob)], timeout=10)
            await wait_until(lambda: any(s[0] == jid(alice) for s in seen), what="back")
        finally:
            await close(a, b)
    assert pong["type"] == "result"
    assert [s for s in hidden if s[0] == jid(alice)] == []


def _condition(reply: Any) -> str:
    if reply.get("type") == "result":
        return "result"
    error = reply.find("{jabber:client}error")
    names = [c.tag.split("}", 1)[1] for c in error if c.tag.startswith(f"{{{STANZAS}}}")]
    return next(n for n in names if n != "text")


async def test_hostile_blocks_get_stanza_errors_and_the_stream_stays_open(server) -> None:
    """A malformed JID is ``jid-malformed``; a user of another app, of another domain
    or nobody is ``item-not-found`` alike (nothing is blocked across apps); an empty
    ``<block/>`` is ``bad-request`` (§3.3); unblocking someone not blocked changes
    nothing (a result, as for any unblock); the stream stays open."""
    app, alice, _ = await server.new_user()
    _, stranger, _ = await server.new_user()  # another app
    _, bob, _ = await server.new_user(app)
    cases = {
        "malformed": (
            f'<block xmlns="{BLOCKING}"><item jid="@localhost"/></block>',
            "jid-malformed",
        ),
        "no-jid": (f'<block xmlns="{BLOCKING}"><item/></block>', "bad-request"),
        "empty": (f'<block xmlns="{BLOCKING}"/>', "bad-request"),
        "other-app": (
            f'<block xmlns="{BLOCKING}"><item jid="{jid(stranger)}"/></block>',
            "item-not-found",
        ),
        "other-domain": (
            f'<block xmlns="{BLOCKING}"><item jid="{bob.id}-{app.id}@elsewhere"/></block>',
            "item-not-found",
        ),
        "nobody": (
            f'<block xmlns="{BLOCKING}"><item jid="999999-{app.id}@localhost"/></block>',
            "item-not-found",
        ),
        "self": (f'<block xmlns="{BLOCKING}"><item jid="{jid(alice)}"/></block>', "not-acceptable"),
        "unblock-not-blocked": (
            f'<unblock xmlns="{BLOCKING}"><item jid="{jid(bob)}"/></unblock>',
            "result",
        ),
        "get-block": (f'<block xmlns="{BLOCKING}"/>', "bad-request"),
    }
    a = await login(ws_url(server), alice, "correct horse")
    answers = {}
    try:
        for name, (payload, _want) in cases.items():
            kind = "get" if name == "get-block" else "set"
            await a.send(f'<iq id="{name}" type="{kind}" xmlns="jabber:client">{payload}</iq>')
            answers[name] = _condition(await a.recv_until(lambda e, i=name: e.get("id") == i))
        await a.send(
            f'<iq id="list" type="get" xmlns="jabber:client"><blocklist xmlns="{BLOCKING}"/></iq>'
        )
        listed = await a.recv_until(lambda e: e.get("id") == "list")
    finally:
        await a.ws.close()
    print(f"\nanswers: {answers}")
    assert answers == {name: want for name, (_p, want) in cases.items()}
    assert listed.get("type") == "result"
    assert list(listed.find(f"{{{BLOCKING}}}blocklist")) == []  # nothing got blocked
    assert await server.core.privacy.blocked(_actor(app.id, alice.id)) == []


def _actor(app_id: int, user_id: int) -> Any:
    from tidings.domain.models import Actor

    return Actor(app_id, user_id)


async def test_messages_across_a_block_are_refused(server) -> None:
    """§3.3: the user writing to someone they block gets ``not-acceptable`` with
    ``<blocked xmlns='urn:xmpp:blocking:errors'/>``; the blocked contact writing to the
    user gets ``service-unavailable`` (XEP-0016 §2.3), and nothing is delivered."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Blocker(jid(alice)), xmpp.port)
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            await a.plugin["xep_0191"].block([jid(bob)], timeout=10)
            a.send_message(mto=jid(bob), mbody="you are blocked", mtype="chat")
            mine = await asyncio.wait_for(a.errors.get(), 10)
            b.send_message(mto=jid(alice), mbody="let me in", mtype="chat")
            theirs = await asyncio.wait_for(b.errors.get(), 10)
            await a.plugin["xep_0191"].unblock([jid(bob)], timeout=10)
            b.send_message(mto=jid(alice), mbody="thanks", mtype="chat")
            delivered = await asyncio.wait_for(a.messages.get(), 10)
        finally:
            await close(a, b)
    print(f"\nblocker got {mine['error']['condition']}, blocked got {theirs['error']['condition']}")
    assert mine["error"]["condition"] == "not-acceptable"
    assert mine.xml.find(".//{urn:xmpp:blocking:errors}blocked") is not None
    assert theirs["error"]["condition"] == "service-unavailable"
    assert theirs.xml.find(".//{urn:xmpp:blocking:errors}blocked") is None
    assert a.messages.empty() and delivered["body"] == "thanks"


@pytest.mark.skipif(
    not (shutil.which("profanity") and shutil.which("tmux")),
    reason="profanity or tmux is not installed (scripts/install-test-deps.sh installs them)",
)
async def test_profanity_blocks_and_unblocks(server, tmp_path: Path) -> None:
    """profanity (a client nobody here wrote) asks for the block list at login (§3.2),
    and ``/blocked add`` / ``/blocked remove`` block and unblock (§3.3, §3.4): the
    core's privacy list follows, and nothing on screen or in its log is an error."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    prof = Tmux(tmp_path, "profanity -l DEBUG")
    actor = _actor(app.id, alice.id)
    async with Listener(server.core) as xmpp:
        prof.start()
        try:
            await prof.shows("Profanity")
            prof.type(f"/connect {jid(alice)} server 127.0.0.1 port {xmpp.port} tls trust")
            await prof.shows("password")
            prof.type(PASSWORD)
            await prof.shows("logged in successfully")
            prof.type(f"/blocked add {jid(bob)}")
            await wait_until(lambda: _is(server.core.privacy.blocked(actor), [bob.id]))
            prof.type("/blocked")
            listed = await prof.shows(f"  {jid(bob)}")
            prof.type(f"/blocked remove {jid(bob)}")
            await wait_until(lambda: _is(server.core.privacy.blocked(actor), []))
            screen = prof.screen()
        finally:
            prof.stop()
    log = _logs(tmp_path)
    shown = [line for line in listed.splitlines() if line.strip()]
    print("profanity screen tail:\n" + "\n".join(shown[-6:]))
    assert "urn:xmpp:blocking" in log  # it did speak XEP-0191 with us
    assert "service-unavailable" not in log and "service-unavailable" not in screen


def _logs(home: Path) -> str:
    return "\n".join(p.read_text() for p in home.rglob("profanity*.log"))


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected
