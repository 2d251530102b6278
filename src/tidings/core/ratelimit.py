"""A sliding-window counter per key, for login floods and other abuse."""

from __future__ import annotations

from collections import deque

from tidings.core.errors import RateLimited


class SlidingWindow:
    """At most ``limit`` hits per ``window_ms`` for each key; old keys are forgotten."""

    def __init__(self, limit: int, window_ms: int = 60_000, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self.max_keys = max_keys
        self._hits: dict[str, deque[int]] = {}

    def hit(self, key: str, now_ms: int, *, what: str = "requests") -> None:
        """Count one hit, or raise :class:`RateLimited` saying when to retry."""
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now_ms)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now_ms - self.window_ms:
            hits.popleft()
        if len(hits) >= self.limit:
            retry_after = (hits[0] + self.window_ms - now_ms) / 1000
            raise RateLimited(f"too many {what}; try again later", retry_after=retry_after)
        hits.append(now_ms)

    def _forget_idle(self, now_ms: int) -> None:
        cutoff = now_ms - self.window_ms
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= cutoff]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:
            self._hits.clear()
