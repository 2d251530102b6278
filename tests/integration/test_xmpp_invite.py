"""XEP-0249 direct MUC invitations with slixmpp's plugin: the invitation is a message
to the invitee's JID, routed with its ``<x xmlns='jabber:x:conference'/>`` intact to
the live invitee and kept for an offline one; never across apps."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import TestServer
from tests.integration.test_xmpp_chat import jid
from tests.integration.test_xmpp_presence import PASSWORD
from tests.integration.xmpp_helpers import Client, Listener, close, connect

CONFERENCE = "jabber:x:conference"


class Invitee(Client):
    """A client with XEP-0249 that records the invitations it gets."""

    def __init__(self, address: str) -> None:
        super().__init__(address, PASSWORD)
        self.register_plugin("xep_0249")
        self.invites: asyncio.Queue[Any] = asyncio.Queue()
        self.add_event_handler("groupchat_direct_invite", self.invites.put_nowait)


def invitation(message: Any) -> dict[str, str]:
    invite = message["groupchat_invite"]
    return {
        "from": str(message["from"].bare),
        "jid": str(invite["jid"]),
        "reason": invite["reason"],
    }


async def test_direct_invitation_reaches_the_invitee_live_and_offline(server: TestServer) -> None:
    """§2: the server advertises the feature; the invitation reaches a live invitee,
    and one sent while the invitee is offline arrives at the next login; an invite to
    a user of another app reaches nobody and comes back as an error."""
    app, alice, alice_token = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    _, carol, _ = await server.new_user(app, password=PASSWORD)
    _, mallory, _ = await server.new_user(password=PASSWORD)  # another app
    group = await server.client(alice_token).create_dialog("group", [bob.id, carol.id], name="g")
    room = f"{app.id}_{group.id}@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Invitee(jid(alice)), xmpp.port)
        b = await connect(Invitee(jid(bob)), xmpp.port)
        m = await connect(Invitee(jid(mallory)), xmpp.port)
        try:
            info = await a.plugin["xep_0030"].get_info(jid="localhost", timeout=10)
            a.plugin["xep_0249"].send_invitation(jid(bob), room, reason="planning, 5 pm")
            live = invitation(await asyncio.wait_for(b.invites.get(), 10))
            a.plugin["xep_0249"].send_invitation(jid(carol), room, reason="you too")
            a.plugin["xep_0249"].send_invitation(jid(mallory), room, reason="sneaky")
            bounced = await asyncio.wait_for(a.errors.get(), 10)
            c = await connect(Invitee(jid(carol)), xmpp.port)
            try:
                offline = invitation(await asyncio.wait_for(c.invites.get(), 10))
            finally:
                await close(c)
            # A message after the refused invite: once it arrives, the invite would have.
            a.send_message(mto=jid(bob), mbody="barrier")
            await asyncio.wait_for(b.messages.get(), 10)
            stray = m.invites.qsize()
        finally:
            await close(a, b, m)
    print(f"\nlive {live}, offline {offline}, bounced {bounced['error']['condition']}")
    assert CONFERENCE in set(info["disco_info"]["features"])
    assert live == {"from": jid(alice), "jid": room, "reason": "planning, 5 pm"}
    assert offline == {"from": jid(alice), "jid": room, "reason": "you too"}
    assert bounced["type"] == "error" and bounced["from"].bare == jid(mallory)
    assert stray == 0, "no invitation crosses apps"
