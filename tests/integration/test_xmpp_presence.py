"""RFC 6121 §3-§4 presence with slixmpp over TCP: broadcast per resource, the probe at
login, show/status/priority, subscription requests replayed, directed presence, and
``unavailable`` when a session ends (cleanly or not)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from tests.helpers import wait_until
from tests.integration.processes import ServerProcess, run_cli_json
from tests.integration.test_xmpp_serve import free_port
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.client import TidingsClient
from tidings.domain.models import Actor

PASSWORD = "correct horse"


def jid(user: Any, resource: str = "") -> str:
    bare = f"{user.id}-{user.app_id}@localhost"
    return f"{bare}/{resource}" if resource else bare


class PresenceClient(Client):
    """Records every presence (type, full from, show, status, priority); answers no
    subscription request by itself."""

    def __init__(self, jid_text: str, *, show: str = "", status: str = "") -> None:
        super().__init__(jid_text, PASSWORD)
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False
        self.initial = {"pshow": show or None, "pstatus": status or None}
        self.presences: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.add_event_handler("presence", self._presence)

    def _presence(self, p: Any) -> None:
        self.presences.put_nowait(
            {
                "type": p["type"],
                "from": str(p["from"]),
                "show": p["show"],
                "status": p["status"],
                "priority": p["priority"],
            }
        )

    async def _start(self, _event: Any) -> None:
        self.send_presence(**{k: v for k, v in self.initial.items() if v})
        self.started.set()


async def _next(client: PresenceClient, want: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first presence on the client's queue that ``want`` accepts."""
    seen = []
    while True:
        try:
            p = await asyncio.wait_for(client.presences.get(), 10)
        except TimeoutError:
            raise AssertionError(f"no such presence; saw {seen}") from None
        seen.append(p)
        if want(p):
            return p


def from_(user: Any, resource: str = "", kind: str | None = None) -> Callable[..., bool]:
    """A matcher: presence from that user (that resource) of that type (None: any)."""

    def match(p: dict[str, Any]) -> bool:
        sender = p["from"]
        if resource and not sender.startswith(jid(user, resource)):  # the server adds a suffix
            return False
        if not sender.startswith(jid(user)):
            return False
        return kind is None or p["type"] == kind

    return match


async def _friends(server: Any, a: Any, b: Any) -> None:
    """Mutual subscription through the contact-list API (both ``both``)."""
    await server.core.contacts.request(Actor(a.app_id, a.id), b.id)
    await server.core.contacts.confirm(Actor(b.app_id, b.id), a.id)


async def test_login_shows_contacts_online_and_show_status_changes(server) -> None:
    """§4.2.3 (the contacts' presence at login, with show and status), §4.2.2 (the new
    resource announced to its contacts), §4.4 (a change of show/status/priority reaches
    them), §4.5 (unavailable when the client says so)."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    await _friends(server, alice, bob)
    async with Listener(server.core) as xmpp:
        b = await connect(
            PresenceClient(jid(bob, "phone"), show="away", status="at lunch"), xmpp.port
        )
        a = await connect(PresenceClient(jid(alice, "desk")), xmpp.port)
        try:
            seen = await _next(a, from_(bob, "phone"))
            assert (seen["type"], seen["show"], seen["status"]) == ("away", "away", "at lunch")
            await _next(b, from_(alice, "desk", "available"))

            b.send_presence(pshow="dnd", pstatus="in a meeting", ppriority=5)
            seen = await _next(a, from_(bob, "phone", "dnd"))
            assert (seen["status"], seen["priority"]) == ("in a meeting", 5)

            b.send_presence(ptype="unavailable")
            await _next(a, from_(bob, "phone", "unavailable"))
            print("login probe, show/status change and unavailable each arrived once")
        finally:
            await close(a, b)


async def test_add_and_accept_presence_flows_both_ways(server) -> None:
    """§3.1: A asks, B approves: A gets B's current presence at once (§3.1.5); B asks
    back, A approves: B gets A's; then each change reaches the other (§4.4.2)."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    async with Listener(server.core) as xmpp:
        a = await connect(PresenceClient(jid(alice, "a1")), xmpp.port)
        b = await connect(PresenceClient(jid(bob, "b1"), status="here"), xmpp.port)
        try:
            a.send_presence(pto=jid(bob), ptype="subscribe")
            await _next(b, lambda p: p["type"] == "subscribe" and p["from"] == jid(alice))
            b.send_presence(pto=jid(alice), ptype="subscribed")
            await _next(a, lambda p: p["type"] == "subscribed" and p["from"] == jid(bob))
            seen = await _next(a, from_(bob, "b1", "available"))
            assert seen["status"] == "here"

            b.send_presence(pto=jid(alice), ptype="subscribe")
            await _next(a, lambda p: p["type"] == "subscribe" and p["from"] == jid(bob))
            a.send_presence(pto=jid(bob), ptype="subscribed")
            await _next(b, from_(alice, "a1", "available"))

            a.send_presence(pshow="xa")
            await _next(b, from_(alice, "a1", "xa"))
            contacts = await server.core.contacts.list_contacts(Actor(app.id, alice.id))
            assert [(c.user_id, c.status) for c in contacts] == [(bob.id, "confirmed")]
        finally:
            await close(a, b)


