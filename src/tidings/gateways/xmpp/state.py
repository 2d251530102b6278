"""The c2s stream's states and every transition between them (RFC 6120 §4-§7).

As in h11's ``_state.py``, every input that moves the stream lives in this table;
:mod:`protocol` only looks transitions up. A trigger absent from the table for
the current state is a protocol violation by the peer.

    OPENING --stream-open(unauthenticated)--> AUTHENTICATING
    AUTHENTICATING --tls-done / auth-ok--> OPENING   (the stream restarts)
    OPENING --stream-open(authenticated)--> BINDING
    BINDING --bound / resumed--> READY
    any --close / error--> CLOSED
"""

from __future__ import annotations

import enum


class StreamState(enum.Enum):
    OPENING = "opening"
    AUTHENTICATING = "authenticating"
    BINDING = "binding"
    READY = "ready"
    CLOSED = "closed"


class Trigger(enum.Enum):
    OPENED = "opened"
    OPENED_AUTHENTICATED = "opened-authenticated"
    TLS_DONE = "tls-done"
    AUTH_OK = "auth-ok"
    BOUND = "bound"
    RESUMED = "resumed"
    CLOSE = "close"


S, T = StreamState, Trigger

TRANSITIONS: dict[tuple[StreamState, Trigger], StreamState] = {
    (S.OPENING, T.OPENED): S.AUTHENTICATING,
    (S.OPENING, T.OPENED_AUTHENTICATED): S.BINDING,
    (S.AUTHENTICATING, T.TLS_DONE): S.OPENING,
    (S.AUTHENTICATING, T.AUTH_OK): S.OPENING,
    (S.BINDING, T.BOUND): S.READY,
    (S.BINDING, T.RESUMED): S.READY,
    **{(state, T.CLOSE): S.CLOSED for state in StreamState},
}

#: What the peer may send in each state, by element kind; anything else is refused.
ACCEPTS: dict[StreamState, frozenset[str]] = {
    S.OPENING: frozenset({"open"}),
    S.AUTHENTICATING: frozenset({"starttls", "auth", "response", "abort"}),
    S.BINDING: frozenset({"bind", "resume", "session"}),
    S.READY: frozenset({"stanza", "sm", "csi", "session"}),
    S.CLOSED: frozenset(),
}


class InvalidTransition(Exception):
    """We (not the peer) drove the stream wrongly: a bug in the caller."""


def next_state(state: StreamState, trigger: Trigger) -> StreamState:
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise InvalidTransition(f"{trigger.value} is not possible in {state.value}") from None
