"""A session handed from one node's BayeuxServer to another's (docs/bayeux.md: nodes)."""

from __future__ import annotations

import json

from tidings.gateways.bayeux.protocol import BayeuxServer
from tidings.gateways.bayeux.state import ClientState


def connect(server: BayeuxServer, client_id: str, now: int):
    return server.handle(
        [{"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}],
        now,
    )


def test_export_then_adopt_keeps_subscriptions_queue_and_identity() -> None:
    one, two = BayeuxServer(), BayeuxServer()
    hs = one.handle(
        [
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "supportedConnectionTypes": ["long-polling"],
                "ext": {"gms_user": "ana"},
            }
        ],
        0,
    )
    cid = hs.replies[0]["clientId"]
    assert connect(one, cid, 0).hold is None  # first connect: answered at once
    one.handle([{"channel": "/meta/subscribe", "clientId": cid, "subscription": "/a/*"}], 0)
    held = connect(one, cid, 0).hold
    assert held is not None
    one.publish("/a/b", {"n": 1})

    dump, token = one.export(cid)
    assert token == held.token, "the holder must complete its held connect"
    assert cid not in one.sessions
    assert one.complete(cid, token, 0)[-1]["successful"] is True
    assert one.export(cid) == (None, None)

    moved = two.adopt(json.loads(json.dumps(dump)), 5)  # it crosses the bus as JSON
    assert moved.state is ClientState.CONNECTED and moved.attributes == {"gms_user": "ana"}
    assert [s.id for s in two.sessions_where(gms_user="ana")] == [cid]
    out = connect(two, cid, 5)
    assert out.hold is None, "queued deliveries answer the connect at once"
    assert out.replies[0] == {"channel": "/a/b", "data": {"n": 1}}
    two.publish("/a/c", 2)
    assert two.take(cid) == [{"channel": "/a/c", "data": 2}]
