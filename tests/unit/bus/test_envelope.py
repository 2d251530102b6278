"""Envelopes: numbered per publisher, so a batch published twice is heard once."""

from __future__ import annotations

import json

import pytest

from tidings.bus.base import encode_event
from tidings.bus.envelope import Numbering, unwrap, wrap_event, wrap_gap
from tidings.domain.events import TypingChanged


def typing_event(user_id: int) -> TypingChanged:
    return TypingChanged(app_id=1, recipients=(7,), dialog_id="d1", user_id=user_id, typing=True)


def test_an_event_survives_the_envelope() -> None:
    text = wrap_event("node-a", 3, encode_event(typing_event(1)))
    envelope = unwrap(text)
    assert json.loads(text)["origin"] == "node-a"
    assert (envelope.origin, envelope.n, envelope.event) == ("node-a", 3, typing_event(1))
    assert envelope.gap_since_ms is None


def test_a_gap_notice_carries_its_time() -> None:
    envelope = unwrap(wrap_gap("node-a", 4, 1_700_000_000_000))
    assert envelope.event is None and envelope.gap_since_ms == 1_700_000_000_000


def test_a_bare_event_is_still_heard() -> None:
    envelope = unwrap(encode_event(typing_event(2)))
    assert envelope.origin is None and envelope.event == typing_event(2)
    assert Numbering().is_new(envelope)


@pytest.mark.parametrize(
    "text",
    [b"[]", b'{"origin": 5, "n": 1, "event": {}}', b'{"origin": "a", "n": 1, "gap_since_ms": "x"}'],
)
def test_malformed_envelopes_are_refused(text: bytes) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        unwrap(text)


def test_a_batch_published_again_is_heard_once_per_publisher() -> None:
    numbering = Numbering()
    first_try = [unwrap(wrap_event("a", n, encode_event(typing_event(n)))) for n in (1, 2, 3)]
    retry = [unwrap(wrap_event("a", n, encode_event(typing_event(n)))) for n in (1, 2, 3, 4)]
    other = unwrap(wrap_event("b", 1, encode_event(typing_event(9))))
    heard = [e.n for e in first_try + retry if numbering.is_new(e)]
    assert heard == [1, 2, 3, 4]
    assert numbering.is_new(other), "numbers are per publisher"
