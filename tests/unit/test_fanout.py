"""SentSeqs and FanoutIndex.attach: each stored message reaches a connection once,
and an index follows the bus's resumes as well as its events."""

from __future__ import annotations

from typing import Any

from tidings.bus import MemoryBus
from tidings.fanout import FanoutIndex, SentSeqs


def test_each_seq_is_handed_over_once_per_dialog() -> None:
    sent = SentSeqs()
    assert [sent.first_time("d1", s) for s in (1, 2, 2, 3, 1)] == [True, True, False, True, False]
    assert sent.first_time("d2", 1), "dialogs are counted apart"


def test_a_seq_arriving_out_of_order_is_not_taken_for_a_repeat() -> None:
    """Two senders race: the event of seq 6 may be published before that of seq 5."""
    sent = SentSeqs()
    assert sent.first_time("d", 6)
    assert sent.first_time("d", 9)
    assert sent.first_time("d", 5)
    assert sent.first_time("d", 7)
    assert not sent.first_time("d", 5)
    assert not sent.first_time("d", 9)
    assert sent.first_time("d", 8)


def test_seqs_older_than_the_window_count_as_handed_over() -> None:
    sent = SentSeqs(window=8)
    assert sent.first_time("d", 100)
    assert sent.first_time("d", 93), "inside the window"
    assert not sent.first_time("d", 92), "older than the window"
    assert sent.first_time("d", 10_000), "a jump far beyond the window starts afresh"
    assert sent.first_time("d", 9_999)
    assert not sent.first_time("d", 10_000)


class Recorder(FanoutIndex[Any]):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.resumes: list[int] = []

    async def deliver(self, event: Any) -> None:
        self.events.append(event.name)

    async def catch_up(self, since_ms: int) -> None:
        self.resumes.append(since_ms)


async def test_attach_follows_events_and_resumes_until_detached() -> None:
    index = Recorder()
    async with MemoryBus() as bus:
        index.attach(bus)
        index.attach(bus)
        async with bus.outage():
            pass
        await bus.drain()
        assert len(index.resumes) == 1, "attached once, resumed once"
        index.detach()
        async with bus.outage():
            pass
        await bus.drain()
    assert len(index.resumes) == 1


async def test_the_default_catch_up_does_nothing() -> None:
    assert await FanoutIndex().catch_up(0) is None
