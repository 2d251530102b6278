"""The benchmark's load generator (bench/xmpp_load.py) against tidings, at a tiny scale.

Keeps the driver working between benchmark runs: STARTTLS, SASL PLAIN with a
session token, 1-1 chat at an offered rate and room fan-out, with its
exactly-once checks. Nothing here asserts a time.
"""

from __future__ import annotations

import pytest
from bench import xmpp_load as X

from tests.integration.xmpp_helpers import Listener
from tidings.domain.models import Actor


async def test_driver_chats_and_fans_out_through_tidings(server) -> None:
    app, first, first_token = await server.new_user()
    users = [(first, first_token)]
    for _ in range(5):
        _, user, token = await server.new_user(app)
        users.append((user, token))
    accounts = [
        X.Account(f"{u.id}-{app.id}", token, f"{u.id}-{app.id}@localhost") for u, token in users
    ]
    group = await server.core.dialogs.create_dialog(
        Actor(app.id, first.id), "group", occupant_ids=[u.id for u, _ in users[1:4]], name="bench"
    )
    room = f"{app.id}_{group.id}@muc.localhost"
    async with Listener(server.core) as xmpp:
        clients = await X.connect_many("127.0.0.1", xmpp.port, "localhost", accounts, tls=True)
        try:
            assert len(clients) == 6
            assert all(
                c.full_jid.startswith(a.jid + "/") for c, a in zip(clients, accounts, strict=True)
            )
            pairs = list(zip(clients[:3], clients[3:], strict=True))
            result = await X.chat_at_rate(pairs, rate=30, seconds=0.5, drain=20)
            assert result.sent == 15
            assert result.delivered == result.sent and result.lost == 0
            latencies, last = await X.fan_out(clients[0], clients[:4], room, messages=3)
            assert len(latencies) == 3 * 4 and len(last) == 3
        finally:
            await X.close_all(clients)


def test_tally_rejects_a_duplicate() -> None:
    tally = X.Tally()
    on_message = tally.handler(0)
    stanza = X.Node("message", {"type": "chat"}, [X.Node("body", {}, text=X.body(7))])
    on_message(stanza)
    with pytest.raises(AssertionError, match="arrived twice"):
        on_message(stanza)