async def test_refused_request_sends_no_presence(server) -> None:
    """§3.2: B refuses A's request: A is told ``unsubscribed`` and never gets B's
    presence; B's later show change reaches nobody (A is no subscriber)."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    async with Listener(server.core) as xmpp:
        a = await connect(PresenceClient(jid(alice, "a1")), xmpp.port)
        b = await connect(PresenceClient(jid(bob, "b1")), xmpp.port)
        try:
            a.send_presence(pto=jid(bob), ptype="subscribe")
            await _next(b, lambda p: p["type"] == "subscribe")
            b.send_presence(pto=jid(alice), ptype="unsubscribed")
            await _next(a, lambda p: p["type"] == "unsubscribed" and p["from"] == jid(bob))
            b.send_presence(pshow="chat")
            # A marker: a directed presence from B arrives after anything B broadcast.
            b.send_presence(pto=a.boundjid.full, pstatus="marker")
            seen = await _next(a, from_(bob, "b1"))
            assert seen["status"] == "marker", f"B's broadcast leaked to A: {seen}"
        finally:
            await close(a, b)


async def test_pending_request_is_replayed_at_next_login(server) -> None:
    """§3.1.3: a request made while the contact is offline reaches its next initial
    presence, and again at every login until it is answered."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    async with Listener(server.core) as xmpp:
        a = await connect(PresenceClient(jid(alice, "a1")), xmpp.port)
        try:
            a.send_presence(pto=jid(bob), ptype="subscribe")

            async def asked() -> bool:
                pending = await server.core.contacts.pending_requests(Actor(app.id, bob.id))
                return pending == [alice.id]

            assert await wait_until(asked, what="the request stored")
            for login in (1, 2):
                b = await connect(PresenceClient(jid(bob, f"b{login}")), xmpp.port)
                await _next(b, lambda p: p["type"] == "subscribe" and p["from"] == jid(alice))
                await close(b)
            b = await connect(PresenceClient(jid(bob, "b3")), xmpp.port)
            await _next(b, lambda p: p["type"] == "subscribe")
            b.send_presence(pto=jid(alice), ptype="subscribed")
            await _next(a, lambda p: p["type"] == "subscribed")
            await close(b)
            b = await connect(PresenceClient(jid(bob, "b4")), xmpp.port)
            b.send_presence(pto=a.boundjid.full, pstatus="marker")
            seen = await _next(a, lambda p: p["status"] == "marker")
            assert seen["from"] == b.boundjid.full
            assert await server.core.contacts.pending_requests(Actor(app.id, bob.id)) == []
            await close(b)
        finally:
            await close(a)


