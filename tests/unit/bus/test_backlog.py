"""Backlog: what a node holds for Redis stays in order, within its bound, and says
when it had to drop."""

from __future__ import annotations

import pytest

from tidings.bus.backlog import Backlog


def test_items_leave_in_order_and_only_when_popped() -> None:
    backlog = Backlog(10)
    for i in range(5):
        assert backlog.append(f"e{i}", now_ms=i)
    assert backlog.peek(3) == ["e0", "e1", "e2"]
    assert backlog.peek(3) == ["e0", "e1", "e2"], "peeking takes nothing away"
    backlog.pop(2)
    assert backlog.peek(10) == ["e2", "e3", "e4"]
    assert len(backlog) == 3


def test_past_the_bound_new_items_are_dropped_and_the_first_drop_remembered() -> None:
    backlog = Backlog(2)
    assert backlog.append("a", now_ms=100)
    assert backlog.append("b", now_ms=101)
    assert not backlog.append("c", now_ms=102)
    assert not backlog.append("d", now_ms=103)
    assert backlog.peek(5) == ["a", "b"], "the held events are the oldest, still in order"
    assert backlog.take_gap() == (2, 102)
    assert backlog.take_gap() == (0, None), "a gap is reported once"


def test_a_notice_is_queued_even_when_full() -> None:
    backlog = Backlog(1)
    backlog.append("a", now_ms=1)
    backlog.append_always("notice")
    assert backlog.peek(5) == ["a", "notice"]


def test_popping_more_than_is_held_empties_it() -> None:
    backlog = Backlog(3)
    backlog.append("a", now_ms=1)
    backlog.pop(5)
    assert len(backlog) == 0 and backlog.peek(1) == []


def test_a_backlog_holds_at_least_one_event() -> None:
    with pytest.raises(ValueError):
        Backlog(0)
