"""GCRA, the one rate-limit algorithm: bursts, steady rates, refunds, exact retry times."""

from __future__ import annotations

import pytest

from tidings.gcra import LocalLimiter, Rate, gcra


def test_a_burst_then_one_per_interval() -> None:
    limiter, rate = LocalLimiter(), Rate(10, 60.0)  # 10 a minute: one per 6 s
    assert [limiter.hit("k", rate, 0.0).allowed for _ in range(11)] == [True] * 10 + [False]
    refused = limiter.hit("k", rate, 0.0)
    assert refused.retry_after == pytest.approx(6.0)
    assert not limiter.hit("k", rate, 5.9).allowed
    assert limiter.hit("k", rate, 6.0).allowed
    assert not limiter.hit("k", rate, 6.0).allowed


def test_refused_events_do_not_extend_the_wait() -> None:
    limiter, rate = LocalLimiter(), Rate(2, 1.0)
    limiter.hit("k", rate, 0.0)
    limiter.hit("k", rate, 0.0)
    for _ in range(100):
        assert not limiter.hit("k", rate, 0.1).allowed
    assert limiter.hit("k", rate, 0.5).allowed


def test_burst_may_differ_from_the_rate() -> None:
    limiter, rate = LocalLimiter(), Rate(50, 1.0, burst=100)
    allowed = sum(limiter.hit("k", rate, 0.0).allowed for _ in range(300))
    assert allowed == 100
    assert sum(limiter.hit("k", rate, 1.0).allowed for _ in range(300)) == 50


def test_peek_counts_nothing_and_a_refund_gives_back() -> None:
    limiter, rate = LocalLimiter(), Rate(3, 3.0)
    for _ in range(3):
        assert limiter.peek("k", rate, 0.0).allowed
        limiter.hit("k", rate, 0.0)
    assert not limiter.peek("k", rate, 0.0).allowed
    limiter.hit("k", rate, 0.0, cost=-1)
    assert limiter.peek("k", rate, 0.0).allowed
    limiter.hit("k", rate, 0.0, cost=-5)
    assert len(limiter) == 0, "a key refunded to nothing is forgotten"


def test_keys_are_independent_and_reset_forgets() -> None:
    limiter, rate = LocalLimiter(), Rate(1, 10.0)
    assert limiter.hit("a", rate, 0.0).allowed
    assert limiter.hit("b", rate, 0.0).allowed
    assert not limiter.hit("a", rate, 0.0).allowed
    limiter.reset("a")
    assert limiter.hit("a", rate, 0.0).allowed


def test_the_table_stays_bounded() -> None:
    limiter, rate = LocalLimiter(max_keys=100), Rate(1, 1.0)
    for n in range(1_000):
        limiter.hit(f"k{n}", rate, n * 0.01)
    assert len(limiter) <= 100


def test_the_pure_function() -> None:
    verdict, tat = gcra(None, 100.0, Rate(1, 2.0), 1)
    assert verdict.allowed and tat == pytest.approx(102.0)
    verdict, same = gcra(tat, 101.0, Rate(1, 2.0), 1)
    assert not verdict.allowed and verdict.retry_after == pytest.approx(1.0) and same == tat
