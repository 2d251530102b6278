"""Which bound XMPP sessions of this process hear which domain event.

The fan-out index (``tidings.fanout``) finds the sessions of ``event.recipients``
(or of the whole app for ``everyone``); this hands each the event without waiting.
A session whose queue is full is closed as too slow.

After the bus may have lost events (:meth:`SessionRegistry.catch_up`), the
messages the sessions' users got meanwhile are read back from the store and
pushed like live ones; each session's ``SentSeqs`` keeps a message that arrives
both that way and, late, from the bus from being sent twice. If more was missed
than one catch-up reads, each available session runs an offline-delivery pass
(``backfill``) instead, which reads everything its user has not confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from tidings.fanout import FanoutIndex

log = logging.getLogger("tidings.gateways.xmpp")

#: Reads back what users missed: ``(users, since_ms)`` -> ``tidings.core.catch_up.Missed``.
MissedSource = Callable[[Iterable[tuple[int, int]], int], Awaitable[Any]]


class Subscriber(Protocol):
    app_id: int
    user_id: int
    #: Sent its initial presence (RFC 6121 §4.2): only then are messages pushed to it.
    available: bool
    #: Wall-clock ms of that presence; older messages were its offline delivery's.
    available_since_ms: int

    def push(self, event: Any) -> bool:
        """Queue ``event`` without waiting; False if the queue is full."""

    def kick(self, condition: str, text: str) -> None:
        """Close with a stream error (without waiting)."""

    def request_backfill(self) -> None:
        """Hand over every stored message its user has not confirmed (soon)."""


class SessionRegistry(FanoutIndex[Subscriber]):
    """Bound XMPP sessions of this process, fed from the bus.

    ``missed`` reads back from the store what users missed (without it, a
    catch-up runs a backfill per session); ``margin_ms`` is how long before a
    session became available a message may have been created and still be news.
    """

    def __init__(self, missed: MissedSource | None = None, *, margin_ms: int = 15_000) -> None:
        super().__init__()
        self._missed = missed
        self._margin_ms = margin_ms

    def sessions(self) -> list[Subscriber]:
        return self.members()

    async def deliver(self, event: Any) -> None:
        """The bus handler: queue for every target, never wait."""
        for session in self.targets(event):
            self._push(session, event)

    async def catch_up(self, since_ms: int) -> None:
        """Push every available session the messages it missed since ``since_ms``.

        Runs on the bus's dispatcher before any event that arrived after the gap,
        so each dialog's messages still arrive in order. Sessions without initial
        presence are left alone: their offline delivery reads the store anyway.
        """
        sessions = [s for s in self.sessions() if s.available]
        if not sessions:
            return
        if self._missed is None:
            for session in sessions:
                session.request_backfill()
            return
        missed = await self._missed({(s.app_id, s.user_id) for s in sessions}, since_ms)
        for event in missed.events:
            created_ms = event.message["created_ms"]
            for session in self.targets(event):
                if session.available and created_ms >= session.available_since_ms - self._margin_ms:
                    self._push(session, event)  # its SentSeqs drops what it had already
        log.info(
            "xmpp: caught %d sessions up after a bus gap: %d messages read back%s",
            len(sessions),
            len(missed.events),
            "" if missed.complete else "; more was missed, each session reads the store",
            extra={"since_ms": since_ms},
        )
        if not missed.complete:
            for session in self.sessions():
                if session.available:
                    session.request_backfill()

    def _push(self, session: Subscriber, event: Any) -> None:
        if not session.push(event):
            log.warning("dropping an XMPP session that reads too slowly")
            self.remove(session)
            session.kick("policy-violation", "too slow")
