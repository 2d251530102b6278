"""XEP-0352 Client State Indication with slixmpp (its xep_0352 plugin) and XEP-0198 on."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import wait_until
from tests.integration.test_xmpp_presence import _friends, jid
from tests.integration.xmpp_helpers import Client, Listener, close, connect

PASSWORD = "correct horse"


class Phone(Client):
    """Logs every stanza it receives, in order: (kind, detail, from)."""

    def __init__(self, jid_text: str) -> None:
        super().__init__(jid_text, PASSWORD, sm=True)
        self.register_plugin("xep_0352")
        self.log: list[tuple[str, str, str]] = []
        self.csi_offered = asyncio.Event()
        self.sm_on = asyncio.Event()
        self.add_event_handler("csi_enabled", lambda _f: self.csi_offered.set())
        self.add_event_handler("sm_enabled", lambda _e: self.sm_on.set())
        self.add_filter("in", self._record)

    def _record(self, stanza: Any) -> Any:
        if stanza.name == "presence":
            self.log.append(("presence", stanza["show"] or stanza["type"], str(stanza["from"])))
        elif stanza.name == "message":
            state = stanza["chat_state"]
            detail = stanza["body"] or (f"state:{state}" if state else "other")
            self.log.append(("message", detail, str(stanza["from"].bare)))
        return stanza

    async def barrier(self) -> None:
        """XEP-0352 §5.1: the server handles our elements in order, so once this ping
        is answered, everything we sent before it was processed (and, XEP-0198, all the
        server wrote before the answer has been handled here)."""
        await self.plugin["xep_0199"].send_ping("localhost", timeout=10)


def _server_session(xmpp: Listener, client: Client) -> Any:
    sessions = [
        s for s in xmpp.server.gateway.registry.sessions() if str(s.jid) == str(client.boundjid)
    ]
    assert len(sessions) == 1
    return sessions[0]


def _from(log: list[tuple[str, str, str]], sender: str) -> list[tuple[str, str]]:
    return [(kind, detail) for kind, detail, who in log if who.startswith(sender)]


async def test_inactive_holds_presence_and_chat_states_until_active(server) -> None:
    """§4.1 the feature; §4.2 inactive: a contact's presence changes and chat states
    wait (the latest of each), a message with a body comes at once, after what was
    held; active releases everything; XEP-0198 counts only what was written."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    await _friends(server, alice, bob)
    async with Listener(server.core) as xmpp:
        a, b = Phone(jid(alice, "phone")), Client(jid(bob, "desk"), PASSWORD)
        await connect(a, xmpp.port)
        await asyncio.wait_for(a.sm_on.wait(), 10)
        await asyncio.wait_for(a.csi_offered.wait(), 10)  # §4.1: in the stream features
        assert a.plugin["xep_0352"].enabled
        await connect(b, xmpp.port)
        bob_bare = jid(bob)
        try:
            await wait_until(lambda: ("presence", "available") in _from(a.log, bob_bare))
            session = _server_session(xmpp, a)

            a.plugin["xep_0352"].send_inactive()
            await a.barrier()
            seen = len(a.log)
            b.send_presence(pshow="away")
            b.send_presence(pshow="dnd", pstatus="busy")
            for state in ("composing", "paused"):
                msg = b.make_message(mto=jid(alice), mtype="chat")
                msg["chat_state"] = state
                msg.send()
            await wait_until(lambda: session.csi is not None and len(session.csi) == 2)
            await a.barrier()
            assert _from(a.log[seen:], bob_bare) == [], "held, not written"
            assert session.sm.sent == a.plugin["xep_0198"].handled, "held ones are not counted"

            a.plugin["xep_0352"].send_active()
            await wait_until(lambda: len(_from(a.log[seen:], bob_bare)) == 2)
            await a.barrier()
            assert _from(a.log[seen:], bob_bare) == [
                ("presence", "dnd"),
                ("message", "state:paused"),
            ]
            assert session.sm.sent == a.plugin["xep_0198"].handled

            # Inactive again: a body is important and brings what was held before it.
            a.plugin["xep_0352"].send_inactive()
            await a.barrier()
            seen = len(a.log)
            b.send_presence(pshow="xa")
            await wait_until(lambda: len(session.csi) == 1)
            b.send_message(mto=jid(alice), mbody="call me", mtype="chat")
            got = await asyncio.wait_for(a.messages.get(), 10)
            assert got["body"] == "call me"
            assert _from(a.log[seen:], bob_bare) == [("presence", "xa"), ("message", "call me")]
            await a.barrier()
            assert session.sm.sent == a.plugin["xep_0198"].handled
            # The client's own acks agree: it answers the server's <r/> with what it got.
            await wait_until(lambda: session.sm.sent == a.plugin["xep_0198"].handled)
        finally:
            await close(a, b)


async def test_csi_nonzas_odd_and_early_never_crash_the_stream(server) -> None:
    """An unknown element in the CSI namespace is ignored (§4.2 defines no answer); an
    unknown top-level element is RFC 6120 §4.9.3.22 unsupported-stanza-type."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    async with Listener(server.core) as xmpp:
        a = Phone(jid(alice, "phone"))
        await connect(a, xmpp.port)
        try:
            a.send_raw("<sleepy xmlns='urn:xmpp:csi:0'/>")
            a.send_raw("<active xmlns='urn:xmpp:csi:0'/>")  # active while active: nothing
            await a.barrier()  # still open and answering
            a.send_raw("<frobnicate xmlns='urn:example:nothing'/>")
            condition = await asyncio.wait_for(a.stream_errors.get(), 10)
            assert condition == "unsupported-stanza-type"
        finally:
            await close(a)
