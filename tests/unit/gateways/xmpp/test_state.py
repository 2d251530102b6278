"""The stream state table, without a parser (STYLE §2)."""

from __future__ import annotations

import pytest

from tidings.gateways.xmpp.state import InvalidTransition, StreamState, Trigger, next_state

S, T = StreamState, Trigger


def test_the_happy_path() -> None:
    state = S.OPENING
    for trigger, expected in [
        (T.OPENED, S.AUTHENTICATING),
        (T.TLS_DONE, S.OPENING),
        (T.OPENED, S.AUTHENTICATING),
        (T.AUTH_OK, S.OPENING),
        (T.OPENED_AUTHENTICATED, S.BINDING),
        (T.BOUND, S.READY),
        (T.CLOSE, S.CLOSED),
    ]:
        state = next_state(state, trigger)
        assert state is expected


def test_resume_replaces_bind() -> None:
    assert next_state(S.BINDING, T.RESUMED) is S.READY


@pytest.mark.parametrize(
    ("state", "trigger"),
    [(S.OPENING, T.BOUND), (S.READY, T.AUTH_OK), (S.AUTHENTICATING, T.BOUND), (S.CLOSED, T.OPENED)],
)
def test_impossible_transitions(state: StreamState, trigger: Trigger) -> None:
    with pytest.raises(InvalidTransition):
        next_state(state, trigger)


def test_every_state_can_close() -> None:
    for state in StreamState:
        assert next_state(state, T.CLOSE) is S.CLOSED
