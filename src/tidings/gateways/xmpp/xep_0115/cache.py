"""XEP-0115 §5.4: verified ``ver`` -> features, kept in memory, bounded; pure.

A verified hash names one feature set for every entity that announces it, so
the cache is shared by all sessions of the process. Least recently used
entries go first, so a flood of made-up ``ver`` values cannot grow it.
"""

from __future__ import annotations

from collections import OrderedDict

#: Entries kept (distinct client builds seen lately; a few dozen in practice).
SIZE = 1000


class CapsCache:
    """``(hash, ver)`` -> the features of a disco#info answer that hashed to it."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], frozenset[str]] = OrderedDict()

    def get(self, key: tuple[str, str]) -> frozenset[str] | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: tuple[str, str], features: frozenset[str]) -> None:
        self._entries[key] = features
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
