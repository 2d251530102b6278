"""Contact list over XMPP with slixmpp (RFC 6121 §2-3 roster and presence subscription)
and the XEP-0313 archive, both through the core."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

from slixmpp import JID
from slixmpp.exceptions import IqError

from tests.helpers import wait_until
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.domain.models import Actor


def jid(user, domain: str = "localhost") -> str:
    return f"{user.id}-{user.app_id}@{domain}"


class RosterClient(Client):
    """A client that answers subscription requests itself (not slixmpp's auto-accept)
    and records roster pushes and subscription presences."""

    def __init__(self, jid_text: str, password: str) -> None:
        super().__init__(jid_text, password)
        self.register_plugin("xep_0313")
        self.roster.auto_authorize = None  # neither accept nor refuse: emit an event
        self.roster.auto_subscribe = False
        self.presences: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        for kind in ("subscribe", "subscribed", "unsubscribed", "unavailable", "available"):
            self.add_event_handler(
                f"presence_{kind}",
                lambda p, k=kind: self.presences.put_nowait((k, str(p["from"].bare))),
            )
        self.pushes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.add_event_handler(
            "roster_update",
            lambda iq: self.pushes.put_nowait(
                {str(k): dict(v) for k, v in iq["roster"]["items"].items()}
            ),
        )

    async def _start(self, _event: Any) -> None:
        await self.get_roster()
        self.send_presence()
        self.started.set()


async def _next(queue: asyncio.Queue[Any], want: Any) -> Any:
    """The first item on ``queue`` that matches ``want`` (a predicate)."""
    while True:
        item = await asyncio.wait_for(queue.get(), 10)
        if want(item):
            return item


async def _statuses(server, user) -> dict[int, str]:
    contacts = await server.core.contacts.list_contacts(Actor(user.app_id, user.id))
    return {c.user_id: c.status for c in contacts}


async def test_contact_list_add_confirm_presence_remove(server) -> None:
    """Seed "Contact list" over RFC 6121 §3: A asks B (B gets the request), B approves
    (A is told and has ``to``), B asks back and A approves (both rosters say ``both``),
    A sees B go offline (§4.5), A removes B (§2.5); then a request B refuses (§3.2): A
    keeps the item with subscription ``none``."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(RosterClient(jid(alice), "correct horse"), xmpp.port)
        b = await connect(RosterClient(jid(bob), "correct horse"), xmpp.port)
        try:
            a.send_presence(pto=jid(bob), ptype="subscribe")
            await _next(b.presences, lambda p: p == ("subscribe", jid(alice)))
            assert (await _statuses(server, alice))[bob.id] == "requested"
            assert (await _statuses(server, bob))[alice.id] == "pending"

            b.send_presence(pto=jid(alice), ptype="subscribed")
            await _next(a.presences, lambda p: p == ("subscribed", jid(bob)))
            await _next(a.pushes, lambda items: items.get(jid(bob), {}).get("subscription") == "to")
            assert (await _statuses(server, bob))[alice.id] == "from"

            b.send_presence(pto=jid(alice), ptype="subscribe")
            await _next(a.presences, lambda p: p == ("subscribe", jid(bob)))
            a.send_presence(pto=jid(bob), ptype="subscribed")
            await _next(
                a.pushes, lambda items: items.get(jid(bob), {}).get("subscription") == "both"
            )
            roster = await a.get_roster()
            assert roster["roster"]["items"][JID(jid(bob))]["subscription"] == "both"
            assert (await _statuses(server, bob))[alice.id] == "confirmed"

            # Contact presence: B goes away, A hears it.
            b.send_presence(ptype="unavailable")
            await close(b)
            await _next(a.presences, lambda p: p == ("unavailable", jid(bob)))

            a.del_roster_item(jid(bob))
            await _next(
                a.pushes, lambda items: items.get(jid(bob), {}).get("subscription") == "remove"
            )

            async def removed() -> bool:
                return bob.id not in await _statuses(server, alice)

            assert await wait_until(removed, what="bob gone from alice's roster")

            # A new request, rejected this time.
            b = await connect(RosterClient(jid(bob), "correct horse"), xmpp.port)
            a.send_presence(pto=jid(bob), ptype="subscribe")
            await _next(b.presences, lambda p: p == ("subscribe", jid(alice)))
            b.send_presence(pto=jid(alice), ptype="unsubscribed")
            await _next(a.presences, lambda p: p == ("unsubscribed", jid(bob)))
            assert (await _statuses(server, alice))[bob.id] == "none"  # §3.2.2: item kept
            assert alice.id not in await _statuses(server, bob)
        finally:
            await close(a, b)


async def test_mam_query_returns_the_dialog_history(server) -> None:
    """XEP-0313 with slixmpp: the archive ``with`` a user is the private dialog's
    history (sent over REST and XMPP), oldest first, with stanza ids = message ids."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    rest = server.client(alice_token)
    dialog = await rest.create_dialog(type="private", occupant_ids=[bob.id])
    stored = [(await rest.send_message(dialog.id, f"note {i}")).id for i in range(3)]
    async with Listener(server.core) as xmpp:
        b = await connect(RosterClient(jid(bob), "correct horse"), xmpp.port)
        try:
            result = await b.plugin["xep_0313"].retrieve(with_jid=JID(jid(alice)), rsm={"max": 10})
            found = result["mam"]["results"]
            assert [m["mam_result"]["forwarded"]["stanza"]["body"] for m in found] == [
                "note 0",
                "note 1",
                "note 2",
            ]
            assert [m["mam_result"]["id"] for m in found] == stored
            page = await b.plugin["xep_0313"].retrieve(with_jid=JID(jid(alice)), rsm={"max": 2})
            assert len(page["mam"]["results"]) == 2
        finally:
            await close(b)


async def test_roster_set_keeps_name_and_groups_and_pushes_to_each_resource(server) -> None:
    """RFC 6121 §2.3: a roster set adds the item with its name and groups, stored (a
    later get and the contact-list API see it), pushed to every interested resource
    (§2.1.6: both resources that fetched the roster); an update replaces them;
    §2.3.3: two items in one set is ``bad-request``."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a1 = await connect(RosterClient(jid(alice) + "/one", "correct horse"), xmpp.port)
        a2 = await connect(RosterClient(jid(alice) + "/two", "correct horse"), xmpp.port)
        try:
            await a1.update_roster(jid(bob), name="Bob", groups=["Friends", "Work"])
            for client in (a1, a2):
                pushed = await _next(client.pushes, lambda items: jid(bob) in items)
                assert pushed[jid(bob)]["name"] == "Bob"
                assert sorted(pushed[jid(bob)]["groups"]) == ["Friends", "Work"]
                assert pushed[jid(bob)]["subscription"] == "none"
            contacts = await server.core.contacts.list_contacts(Actor(app.id, alice.id))
            assert [(c.user_id, c.name, c.groups) for c in contacts] == [
                (bob.id, "Bob", ("Friends", "Work"))
            ]
            await a1.update_roster(jid(bob), name="Robert", groups=["Family"])
            await _next(a2.pushes, lambda items: items.get(jid(bob), {}).get("name") == "Robert")
            fresh = await connect(RosterClient(jid(alice) + "/three", "correct horse"), xmpp.port)
            item = fresh.client_roster[jid(bob)]
            assert (item["name"], item["groups"]) == ("Robert", ["Family"])
            await close(fresh)

            iq = a1.make_iq_set(ito=None)
            iq.append(
                ET.fromstring(
                    "<query xmlns='jabber:iq:roster'>"
                    f"<item jid='{jid(bob)}'/><item jid='{jid(bob)}x'/></query>"
                )
            )
            try:
                await iq.send(timeout=10)
                raise AssertionError("two items accepted")
            except IqError as exc:
                assert exc.iq["error"]["condition"] == "bad-request"
        finally:
            await close(a1, a2)


async def test_roster_remove_unsubscribes_both_ways(server) -> None:
    """RFC 6121 §2.5: removing a ``both`` contact deletes the item, and the contact is
    sent ``unsubscribe`` and ``unsubscribed`` (§2.5.2), loses the item too, and hears
    the remover go unavailable (§3.2.2)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    await server.core.contacts.request(Actor(app.id, alice.id), bob.id)
    await server.core.contacts.confirm(Actor(app.id, bob.id), alice.id)
    async with Listener(server.core) as xmpp:
        a = await connect(RosterClient(jid(alice), "correct horse"), xmpp.port)
        b = await connect(RosterClient(jid(bob), "correct horse"), xmpp.port)
        try:
            await _next(b.presences, lambda p: p == ("available", jid(alice)))
            a.del_roster_item(jid(bob))
            await _next(b.presences, lambda p: p == ("unsubscribed", jid(alice)))
            await _next(b.presences, lambda p: p == ("unavailable", jid(alice)))
            await _next(
                b.pushes, lambda items: items.get(jid(alice), {}).get("subscription") == "remove"
            )
            assert await _statuses(server, alice) == {}
            assert await _statuses(server, bob) == {}
        finally:
            await close(a, b)


async def test_auto_accepting_clients_end_mutual_and_the_api_agrees(server) -> None:
    """Seed "Contact list" add -> confirm, as a general XMPP library does it (slixmpp's
    defaults, like the iOS SDK's roster: accept a request and ask back, accept a
    request from someone asked): A's one ``subscribe`` ends in ``both`` on each side
    (RFC 6121 §3.1), which the contact-list API reads as ``confirmed``; then B's
    ``POST``-style reject path: a request B refuses through the API reaches A as
    ``unsubscribed`` (§3.2)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(RosterClient(jid(alice), "correct horse"), xmpp.port)
        b = await connect(RosterClient(jid(bob), "correct horse"), xmpp.port)
        b.roster.auto_authorize = True
        b.roster.auto_subscribe = True
        a.roster.auto_authorize = True
        try:
            a.send_presence(pto=jid(bob), ptype="subscribe")
            await _next(
                a.pushes, lambda items: items.get(jid(bob), {}).get("subscription") == "both"
            )

            async def mutual() -> bool:
                return (await _statuses(server, alice)).get(bob.id) == "confirmed" and (
                    await _statuses(server, bob)
                ).get(alice.id) == "confirmed"

            assert await wait_until(mutual, what="both sides confirmed")

            a.send_presence(pto=jid(carol), ptype="subscribe")

            async def asked() -> bool:
                return (await _statuses(server, carol)).get(alice.id) == "pending"

            assert await wait_until(asked, what="carol asked")
            await server.core.contacts.reject(Actor(app.id, carol.id), alice.id)
            await _next(a.presences, lambda p: p == ("unsubscribed", jid(carol)))
            await _next(
                a.pushes, lambda items: items.get(jid(carol), {}).get("subscription") == "remove"
            )
        finally:
            await close(a, b)


async def test_roster_versioning(server) -> None:
    """RFC 6121 §2.6 (XEP-0237): the feature is offered (§2.6.1); a get with an empty
    ``ver`` gets the roster and its version; the same version back gets an empty
    result (§2.6.3); pushes to a versioning resource carry a ``ver``; after a change
    the old version gets the whole roster with a new one; a get without ``ver`` is
    answered as before versioning."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    roster_ns = "{jabber:iq:roster}query"

    async def get(client: Any, ver: str | None) -> Any:
        iq = client.make_iq_get(ito=None)
        query = ET.Element(roster_ns)
        if ver is not None:
            query.set("ver", ver)
        iq.append(query)
        return (await iq.send(timeout=10)).xml.find(roster_ns)

    raw_pushes: asyncio.Queue[Any] = asyncio.Queue()
    async with Listener(server.core) as xmpp:
        a = await connect(RosterClient(jid(alice), "correct horse"), xmpp.port)
        a.add_event_handler("roster_update", lambda iq: raw_pushes.put_nowait(iq.xml))
        try:
            features = a.features
            print(f"stream features after bind: {sorted(features)}")
            assert "rosterver" in features
            await a.update_roster(jid(bob), name="Bob")
            await asyncio.wait_for(raw_pushes.get(), 10)  # the first change, pushed
            first = await get(a, "")
            version = first.get("ver")
            assert version and [i.get("jid") for i in first] == [jid(bob)]
            assert await get(a, version) is None, "a current cache gets an empty result"
            await a.update_roster(jid(carol), name="Carol")
            push = await asyncio.wait_for(raw_pushes.get(), 10)
            pushed_ver = push.find(roster_ns).get("ver")
            assert pushed_ver and pushed_ver != version
            changed = await get(a, version)
            assert changed is not None and changed.get("ver") not in (None, version)
            assert sorted(i.get("jid") for i in changed) == sorted([jid(bob), jid(carol)])
            again = await get(a, pushed_ver)  # what a client keeps from the push
            assert again is not None and len(again) == 2
            plain = await get(a, None)
            assert plain.get("ver") is None and len(plain) == 2
        finally:
            await close(a)
