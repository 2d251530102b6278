"""Sessions bound to the identity of their handshake, and channels a caller may not read.

The pure server, fed what a transport would: one app's phone, another app's, and
requests that name someone else's ``clientId`` (docs/bayeux.md: tenants).
"""

from __future__ import annotations

import pytest

from tidings.gateways.bayeux import channels
from tidings.gateways.bayeux.protocol import BayeuxServer, Published

ANA = {"app_id": "1", "gms_user": "anon:ana"}
BOB = {"app_id": "1", "gms_user": "anon:bob"}
OTHER_APP = {"app_id": "2"}


def handshake(server: BayeuxServer, identity: dict[str, str]) -> str:
    out = server.handle([{"channel": "/meta/handshake", "version": "1.0"}], 0, attributes=identity)
    assert out.clients == {out.replies[0]["clientId"]}
    return out.replies[0]["clientId"]


def one(server: BayeuxServer, message: dict, identity: dict[str, str]) -> dict:
    out = server.handle([message], 0, attributes=identity)
    return out.replies[0]


def test_a_client_id_is_unknown_to_other_credentials() -> None:
    """§3.4: the clientId is a bearer credential, but not across identities."""
    server = BayeuxServer()
    ana = handshake(server, ANA)
    server.handle([{"channel": "/meta/connect", "clientId": ana}], 0, attributes=ANA)
    one(server, {"channel": "/meta/subscribe", "clientId": ana, "subscription": "/_genesys"}, {})
    server.deliver(ana, "/_genesys", {"secret": "ana's"})
    for thief in (BOB, OTHER_APP, {"app_id": ""}, {"gms_user": "anon:ana"} | {"app_id": "2"}):
        for message in (
            {"channel": "/meta/connect", "clientId": ana},
            {"channel": "/meta/subscribe", "clientId": ana, "subscription": "/x"},
            {"channel": "/x", "clientId": ana, "data": 1},
        ):
            out = server.handle([message], 0, attributes=thief)
            assert out.replies[0]["error"].startswith("402"), (thief, message)
            assert out.clients == set() and out.hold is None
        bye = one(server, {"channel": "/meta/disconnect", "clientId": ana}, thief)
        assert bye["successful"] is True, "idempotent, as for an unknown client (§4.4)"
        assert ana in server.sessions, "but the session is not ended by a stranger"
    assert server.sessions[ana].attributes == ANA, "nobody rebinds it"
    # Its owner, with or without credentials (WebSocket frames carry none), still can,
    # and the delivery nobody else could take is waiting for it.
    got = []
    for identity in (ANA, {}, {"app_id": "1"}):
        out = server.handle([{"channel": "/meta/connect", "clientId": ana}], 0, attributes=identity)
        assert out.clients == {ana}
        got += [r for r in out.replies if "data" in r]
    assert got == [{"channel": "/_genesys", "data": {"secret": "ana's"}}]


@pytest.mark.parametrize(
    "pattern", ["/**", "/*", "/_genesys/**", "/_genesys/*", "/service/**", "/service/chatV2/*"]
)
def test_wildcards_reaching_reserved_channels_are_refused(pattern: str) -> None:
    server = BayeuxServer()
    cid = handshake(server, ANA)
    reply = one(
        server,
        {"id": "5", "channel": "/meta/subscribe", "clientId": cid, "subscription": [pattern]},
        ANA,
    )
    assert reply["successful"] is False
    assert reply["error"] == f"403:{pattern}:Subscription denied"
    assert reply["subscription"] == [pattern]
    assert server.sessions[cid].subscriptions == set()


@pytest.mark.parametrize("pattern", ["/_genesys", "/rooms/**", "/rooms/*", "/service/chatV2/x"])
def test_channels_a_caller_may_read_are_accepted(pattern: str) -> None:
    server = BayeuxServer()
    cid = handshake(server, ANA)
    reply = one(
        server, {"channel": "/meta/subscribe", "clientId": cid, "subscription": pattern}, ANA
    )
    assert reply["successful"] is True


def test_nobody_but_the_server_publishes_on_server_channels() -> None:
    server = BayeuxServer()
    cid = handshake(server, ANA)
    out = server.handle(
        [{"channel": "/_genesys", "clientId": cid, "data": {"forged": True}}], 0, attributes=ANA
    )
    assert out.replies[0]["error"] == "403:/_genesys:Publish denied" and out.events == []


def test_broadcasts_stay_in_their_app() -> None:
    server = BayeuxServer()
    ana, other = handshake(server, ANA), handshake(server, OTHER_APP)
    for cid, identity in ((ana, ANA), (other, OTHER_APP)):
        one(
            server,
            {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/r/*"},
            identity,
        )
    out = server.handle([{"channel": "/r/a", "clientId": ana, "data": 1}], 0, attributes=ANA)
    assert out.events == [Published(ana, "/r/a", 1, None, "1")], "the publisher's app travels"
    woken, _ = server.publish("/r/a", 1, "1")
    assert woken == {ana}
    assert server.take(other) == []


def test_reserved_namespaces() -> None:
    assert channels.is_reserved("/_genesys") and channels.is_reserved("/service/chatV2/x")
    assert not channels.covers_reserved("/rooms/**") and not channels.covers_reserved("/_genesys")
