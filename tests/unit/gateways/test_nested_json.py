"""Each pure protocol parser refuses hostile nesting through the one reader
(:mod:`tidings.jsonbody`) with its own protocol's error, never RecursionError."""

from __future__ import annotations

import pytest

from tidings import jsonbody
from tidings.gateways.bayeux.messages import BadRequest
from tidings.gateways.bayeux.messages import parse_json as parse_bayeux
from tidings.gateways.gms.protocol import parse_params as parse_gms
from tidings.gateways.realtime.protocol import ProtocolError, parse_command

DEPTHS = [jsonbody.MAX_DEPTH + 1, 2_000, 30_000]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", DEPTHS)
def test_native_frame(depth: int) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_command('{"type": "ping", "ref": "r", "x": ' + nested(depth) + "}")
    assert error.value.code == "too_deep"


@pytest.mark.parametrize("depth", DEPTHS)
def test_bayeux_body(depth: int) -> None:
    """bayeux-server §2.3: not Bayeux at all, so the transport answers 400."""
    with pytest.raises(BadRequest, match="nest"):
        parse_bayeux(nested(depth))
    with pytest.raises(BadRequest, match="nest"):
        parse_bayeux('[{"channel": "/a", "data": ' + nested(depth) + "}]")


@pytest.mark.parametrize("depth", DEPTHS)
def test_gms_params(depth: int) -> None:
    """Hostile JSON is not mistaken for a form body: the route answers 400 (§1.5)."""
    with pytest.raises(jsonbody.TooDeep):
        parse_gms("", ('{"a": ' + nested(depth) + "}").encode(), "application/json")


def test_shallow_input_still_parses() -> None:
    assert parse_command('{"type": "ping", "ref": "r"}').ref == "r"
    assert parse_bayeux('{"channel": "/meta/handshake"}') == [{"channel": "/meta/handshake"}]
    assert parse_gms("", b'{"a": [1, 2]}', "application/json") == {"a": "[1,2]"}
