"""GCRA, the generic cell rate algorithm: a token bucket kept as one number per key.

The number is the key's *theoretical arrival time* (TAT): each event pushes it
``interval`` seconds further, time catches up with it, and an event is refused
while it would lie more than ``burst`` intervals ahead of now. One number per
key keeps a Redis implementation to one ``SET`` per event with an expiry equal
to how long the key still matters, and ``retry_after`` is exact.

Pure standard library, and the caller passes ``now``: sans-I/O protocol objects
(a Bayeux server, a WebSocket's frame budget) use :class:`LocalLimiter` directly;
:mod:`tidings.core.ratelimit` runs the same arithmetic in Redis for limits that
every node must share.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALLOWED", "LocalLimiter", "Rate", "Verdict", "gcra"]


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` events per ``period`` seconds, of which ``burst`` may come at once
    (by default all of them)."""

    limit: float
    period: float
    burst: int | None = None

    @property
    def interval(self) -> float:
        """Seconds one event occupies."""
        return self.period / max(1, self.limit)

    @property
    def tolerance(self) -> float:
        """How far ahead of now the TAT may run: the bucket's depth in seconds."""
        return self.interval * max(1, self.burst if self.burst is not None else self.limit)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    #: Seconds until one more event would be allowed (0 when allowed).
    retry_after: float = 0.0


ALLOWED = Verdict(True)


def gcra(tat: float | None, now: float, rate: Rate, cost: int) -> tuple[Verdict, float | None]:
    """The verdict on ``cost`` events at ``now`` and the key's new TAT (None: forget it).

    ``cost`` 0 asks whether one event would pass without counting it; a negative
    cost gives events back. Refused events change nothing, so hammering a closed
    door does not keep it closed longer.
    """
    base = now if tat is None or tat < now else tat
    if cost < 0:
        new = base + cost * rate.interval
        return ALLOWED, (new if new > now else None)
    new = base + max(cost, 1) * rate.interval
    over = new - now - rate.tolerance
    if over > 1e-9:
        return Verdict(False, over), tat
    return ALLOWED, (new if cost > 0 else tat)


class LocalLimiter:
    """GCRA in a dict, synchronous; the caller passes ``now`` in seconds.

    Keys whose TAT has passed carry no information and are dropped when the
    table reaches ``max_keys`` (and all of them if that is not enough, which
    forgives everyone rather than growing without bound).
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._tat: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._tat)

    def hit(self, key: str, rate: Rate, now: float, cost: int = 1) -> Verdict:
        verdict, new = gcra(self._tat.get(key), now, rate, cost)
        if new is None:
            self._tat.pop(key, None)
        elif new != self._tat.get(key):
            if key not in self._tat and len(self._tat) >= self.max_keys:
                self._forget(now)
            self._tat[key] = new
        return verdict

    def peek(self, key: str, rate: Rate, now: float) -> Verdict:
        return self.hit(key, rate, now, cost=0)

    def reset(self, key: str) -> None:
        self._tat.pop(key, None)

    def _forget(self, now: float) -> None:
        for key in [k for k, tat in self._tat.items() if tat <= now]:
            del self._tat[key]
        if len(self._tat) >= self.max_keys:
            self._tat.clear()
