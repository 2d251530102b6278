"""What the Bayeux gateway tells its instances on other nodes, through the bus.

A publish on an application channel must reach the subscribers held by every
node, and a session moves to whichever node its client's next request reached.
Neither is domain state, so the core carries them as an opaque
:class:`~tidings.domain.events.GatewayRelay` addressed to this gateway; this
module turns the gateway's three notes into relays and back (sans-I/O).

- :class:`CometPublished`: ``data`` published on ``channel`` by a client of ``app_id``
  (never ``/meta`` or ``/service``); every node queues it for its own sessions of
  that app only.
- :class:`CometSessionWanted`: node ``node`` got a request for ``client_id``, which
  it does not hold.
- :class:`CometSessionMoved`: the holder gave the session (subscriptions,
  attributes, queue) to ``node``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.domain.events import Event, GatewayRelay

#: The ``gateway`` field of our relays; other gateways' relays are not ours to read.
GATEWAY = "bayeux"


@dataclass(frozen=True, slots=True)
class CometPublished:
    app_id: int
    channel: str
    data: Any


@dataclass(frozen=True, slots=True)
class CometSessionWanted:
    client_id: str
    node: str


@dataclass(frozen=True, slots=True)
class CometSessionMoved:
    client_id: str
    node: str
    session: dict[str, Any]


Note = CometPublished | CometSessionWanted | CometSessionMoved


def to_event(note: Note) -> GatewayRelay:
    if isinstance(note, CometPublished):
        payload = {"channel": note.channel, "data": note.data}
        return GatewayRelay(app_id=note.app_id, gateway=GATEWAY, topic="published", payload=payload)
    if isinstance(note, CometSessionWanted):
        payload = {"client_id": note.client_id, "node": note.node}
        return GatewayRelay(app_id=0, gateway=GATEWAY, topic="session_wanted", payload=payload)
    payload = {"client_id": note.client_id, "node": note.node, "session": note.session}
    return GatewayRelay(app_id=0, gateway=GATEWAY, topic="session_moved", payload=payload)


def from_event(event: Event) -> Note | None:
    """Our note, or None for any other event (or a relay of a newer node we cannot read)."""
    if not isinstance(event, GatewayRelay) or event.gateway != GATEWAY:
        return None
    p = event.payload
    try:
        if event.topic == "published":
            return CometPublished(app_id=event.app_id, channel=str(p["channel"]), data=p["data"])
        if event.topic == "session_wanted":
            return CometSessionWanted(client_id=str(p["client_id"]), node=str(p["node"]))
        if event.topic == "session_moved":
            return CometSessionMoved(
                client_id=str(p["client_id"]), node=str(p["node"]), session=dict(p["session"])
            )
    except (KeyError, TypeError, ValueError):
        return None
    return None
