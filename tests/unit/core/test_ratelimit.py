"""The shared limiter: the same GCRA in memory and in a real Redis, and login limits."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import pytest

from tidings.core.login_limits import LoginLimits
from tidings.core.ratelimit import (
    Limiter,
    MemoryLimiter,
    Rate,
    RedisLimiter,
    create_limiter,
)
from tidings.domain.errors import RateLimited
from tidings.settings import Settings

from ...services import require_redis


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter()
        return
    url = require_redis()
    shared = RedisLimiter(url, prefix=f"test:{uuid.uuid4().hex}:")
    yield shared
    await shared.aclose()


async def test_a_burst_is_allowed_then_refused_with_retry_after(limiter: Limiter) -> None:
    rate = Rate(5, 60.0)
    verdicts = [await limiter.hit("k", rate) for _ in range(6)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False]
    assert 11.0 <= verdicts[-1].retry_after <= 12.0
    assert not (await limiter.peek("k", rate)).allowed
    assert (await limiter.peek("other", rate)).allowed


async def test_refund_and_reset(limiter: Limiter) -> None:
    rate = Rate(2, 60.0)
    await limiter.hit("k", rate)
    await limiter.hit("k", rate)
    assert not (await limiter.hit("k", rate)).allowed
    await limiter.hit("k", rate, cost=-1)
    assert (await limiter.hit("k", rate)).allowed
    await limiter.reset("k")
    assert (await limiter.hit("k", rate)).allowed


async def test_two_redis_clients_share_one_count() -> None:
    """What two nodes see: hits through one client count for the other."""
    url = require_redis()
    prefix = f"test:{uuid.uuid4().hex}:"
    a, b = RedisLimiter(url, prefix=prefix), RedisLimiter(url, prefix=prefix)
    try:
        rate = Rate(4, 60.0)
        for limiter in (a, b, a, b):
            assert (await limiter.hit("shared", rate)).allowed
        assert not (await a.hit("shared", rate)).allowed
        assert not (await b.hit("shared", rate)).allowed
    finally:
        await a.aclose()
        await b.aclose()


async def test_redis_down_lets_events_through(caplog: pytest.LogCaptureFixture) -> None:
    """A Redis restart must not stop every login: the limiter fails open and says so."""
    limiter = RedisLimiter("redis://127.0.0.1:1/0", timeout=0.5)
    try:
        with caplog.at_level(logging.WARNING, logger="tidings.core.ratelimit"):
            assert (await limiter.hit("k", Rate(1, 60.0))).allowed
        assert "rate limiter unavailable" in caplog.text
    finally:
        await limiter.aclose()


def test_the_bus_url_picks_the_storage() -> None:
    assert isinstance(create_limiter("memory://"), MemoryLimiter)
    assert isinstance(create_limiter("redis://127.0.0.1:6379/0"), RedisLimiter)


async def test_login_limits_count_failures_per_address_and_account(
    limiter: Limiter, caplog: pytest.LogCaptureFixture
) -> None:
    """mod_fail2ban / mod_limit_auth style: failures from X never block Y, and the
    owner's success clears the owner's count."""
    settings = Settings(login_rate=3, login_rate_per_address=5, login_window=60)
    limits = LoginLimits(limiter, settings)
    for _ in range(3):
        await limits.attempt(1, "alice", "10.0.0.1")  # three failures (never succeeded)
    with caplog.at_level(logging.WARNING, logger="tidings.core.auth"):
        with pytest.raises(RateLimited) as error:
            await limits.attempt(1, "Alice", "10.0.0.1")
    assert error.value.retry_after >= 1
    assert "10.0.0.1" in caplog.text
    # The owner elsewhere is not affected, and a success there clears the count there.
    attempt = await limits.attempt(1, "alice", "10.0.0.2")
    await attempt.succeeded()
    for _ in range(5):
        await (await limits.attempt(1, "alice", "10.0.0.2")).succeeded()
    # Another account from the failing address still has the address budget (5 - 3).
    await limits.attempt(1, "bob", "10.0.0.1")
    await limits.attempt(1, "carol", "10.0.0.1")
    with pytest.raises(RateLimited):
        await limits.attempt(1, "dave", "10.0.0.1")
