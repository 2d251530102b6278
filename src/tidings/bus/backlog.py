"""What a node publishes while Redis cannot take it: a bounded, ordered queue.

Core services publish after commit, so a broker outage must never fail the
request that caused the event. The Redis bus appends every encoded event here
and one sender task publishes from the front, in order, removing an entry only
once Redis has taken it. Past the bound, new events are dropped rather than
memory grown without limit; the backlog remembers when the first drop happened
so the bus can tell every node to catch its sessions up from the store (where
the messages behind those events are).

Pure bookkeeping: no I/O and no clock (callers pass the time in).
"""

from __future__ import annotations

from collections import deque
from itertools import islice


class Backlog:
    """Encoded events waiting for the broker, oldest first, at most ``limit`` of them."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a backlog holds at least one event")
        self.limit = limit
        self._items: deque[str] = deque()
        #: Events refused since the last :meth:`take_gap`, and when the first one was.
        self.dropped = 0
        self.first_drop_ms: int | None = None

    def __len__(self) -> int:
        return len(self._items)

    def append(self, item: str, now_ms: int) -> bool:
        """Queue ``item``; False (and the drop remembered) when the backlog is full."""
        if len(self._items) >= self.limit:
            self.dropped += 1
            if self.first_drop_ms is None:
                self.first_drop_ms = now_ms
            return False
        self._items.append(item)
        return True

    def append_always(self, item: str) -> None:
        """Queue a control message past the bound: it is what announces the drops."""
        self._items.append(item)

    def peek(self, count: int) -> list[str]:
        """Up to ``count`` items from the front, left in place until :meth:`pop`."""
        return list(islice(self._items, count))

    def pop(self, count: int) -> None:
        """Forget the ``count`` front items: the broker has them."""
        for _ in range(min(count, len(self._items))):
            self._items.popleft()

    def take_gap(self) -> tuple[int, int | None]:
        """How many events were dropped and when the first was; then start counting anew."""
        gap = (self.dropped, self.first_drop_ms)
        self.dropped, self.first_drop_ms = 0, None
        return gap
