"""Which bound XMPP sessions of this process hear which domain event.

The same shape as the real-time gateway's registry (copied, since gateways never
import each other): subscribe to the bus once, find the sessions of
``event.recipients`` (or of the whole app for ``everyone``) and hand each the
event without waiting. A session whose queue is full is closed as too slow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

log = logging.getLogger("tidings.gateways.xmpp")


class Subscriber(Protocol):
    app_id: int
    user_id: int

    def push(self, event: Any) -> bool:
        """Queue ``event`` without waiting; False if the queue is full."""

    def kick(self, condition: str, text: str) -> None:
        """Close with a stream error (without waiting)."""


class SessionRegistry:
    def __init__(self) -> None:
        self._by_user: dict[tuple[int, int], set[Subscriber]] = {}
        self._by_app: dict[int, set[Subscriber]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def __len__(self) -> int:
        return sum(len(s) for s in self._by_app.values())

    def attach(self, bus: Any) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = bus.subscribe(self.deliver)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def add(self, session: Subscriber) -> None:
        self._by_user.setdefault((session.app_id, session.user_id), set()).add(session)
        self._by_app.setdefault(session.app_id, set()).add(session)

    def remove(self, session: Subscriber) -> None:
        _discard(self._by_user, (session.app_id, session.user_id), session)
        _discard(self._by_app, session.app_id, session)

    def sessions(self) -> list[Subscriber]:
        return [s for group in self._by_app.values() for s in group]

    def of_user(self, app_id: int, user_id: int) -> list[Subscriber]:
        return list(self._by_user.get((app_id, user_id), ()))

    def targets(self, event: Any) -> list[Subscriber]:
        if event.everyone:
            found: Iterable[Subscriber] = self._by_app.get(event.app_id, ())
        else:
            found = (
                s
                for user_id in dict.fromkeys(event.recipients)
                for s in self._by_user.get((event.app_id, user_id), ())
            )
        if event.name == "typing":
            return [s for s in found if s.user_id != event.user_id]
        return list(found)

    async def deliver(self, event: Any) -> None:
        """The bus handler: queue for every target, never wait."""
        for session in self.targets(event):
            if not session.push(event):
                log.warning("dropping an XMPP session that reads too slowly")
                self.remove(session)
                session.kick("policy-violation", "too slow")


def _discard(index: dict[Any, set[Subscriber]], key: Any, session: Subscriber) -> None:
    group = index.get(key)
    if group is None:
        return
    group.discard(session)
    if not group:
        del index[key]
