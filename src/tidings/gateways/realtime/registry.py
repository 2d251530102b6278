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
from collections.abc import Callable, Iterable
from typing import Any, Protocol

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


class ConnectionRegistry:
    """Live connections by ``(app_id, user_id)`` and by app, fed from the bus."""

    def __init__(self) -> None:
        self._by_user: dict[tuple[int, int], set[Subscriber]] = {}
        self._by_app: dict[int, set[Subscriber]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def __len__(self) -> int:
        return sum(len(s) for s in self._by_app.values())

    def attach(self, bus: Any) -> None:
        """Subscribe to ``bus`` (a ``tidings.bus.base.Bus``); a second call does nothing."""
        if self._unsubscribe is None:
            self._unsubscribe = bus.subscribe(self.deliver)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def add(self, conn: Subscriber) -> None:
        self._by_user.setdefault((conn.app_id, conn.user_id), set()).add(conn)
        self._by_app.setdefault(conn.app_id, set()).add(conn)

    def remove(self, conn: Subscriber) -> None:
        """Forget ``conn``; removing one that is not here is a no-op."""
        _discard(self._by_user, (conn.app_id, conn.user_id), conn)
        _discard(self._by_app, conn.app_id, conn)

    def connections(self) -> list[Subscriber]:
        return [c for conns in self._by_app.values() for c in conns]

    def targets(self, event: Any) -> list[Subscriber]:
        """The local connections that should hear ``event`` (a domain event)."""
        if event.everyone:
            found: Iterable[Subscriber] = self._by_app.get(event.app_id, ())
        else:
            found = (
                c
                for user_id in dict.fromkeys(event.recipients)
                for c in self._by_user.get((event.app_id, user_id), ())
            )
        if event.name == "typing":
            # The core already leaves the typer out; this keeps a broadcast from echoing.
            return [c for c in found if c.user_id != event.user_id]
        return list(found)

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


def _discard(index: dict[Any, set[Subscriber]], key: Any, conn: Subscriber) -> None:
    conns = index.get(key)
    if conns is None:
        return
    conns.discard(conn)
    if not conns:
        del index[key]
