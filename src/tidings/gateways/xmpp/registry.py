"""Which bound XMPP sessions of this process hear which domain event.

The fan-out index (``tidings.fanout``) finds the sessions of ``event.recipients``
(or of the whole app for ``everyone``); this hands each the event without waiting.
A session whose queue is full is closed as too slow.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from tidings.fanout import FanoutIndex

log = logging.getLogger("tidings.gateways.xmpp")


class Subscriber(Protocol):
    app_id: int
    user_id: int

    def push(self, event: Any) -> bool:
        """Queue ``event`` without waiting; False if the queue is full."""

    def kick(self, condition: str, text: str) -> None:
        """Close with a stream error (without waiting)."""


class SessionRegistry(FanoutIndex[Subscriber]):
    """Bound XMPP sessions of this process, fed from the bus."""

    def sessions(self) -> list[Subscriber]:
        return self.members()

    async def deliver(self, event: Any) -> None:
        """The bus handler: queue for every target, never wait."""
        for session in self.targets(event):
            if not session.push(event):
                log.warning("dropping an XMPP session that reads too slowly")
                self.remove(session)
                session.kick("policy-violation", "too slow")
