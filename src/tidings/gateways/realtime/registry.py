"""Which live connections of this process hear which domain event.

One registry per process subscribes to the bus once and fans each event out to
the connections it holds for ``event.recipients`` (or, for ``event.everyone``,
to every connection of ``event.app_id``). The event is encoded once, and each
connection only gets the text pushed onto its bounded outbox: the bus runs its
handlers one at a time, so nothing here may wait on a client.

A connection whose outbox is full is dropped (close code 1013, "too slow")
rather than allowed to hold everyone else back. The registry never touches a
socket or the clock; connections are anything shaped like :class:`Subscriber`.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from tidings.fanout import FanoutIndex
from tidings.gateways.realtime.protocol import encode_event

#: RFC 6455 §7.4.1 "Try Again Later", used here for a client that reads too slowly.
CLOSE_TOO_SLOW = 1013

log = logging.getLogger("tidings.gateways.realtime")


class Subscriber(Protocol):
    """One live connection as the registry sees it."""

    app_id: int
    user_id: int

    def push(self, frame: str) -> bool:
        """Queue ``frame`` without waiting; False if the outbox is full."""

    def kick(self, code: int, reason: str) -> None:
        """Ask the connection to close itself with ``code`` (without waiting)."""


class ConnectionRegistry(FanoutIndex[Subscriber]):
    """Live WebSocket connections of this process, fed from the bus."""

    def connections(self) -> list[Subscriber]:
        return self.members()

    def push(self, conn: Subscriber, frame: str) -> bool:
        """Queue ``frame`` for ``conn``, dropping the connection if it cannot keep up."""
        if conn.push(frame):
            return True
        log.warning(
            "dropping a realtime client that reads too slowly",
            extra={"app_id": conn.app_id, "user_id": conn.user_id},
        )
        self.remove(conn)
        conn.kick(CLOSE_TOO_SLOW, "too slow")
        return False

    async def deliver(self, event: Any) -> None:
        """The bus handler: encode once, queue for every target, never wait."""
        targets = self.targets(event)
        if not targets:
            return
        frame = encode_event(event.name, event.to_dict())
        for conn in targets:
            self.push(conn, frame)
