"""The one rate limiter, shared between nodes: GCRA (:mod:`tidings.gcra`) in Redis or memory.

Three places limit rates, all with the same algorithm:

- **Shared** (:class:`RedisLimiter`, chosen when ``TIDINGS_BUS_URL`` is Redis):
  login failures, so every node refuses the same guesser. The arithmetic runs in
  a Lua script on Redis's clock, so nodes with skewed clocks agree.
  :class:`MemoryLimiter` is the same thing for one process.
- **Local** (:class:`~tidings.gcra.LocalLimiter`, synchronous, the caller passes
  ``now``): frames on one native WebSocket and publishes of one Bayeux client.
  Such a budget belongs to one connection, which lives on one node, so a network
  round trip per frame would buy nothing.

A negative ``cost`` gives events back (a login that turned out right).
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from tidings.gcra import ALLOWED, LocalLimiter, Rate, Verdict

log = logging.getLogger("tidings.core.ratelimit")

__all__ = [
    "Limiter",
    "LocalLimiter",
    "MemoryLimiter",
    "Rate",
    "RedisLimiter",
    "Verdict",
    "create_limiter",
]


class Limiter(ABC):
    """A limiter whose counts may be shared between processes."""

    @abstractmethod
    async def hit(self, key: str, rate: Rate, cost: int = 1) -> Verdict:
        """Count ``cost`` events for ``key`` if they fit; see :func:`gcra`."""

    async def peek(self, key: str, rate: Rate) -> Verdict:
        return await self.hit(key, rate, cost=0)

    @abstractmethod
    async def reset(self, key: str) -> None:
        """Forget everything counted for ``key``."""

    async def aclose(self) -> None:
        return None


class MemoryLimiter(Limiter):
    """One process's limiter: :class:`LocalLimiter` on a clock (seconds)."""

    def __init__(self, clock: Callable[[], float] = time.time, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.local = LocalLimiter(max_keys)

    async def hit(self, key: str, rate: Rate, cost: int = 1) -> Verdict:
        return self.local.hit(key, rate, self.clock(), cost)

    async def reset(self, key: str) -> None:
        self.local.reset(key)


#: KEYS[1] the key; ARGV interval ms, tolerance ms, cost. Returns the ms to wait (0: allowed).
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if cost < 0 then
  local new = tat + cost * interval
  if new > now then
    redis.call('SET', KEYS[1], new, 'PX', new - now)
  else
    redis.call('DEL', KEYS[1])
  end
  return 0
end
local new = tat + math.max(cost, 1) * interval
local over = new - now - tolerance
if over > 0 then return over end
if cost > 0 then redis.call('SET', KEYS[1], new, 'PX', new - now) end
return 0
"""


class RedisLimiter(Limiter):
    """GCRA in Redis, shared by every node that uses the same Redis.

    If Redis cannot be reached the limiter lets events through and logs it: a
    Redis restart must not stop every login in the cluster.
    """

    def __init__(self, url: str, prefix: str = "tidings:rl:", timeout: float = 2.0) -> None:
        import redis.asyncio as aioredis

        self.prefix = prefix
        self._redis: Any = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._script: Any = self._redis.register_script(_GCRA_LUA)

    async def hit(self, key: str, rate: Rate, cost: int = 1) -> Verdict:
        interval = max(1, round(rate.interval * 1000))
        tolerance = round(rate.tolerance * 1000)
        try:
            wait_ms = await self._script(keys=[self.prefix + key], args=[interval, tolerance, cost])
        except Exception as exc:  # redis.RedisError, OSError, timeouts: fail open
            log.warning("rate limiter unavailable, not limiting", extra={"error": str(exc)})
            return ALLOWED
        wait_ms = int(wait_ms)
        return ALLOWED if wait_ms <= 0 else Verdict(False, wait_ms / 1000)

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(self.prefix + key)
        except Exception as exc:
            log.warning("rate limiter unavailable, not reset", extra={"error": str(exc)})

    async def aclose(self) -> None:
        await self._redis.aclose()


def create_limiter(
    bus_url: str, clock: Callable[[], float] = time.time, prefix: str = "tidings:rl:"
) -> Limiter:
    """Redis when the event bus is Redis (the nodes share it), else this process's memory."""
    if bus_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLimiter(bus_url, prefix=prefix)
    return MemoryLimiter(clock)
