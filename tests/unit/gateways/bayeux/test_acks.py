"""The CometD ack extension in the sans-I/O server (docs/bayeux.md "Acknowledged delivery")."""

from __future__ import annotations

import json
from typing import Any

from tidings.gateways.bayeux.protocol import BayeuxServer


def handshake(server: BayeuxServer, ext: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    out = server.handle(
        [
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "supportedConnectionTypes": ["long-polling"],
                "ext": ext,
            }
        ],
        0,
    )
    return out.replies[0]["clientId"], out.replies[0]


def connect(server: BayeuxServer, cid: str, ack: Any = None, timeout: int | None = 0):
    message: dict[str, Any] = {
        "channel": "/meta/connect",
        "clientId": cid,
        "connectionType": "long-polling",
    }
    if timeout is not None:
        message["advice"] = {"timeout": timeout}
    if ack is not None:
        message["ext"] = {"ack": ack}
    return server.handle([message], 0)


def data(replies: list[dict[str, Any]]) -> list[Any]:
    return [r["data"] for r in replies if not r["channel"].startswith("/meta/")]


def batch(replies: list[dict[str, Any]]) -> Any:
    return next(r for r in replies if r["channel"] == "/meta/connect").get("ext", {}).get("ack")


def subscribed_session(server: BayeuxServer, ext: dict[str, Any]) -> str:
    cid, _ = handshake(server, ext)
    connect(server, cid, 0)
    server.handle([{"channel": "/meta/subscribe", "clientId": cid, "subscription": "/a/*"}], 0)
    return cid


def test_handshake_agrees_only_when_asked() -> None:
    server = BayeuxServer()
    _, with_ack = handshake(server, {"ack": True})
    _, without = handshake(server, {})
    assert with_ack["ext"] == {"ack": True}
    assert "ext" not in without


def test_unacknowledged_batch_is_sent_again_and_an_acknowledged_one_never() -> None:
    server = BayeuxServer()
    cid = subscribed_session(server, {"ack": True})
    server.publish("/a/b", 1)
    server.publish("/a/b", 2)
    assert server.take(cid) == [], "ack sessions get deliveries only in connect replies"
    first = connect(server, cid, 1).replies
    assert data(first) == [1, 2]
    lost = batch(first)
    # The reply never arrived: the client still acknowledges the batch before it.
    again = connect(server, cid, lost - 1).replies
    assert data(again) == [1, 2]
    server.publish("/a/b", 3)
    after = connect(server, cid, batch(again)).replies
    assert data(after) == [3]
    assert connect(server, cid, batch(after), timeout=None).hold is not None, "nothing left"


def test_without_ack_number_everything_outstanding_is_sent_again() -> None:
    server = BayeuxServer()
    cid = subscribed_session(server, {"ack": True})
    server.publish("/a/b", 1)
    assert data(connect(server, cid, 1).replies) == [1]
    assert data(connect(server, cid, "x").replies) == [1]


def test_plain_session_keeps_at_most_once() -> None:
    server = BayeuxServer()
    cid = subscribed_session(server, {})
    server.publish("/a/b", 1)
    first = connect(server, cid).replies
    assert data(first) == [1] and batch(first) is None
    assert connect(server, cid, timeout=None).hold is not None


def test_unacknowledged_batch_moves_with_the_session() -> None:
    one, two = BayeuxServer(), BayeuxServer()
    cid = subscribed_session(one, {"ack": True})
    one.publish("/a/b", "x")
    lost = batch(connect(one, cid, 1).replies)
    dump, _ = one.export(cid)
    assert dump is not None
    moved = two.adopt(json.loads(json.dumps(dump)), 0)
    assert moved.ack is True
    again = connect(two, cid, lost - 1).replies
    assert data(again) == ["x"]
    assert batch(again) > lost
