"""Which live connections of this process hear which domain event.

Every real-time gateway (native WebSocket, XMPP, ...) keeps one index of the
connections it holds, subscribes it to the bus once, and for each event asks
it for the local targets: the connections of ``event.recipients``, or of the
whole app when ``event.everyone``. The index never touches a socket, a clock or
asyncio; gateways subclass it with ``deliver`` (their wire encoding and what to
do with a reader too slow to keep up) and ``catch_up`` (what to do after the bus
may have lost events: read them back from the store).

:class:`SentSeqs` is the per-connection memory that makes a message arrive once
when it comes both from a catch-up and, late, from the bus.
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
        """Subscribe ``deliver`` to ``bus`` (a ``tidings.bus.Bus``), and ``catch_up``
        to its resumes when it has them; once only."""
        if self._unsubscribe is not None:
            return
        undo = [bus.subscribe(self.deliver)]
        on_resume = getattr(bus, "on_resume", None)
        if on_resume is not None:
            undo.append(on_resume(self.catch_up))

        def unsubscribe() -> None:
            for step in undo:
                step()

        self._unsubscribe = unsubscribe

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

    async def catch_up(self, since_ms: int) -> None:
        """The bus's resume handler: events published from ``since_ms`` (wall-clock
        ms) on may never have reached this node. Gateways override it to hand their
        live connections what they missed (``tidings.core.catch_up`` reads it back
        from the store). It runs on the bus's dispatcher before any newer event, so
        it may await the store; by default it does nothing."""
        return None


class SentSeqs:
    """Which message ``seq`` numbers of each dialog one connection was handed.

    A message can reach a connection twice after a bus outage: read back from
    the store by a catch-up, and again when a publisher's held events arrive
    late. :meth:`first_time` answers True once per (dialog, seq). Per dialog it
    keeps the highest seq handed over and a bitmap of the ``window`` seqs below
    it, so a seq arriving out of order (two senders racing) is still told apart
    from a repeat; anything older than the window counts as handed over.
    """

    __slots__ = ("_dialogs", "window")

    def __init__(self, window: int = 1024) -> None:
        self.window = window
        # dialog id -> (highest seq, bitmap: bit i set = seq (highest - i) handed over)
        self._dialogs: dict[str, tuple[int, int]] = {}

    def first_time(self, dialog_id: str, seq: int) -> bool:
        """Record ``seq`` of ``dialog_id`` as handed over; False if it was already."""
        known = self._dialogs.get(dialog_id)
        if known is None:
            self._dialogs[dialog_id] = (seq, 1)
            return True
        top, bits = known
        if seq > top:
            jump = seq - top
            bits = 1 if jump >= self.window else ((bits << jump) | 1) & ((1 << self.window) - 1)
            self._dialogs[dialog_id] = (seq, bits)
            return True
        offset = top - seq
        if offset >= self.window or bits >> offset & 1:
            return False
        self._dialogs[dialog_id] = (top, bits | 1 << offset)
        return True


def _discard(index: dict[Any, set[Any]], key: Any, member: Any) -> None:
    group = index.get(key)
    if group is None:
        return
    group.discard(member)
    if not group:
        del index[key]
