"""Contact list over XMPP with slixmpp (RFC 6121 §2-3 roster and presence subscription)
and the XEP-0313 archive, both through the core."""

from __future__ import annotations

import asyncio
from typing import Any

from slixmpp import JID

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
    """Seed "Contact list": A asks B (B gets the request), B confirms (A is told, both
    rosters say both), A sees B go offline, A removes B; then a rejected request."""
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
            await _next(a.presences, lambda p: p == ("unsubscribed", jid(bob)))  # the removal
            b = await connect(RosterClient(jid(bob), "correct horse"), xmpp.port)
            a.send_presence(pto=jid(bob), ptype="subscribe")
            await _next(b.presences, lambda p: p == ("subscribe", jid(alice)))
            b.send_presence(pto=jid(alice), ptype="unsubscribed")
            await _next(a.presences, lambda p: p == ("unsubscribed", jid(bob)))
            assert bob.id not in await _statuses(server, alice)
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
    stored = [(await rest.send_message(dialog["id"], f"note {i}"))["id"] for i in range(3)]
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
