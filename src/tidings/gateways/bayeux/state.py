"""Client session states and their transitions, as one table (bayeux-server §4.1).

``HANDSHAKEN`` after a successful handshake; ``CONNECTED`` once a connect was
answered or is held; ``GONE`` after disconnect, expiry or queue overflow. A gone
session is forgotten: any later request for it gets ``402::Unknown client``.
"""

from __future__ import annotations

import enum


class ClientState(enum.Enum):
    HANDSHAKEN = "handshaken"
    CONNECTED = "connected"
    GONE = "gone"


class Trigger(enum.Enum):
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    EXPIRE = "expire"
    OVERFLOW = "overflow"


TRANSITIONS: dict[tuple[ClientState, Trigger], ClientState] = {
    (ClientState.HANDSHAKEN, Trigger.CONNECT): ClientState.CONNECTED,
    (ClientState.CONNECTED, Trigger.CONNECT): ClientState.CONNECTED,
    (ClientState.HANDSHAKEN, Trigger.DISCONNECT): ClientState.GONE,
    (ClientState.CONNECTED, Trigger.DISCONNECT): ClientState.GONE,
    (ClientState.HANDSHAKEN, Trigger.EXPIRE): ClientState.GONE,
    (ClientState.CONNECTED, Trigger.EXPIRE): ClientState.GONE,
    (ClientState.HANDSHAKEN, Trigger.OVERFLOW): ClientState.GONE,
    (ClientState.CONNECTED, Trigger.OVERFLOW): ClientState.GONE,
}


def next_state(state: ClientState, trigger: Trigger) -> ClientState:
    """The state after ``trigger``; a gone session stays gone."""
    return TRANSITIONS.get((state, trigger), ClientState.GONE)
