"""Which live connections of this process hear which domain event.

Every real-time gateway (native WebSocket, XMPP, ...) keeps one index of the
connections it holds, subscribes it to the bus once, and for each event asks
it for the local targets: the connections of ``event.recipients``, or of the
whole app when ``event.everyone``. The index never touches a socket, a clock or
asyncio; gateways subclass it with ``deliver`` (their wire encoding and what to
do with a reader too slow to keep up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar


class Member(Protocol):
    """What the index needs to know of a connection."""

    app_id: int
    user_id: int


M = TypeVar("M", bound=Member)


class FanoutIndex(Generic[M]):
    """Live connections by ``(app_id, user_id)`` and by app, fed from the bus."""

    def __init__(self) -> None:
        self._by_user: dict[tuple[int, int], set[M]] = {}
        self._by_app: dict[int, set[M]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def __len__(self) -> int:
        return sum(len(members) for members in self._by_app.values())

    def attach(self, bus: Any) -> None:
        """Subscribe ``deliver`` to ``bus`` (a ``tidings.bus.Bus``); once only."""
        if self._unsubscribe is None:
            self._unsubscribe = bus.subscribe(self.deliver)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def add(self, member: M) -> None:
        self._by_user.setdefault((member.app_id, member.user_id), set()).add(member)
        self._by_app.setdefault(member.app_id, set()).add(member)

    def remove(self, member: M) -> None:
        """Forget ``member``; removing one that is not here is a no-op."""
        _discard(self._by_user, (member.app_id, member.user_id), member)
        _discard(self._by_app, member.app_id, member)

    def members(self) -> list[M]:
        return [m for group in self._by_app.values() for m in group]

    def of_user(self, app_id: int, user_id: int) -> list[M]:
        return list(self._by_user.get((app_id, user_id), ()))

    def targets(self, event: Any) -> list[M]:
        """The local connections that should hear ``event`` (a domain event)."""
        if event.everyone:
            found: Iterable[M] = self._by_app.get(event.app_id, ())
        else:
            found = (
                m
                for user_id in dict.fromkeys(event.recipients)
                for m in self._by_user.get((event.app_id, user_id), ())
            )
        if event.name == "typing":
            # The core already leaves the typer out; this keeps a broadcast from echoing.
            return [m for m in found if m.user_id != event.user_id]
        return list(found)

    async def deliver(self, event: Any) -> None:
        """The bus handler. Must queue, never wait: the bus runs handlers one at a time."""
        raise NotImplementedError


def _discard(index: dict[Any, set[Any]], key: Any, member: Any) -> None:
    group = index.get(key)
    if group is None:
        return
    group.discard(member)
    if not group:
        del index[key]