async def test_directed_presence_is_routed_and_ended(server) -> None:
    """§4.6: a presence to a full JID reaches that resource only (not the user's other
    resource), and when the sender's session ends that resource gets ``unavailable``
    (§4.6.3), though the two users are no contacts."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    async with Listener(server.core) as xmpp:
        b1 = await connect(PresenceClient(jid(bob, "one")), xmpp.port)
        b2 = await connect(PresenceClient(jid(bob, "two")), xmpp.port)
        a = await connect(PresenceClient(jid(alice, "a1")), xmpp.port)
        try:
            a.send_presence(pto=b1.boundjid.full, pstatus="hello one")
            seen = await _next(b1, from_(alice, "a1"))
            assert seen["status"] == "hello one"
            await close(a)
            await _next(b1, from_(alice, "a1", "unavailable"))
            # b2 saw nothing from alice: a directed presence from b1 arrives first.
            b1.send_presence(pto=b2.boundjid.full, pstatus="marker")
            seen = await _next(
                b2, lambda p: p["status"] == "marker" or p["from"].startswith(jid(alice))
            )
            assert seen["status"] == "marker", f"alice's directed presence leaked: {seen}"
        finally:
            await close(a, b1, b2)


async def test_two_resources_and_an_unclean_end(server) -> None:
    """§4.2.2: each resource is announced by itself, to the contact and to the user's
    own other resource; §4.5/§4.6.3: a resource whose socket dies without a closing
    stream is announced ``unavailable``, the other stays available."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    await _friends(server, alice, bob)
    async with Listener(server.core) as xmpp:
        a = await connect(PresenceClient(jid(alice, "a1")), xmpp.port)
        b1 = await connect(PresenceClient(jid(bob, "phone"), show="away"), xmpp.port)
        b2 = await connect(PresenceClient(jid(bob, "laptop"), show="chat"), xmpp.port)
        try:
            await _next(a, from_(bob, "phone", "away"))
            await _next(a, from_(bob, "laptop", "chat"))
            await _next(b1, from_(bob, "laptop", "chat"))  # its own other resource
            b2.transport.abort()  # the socket dies: no </stream:stream>
            await _next(a, from_(bob, "laptop", "unavailable"))
            await _next(b1, from_(bob, "laptop", "unavailable"))
            a2 = await connect(PresenceClient(jid(alice, "a2")), xmpp.port)
            seen = await _next(a2, from_(bob))
            assert seen["from"] == b1.boundjid.full and seen["show"] == "away"
            await close(a2)
        finally:
            await close(a, b1, b2)


async def test_presence_crosses_nodes(cluster_env) -> None:
    """§4.2-§4.5 on two ``tidings serve`` nodes (one PostgreSQL, one Redis bus): a
    login on node 2 is told of a contact's resource held by node 1 (the probe reads
    the store), a show change on node 2 reaches node 1 over the bus, and so does the
    ``unavailable`` of a socket that dies."""
    app = await run_cli_json(cluster_env, "app", "create", f"presence-{secrets.token_hex(3)}")
    users = [
        await run_cli_json(
            cluster_env,
            "user",
            "create",
            str(app["app_id"]),
            "--login",
            login,
            "--password",
            PASSWORD,
        )
        for login in ("ann", "ben")
    ]
    ann_id, ben_id = (u["id"] for u in users)
    ports = free_port(), free_port()
    node1, node2 = await asyncio.gather(
        ServerProcess(cluster_env, "--xmpp-port", str(ports[0])).start(),
        ServerProcess(cluster_env, "--xmpp-port", str(ports[1])).start(),
    )
    ann_rest, ben_rest = TidingsClient(node1.url), TidingsClient(node2.url)
    ann = ben = None
    try:
        await ann_rest.login(app["app_id"], "ann", PASSWORD)
        await ben_rest.login(app["app_id"], "ben", PASSWORD)
        await ann_rest.add_contact(ben_id)
        await ben_rest.confirm_contact(ann_id)
        ann_jid, ben_jid = (f"{u}-{app['app_id']}@localhost" for u in (ann_id, ben_id))
        ann = await connect(PresenceClient(f"{ann_jid}/n1", status="on node one"), ports[0])
        ben = await connect(PresenceClient(f"{ben_jid}/n2"), ports[1])
        seen = await _next(ben, lambda p: p["from"] == ann.boundjid.full)
        assert seen["status"] == "on node one"
        await _next(ann, lambda p: p["from"] == ben.boundjid.full)
        ben.send_presence(pshow="away", pstatus="across the bus")
        seen = await _next(ann, lambda p: p["from"] == ben.boundjid.full and p["show"] == "away")
        assert seen["status"] == "across the bus"
        ben.transport.abort()
        await _next(ann, lambda p: p["from"] == ben.boundjid.full and p["type"] == "unavailable")
        print("probe, change and unavailable each crossed the nodes")
    finally:
        await close(*(c for c in (ann, ben) if c is not None))
        await ann_rest.aclose()
        await ben_rest.aclose()
        await asyncio.gather(node1.stop(), node2.stop())
