"""BayeuxServer without sockets: messages in, replies/holds/deadlines out (bayeux-server §9)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tidings.gateways.bayeux import channels
from tidings.gateways.bayeux.advice import BayeuxConfig
from tidings.gateways.bayeux.messages import BadRequest, parse_form, parse_json
from tidings.gateways.bayeux.protocol import BayeuxServer, Published, Removed, ServiceCalled
from tidings.gateways.bayeux.state import ClientState, Trigger, next_state

PURE = (
    "messages.py",
    "channels.py",
    "state.py",
    "clients.py",
    "meta.py",
    "advice.py",
    "protocol.py",
)


@pytest.mark.parametrize("name", PURE)
def test_protocol_modules_import_only_stdlib_and_each_other(name: str) -> None:
    """STYLE rule 1: the Bayeux state machine is sans-I/O."""
    path = Path(__file__).resolve().parents[4] / "src/tidings/gateways/bayeux" / name
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for module in names:
            root = module.split(".")[0]
            # ... and the shared pure helpers (tests/unit/test_layers.py checks them).
            assert root in sys.stdlib_module_names or module.startswith(
                ("tidings.gateways.bayeux", "tidings.jsonbody", "tidings.gcra")
            ), module
            assert root != "asyncio", module


def handshake(server: BayeuxServer, now: int = 0, **extra) -> str:
    out = server.handle(
        [
            {
                "id": "1",
                "channel": "/meta/handshake",
                "version": "1.0",
                "supportedConnectionTypes": ["long-polling"],
                **extra,
            }
        ],
        now,
    )
    (reply,) = out.replies
    assert reply["successful"] is True and reply["id"] == "1"
    assert reply["supportedConnectionTypes"] == ["websocket", "long-polling"]
    assert reply["advice"] == {"reconnect": "retry", "interval": 0, "timeout": 30000}
    assert reply["clientId"].isalnum() and len(reply["clientId"]) >= 26
    return reply["clientId"]


def test_first_connect_is_answered_at_once_and_the_next_is_held() -> None:
    """§9.3 / §4.3: first connect never held; next held timeout - margin."""
    server = BayeuxServer()
    cid = handshake(server)
    first = server.handle(
        [
            {
                "id": "2",
                "channel": "/meta/connect",
                "clientId": cid,
                "connectionType": "long-polling",
                "advice": {"timeout": 0},
            }
        ],
        0,
    )
    assert first.hold is None and first.replies[0]["successful"] is True
    assert first.replies[0]["advice"]["reconnect"] == "retry"
    second = server.handle(
        [
            {
                "id": "3",
                "channel": "/meta/connect",
                "clientId": cid,
                "connectionType": "long-polling",
            }
        ],
        10,
    )
    assert second.hold is not None and second.hold.deadline == 10 + 29_000
    assert server.complete(cid, second.hold.token, 20) == [
        {
            "id": "3",
            "channel": "/meta/connect",
            "successful": True,
            "advice": {"reconnect": "retry", "interval": 0, "timeout": 30000},
        }
    ]


def test_client_timeout_zero_and_a_queued_delivery_mean_no_hold() -> None:
    server = BayeuxServer()
    cid = handshake(server)
    server.handle([{"channel": "/meta/connect", "clientId": cid}], 0)  # DDComet: no id/type
    zero = server.handle(
        [{"channel": "/meta/connect", "clientId": cid, "advice": {"timeout": 0}}], 1
    )
    assert zero.hold is None and "id" not in zero.replies[0]
    server.handle([{"channel": "/meta/subscribe", "clientId": cid, "subscription": "/t/*"}], 2)
    server.publish("/t/a", {"x": 1})
    out = server.handle([{"id": "9", "channel": "/meta/connect", "clientId": cid}], 3)
    assert out.hold is None
    assert out.replies[0] == {"channel": "/t/a", "data": {"x": 1}}
    assert out.replies[1]["id"] == "9"


def test_a_newer_connect_supersedes_the_held_one() -> None:
    server = BayeuxServer()
    cid = handshake(server)
    server.handle([{"channel": "/meta/connect", "clientId": cid}], 0)
    held = server.handle([{"id": "a", "channel": "/meta/connect", "clientId": cid}], 1).hold
    newer = server.handle([{"id": "b", "channel": "/meta/connect", "clientId": cid}], 2)
    assert newer.released == [(cid, held.token)]
    assert server.complete(cid, held.token, 3)[-1]["successful"] is True


def test_deliveries_never_carry_id_clientid_or_successful() -> None:
    """§9.7: colliding publisher ids never leak into deliveries."""
    server = BayeuxServer()
    a, b = handshake(server), handshake(server)
    for cid in (a, b):
        server.handle(
            [
                {
                    "id": "2",
                    "channel": "/meta/subscribe",
                    "clientId": cid,
                    "subscription": "/room/**",
                }
            ],
            0,
        )
    out = server.handle([{"id": "2", "channel": "/room/x", "clientId": a, "data": {"n": 1}}], 0)
    assert out.replies == [{"id": "2", "channel": "/room/x", "successful": True}]
    assert out.events == [Published(a, "/room/x", {"n": 1}, None)]
    server.publish("/room/x", {"n": 1})
    for cid in (a, b):
        assert server.take(cid) == [{"channel": "/room/x", "data": {"n": 1}}]


def test_expiry_after_interval_plus_max_interval() -> None:
    """§9.8: no connect for max_interval -> removed; then 402 with handshake advice."""
    server = BayeuxServer()
    cid = handshake(server, now=0)
    server.handle([{"channel": "/meta/connect", "clientId": cid}], 0)
    assert server.expire(9_999) == []
    assert server.expire(10_000) == [Removed(cid, "expired", None, {})]
    out = server.handle([{"id": "5", "channel": "/meta/connect", "clientId": cid}], 10_001)
    assert out.replies == [
        {
            "id": "5",
            "channel": "/meta/connect",
            "successful": False,
            "error": "402::Unknown client",
            "advice": {"reconnect": "handshake", "interval": 0},
        }
    ]


def test_disconnect_from_unknown_client_succeeds_and_passes_ext_up() -> None:
    """§9.9 / GMS §7.4: background disconnect with an old clientId."""
    server = BayeuxServer()
    out = server.handle(
        [
            {
                "id": "9",
                "channel": "/meta/disconnect",
                "clientId": "gone",
                "ext": {"transcriptPosition": "4"},
            }
        ],
        0,
    )
    assert out.replies == [{"id": "9", "channel": "/meta/disconnect", "successful": True}]
    assert out.events[0].ext == {"transcriptPosition": "4"}


def test_disconnect_completes_a_held_connect_with_reconnect_none() -> None:
    server = BayeuxServer()
    cid = handshake(server)
    server.handle([{"channel": "/meta/connect", "clientId": cid}], 0)
    held = server.handle([{"id": "c", "channel": "/meta/connect", "clientId": cid}], 1).hold
    out = server.handle([{"id": "d", "channel": "/meta/disconnect", "clientId": cid}], 2)
    assert out.released == [(cid, held.token)]
    assert server.complete(cid, held.token, 3)[-1]["advice"] == {"reconnect": "none"}


def test_errors_meta_subscribe_publish_bad_channel_and_unknown_transport() -> None:
    """§9.10 and §3.6 error strings."""
    server = BayeuxServer()
    cid = handshake(server)
    out = server.handle(
        [
            {"id": "1", "channel": "/meta/subscribe", "clientId": cid, "subscription": "/meta/x"},
            {"id": "2", "channel": "/meta/x", "clientId": cid, "data": {}},
            {"id": "3", "channel": "/bad channel", "clientId": cid, "data": {}},
            {"id": "4", "channel": "/meta/subscribe", "clientId": cid, "subscription": "/a/*/b"},
            {"id": "5", "channel": "/meta/subscribe", "subscription": "/a"},
        ],
        0,
    )
    assert [r.get("error") for r in out.replies] == [
        "403:/meta/x:Subscription denied",
        "403:/meta/x:Publish denied",
        "400::Bad message",
        "400::Bad message",
        "402::Unknown client",
    ]
    assert out.replies[0]["subscription"] == "/meta/x"
    refused = server.handle(
        [
            {
                "id": "1",
                "channel": "/meta/handshake",
                "version": "1.0",
                "supportedConnectionTypes": ["callback-polling"],
            }
        ],
        0,
    )
    assert refused.replies[0]["error"] == "406::Unsupported connection type"
    assert refused.replies[0]["advice"] == {"reconnect": "none"}


def test_a_flooding_client_is_refused_and_others_are_untouched() -> None:
    server = BayeuxServer(BayeuxConfig(max_publish_rate=5))
    flooder, quiet = handshake(server), handshake(server)
    server.handle([{"channel": "/meta/subscribe", "clientId": quiet, "subscription": "/f"}], 0)
    out = server.handle(
        [{"id": str(i), "channel": "/f", "clientId": flooder, "data": i} for i in range(8)], 0
    )
    assert [r["successful"] for r in out.replies] == [True] * 5 + [False] * 3
    assert out.replies[-1]["error"] == "403:/f:Publish denied"
    assert len([e for e in out.events if isinstance(e, Published)]) == 5
    assert quiet in server.sessions


def test_queue_overflow_drops_the_session() -> None:
    server = BayeuxServer(BayeuxConfig(max_queue=2))
    cid = handshake(server)
    server.handle([{"channel": "/meta/subscribe", "clientId": cid, "subscription": "/q"}], 0)
    for n in range(3):
        server.publish("/q", n)
    assert cid not in server.sessions


def test_service_channels_go_to_the_handler_not_to_subscribers() -> None:
    server = BayeuxServer()
    cid = handshake(server)
    out = server.handle(
        [
            {
                "id": "7",
                "channel": "/service/chatV2/x",
                "clientId": cid,
                "data": {"operation": "requestChat"},
            }
        ],
        0,
    )
    assert out.events == [
        ServiceCalled(cid, "/service/chatV2/x", {"operation": "requestChat"}, None)
    ]
    assert out.replies == [{"id": "7", "channel": "/service/chatV2/x", "successful": True}]


def test_a_handshake_request_processes_only_the_handshake() -> None:
    server = BayeuxServer()
    out = server.handle(
        [
            {"channel": "/meta/handshake", "version": "1.0beta"},
            {"channel": "/meta/connect", "clientId": "x"},
        ],
        0,
    )
    assert len(out.replies) == 1 and out.replies[0]["successful"]


def test_bodies_arrays_objects_forms_and_rejects() -> None:
    assert parse_json(b'{"channel":"/a"}') == [{"channel": "/a"}]
    assert parse_form(b"message=%5B%7B%22channel%22%3A%22%2Fa%22%7D%5D") == [{"channel": "/a"}]
    for bad in (b"[]", b"nope", b"[{}]", b"[1]"):
        with pytest.raises(BadRequest):
            parse_json(bad)


def test_globbing() -> None:
    assert channels.matches("/foo/*", "/foo/bar")
    assert not channels.matches("/foo/*", "/foo/bar/baz")
    assert channels.matches("/foo/**", "/foo/bar/baz")
    assert not channels.matches("/foo/**", "/foo")
    assert not channels.matches("/foo/*", "/foo")
    assert channels.is_valid("/svc/a.b") and not channels.is_valid("/a//b")


def test_state_table() -> None:
    assert next_state(ClientState.HANDSHAKEN, Trigger.CONNECT) is ClientState.CONNECTED
    assert next_state(ClientState.CONNECTED, Trigger.EXPIRE) is ClientState.GONE
    assert next_state(ClientState.GONE, Trigger.CONNECT) is ClientState.GONE
