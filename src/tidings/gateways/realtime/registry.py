"""Which live connections of this process hear which domain event.

One registry per process subscribes to the bus once and fans each event out to
the connections it holds for ``event.recipients`` (or, for ``event.everyone``,
to every connection of ``event.app_id``). The event is encoded once, and each
connection only gets the text pushed onto its bounded outbox: the bus runs its
handlers one at a time, so nothing here may wait on a client.

A connection whose outbox is full is dropped (close code 1013, "too slow")
rather than allowed to hold everyone else back. The registry never touches a
socket or the clock; connections are anything shaped like :class:`Subscriber`.

After the bus may have lost events (:meth:`ConnectionRegistry.catch_up`), the
registry reads the messages its connections' users got meanwhile from the store
and pushes each connection the ``message.created`` events it has not had; each
connection's :class:`~tidings.fanout.SentSeqs` keeps a message that arrives both
that way and, late, from the bus from being sent twice. If more was missed than
one catch-up reads, connections are told to resync (``resync.required``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from tidings.fanout import FanoutIndex, SentSeqs
from tidings.gateways.realtime.protocol import encode_event, encode_resync_required

#: RFC 6455 §7.4.1 "Try Again Later", used here for a client that reads too slowly.
CLOSE_TOO_SLOW = 1013

log = logging.getLogger("tidings.gateways.realtime")

#: Reads back what users missed: ``(users, since_ms)`` -> ``tidings.core.catch_up.Missed``.
MissedSource = Callable[[Iterable[tuple[int, int]], int], Awaitable[Any]]


class Subscriber(Protocol):
    """One live connection as the registry sees it."""

    app_id: int
    user_id: int
    #: When the connection was accepted (wall-clock ms).
    opened_ms: int
    #: The messages it was handed, so a catch-up hands none twice.
    sent: SentSeqs

    def push(self, frame: str) -> bool:
        """Queue ``frame`` without waiting; False if the outbox is full."""

    def kick(self, code: int, reason: str) -> None:
        """Ask the connection to close itself with ``code`` (without waiting)."""


class ConnectionRegistry(FanoutIndex[Subscriber]):
    """Live WebSocket connections of this process, fed from the bus.

    ``missed`` reads back from the store what users missed (without it, a
    catch-up only tells clients to resync); ``margin_ms`` is how long before a
    connection opened a message may have been created and still be its to get.
    """

    def __init__(self, missed: MissedSource | None = None, *, margin_ms: int = 15_000) -> None:
        super().__init__()
        self._missed = missed
        self._margin_ms = margin_ms

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
        seq = _stored_seq(event)
        for conn in targets:
            if seq is None or conn.sent.first_time(event.dialog_id, seq):
                self.push(conn, frame)

    async def catch_up(self, since_ms: int) -> None:
        """Push every connection the messages it missed since ``since_ms``, once each.

        Runs on the bus's dispatcher, before any event that arrived after the gap,
        so a connection still sees each dialog's messages in order.
        """
        connections = self.connections()
        if not connections:
            return
        if self._missed is None:
            self._tell_to_resync(connections)
            return
        try:
            missed = await self._missed({(c.app_id, c.user_id) for c in connections}, since_ms)
        except Exception:
            # The store is down too: the clients can still recover by themselves.
            log.exception("realtime: could not read back what a bus gap lost")
            self._tell_to_resync(self.connections())
            return
        pushed = 0
        for event in missed.events:
            created_ms = event.message["created_ms"]
            frame: str | None = None
            for conn in self.targets(event):
                if created_ms < conn.opened_ms - self._margin_ms:
                    continue  # stored before this connection existed: history, not news
                if not conn.sent.first_time(event.dialog_id, event.message["seq"]):
                    continue
                frame = frame or encode_event(event.name, event.to_dict())
                if self.push(conn, frame):
                    pushed += 1
        log.info(
            "realtime: caught %d connections up after a bus gap: %d messages pushed%s",
            len(connections),
            pushed,
            "" if missed.complete else "; more was missed, clients told to resync",
            extra={"since_ms": since_ms},
        )
        if not missed.complete:
            self._tell_to_resync(self.connections())

    def _tell_to_resync(self, connections: list[Subscriber]) -> None:
        for conn in connections:
            self.push(conn, encode_resync_required(conn.app_id, "bus_gap"))


def _stored_seq(event: Any) -> int | None:
    """The seq of a stored message's ``message.created``; None for anything else."""
    if event.name != "message.created":
        return None
    seq = event.message.get("seq")
    return seq if isinstance(seq, int) else None
