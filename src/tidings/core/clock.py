"""Time, behind a tiny interface so tests can move it."""

from __future__ import annotations

import time


class Clock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)


class ManualClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.current = start_ms

    def now_ms(self) -> int:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += int(seconds * 1000)
