"""MemoryBus: ordered, isolated delivery through the same JSON round trip as Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from tidings.bus import MemoryBus, RedisBus, create_bus
from tidings.domain.events import Event, MessageCreated, TypingChanged


def typing_event(user_id: int, typing: bool = True) -> TypingChanged:
    return TypingChanged(
        app_id=1, recipients=(2, 3), dialog_id="d1", user_id=user_id, typing=typing
    )


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    async with MemoryBus() as bus:
        yield bus


async def test_every_handler_gets_events_in_publish_order(bus: MemoryBus) -> None:
    first: list[Event] = []
    second: list[Event] = []

    async def collect_first(event: Event) -> None:
        first.append(event)

    async def collect_second(event: Event) -> None:
        second.append(event)

    bus.subscribe(collect_first)
    bus.subscribe(collect_second)
    events = [typing_event(user_id) for user_id in range(50)]
    for event in events:
        await bus.publish(event)
    await bus.drain()

    assert first == events
    assert second == events


async def test_handlers_get_a_decoded_copy(bus: MemoryBus) -> None:
    received: list[Event] = []

    async def collect(event: Event) -> None:
        received.append(event)

    bus.subscribe(collect)
    event = MessageCreated(app_id=1, recipients=(2,), dialog_id="d1", message={"body": "hi"})
    await bus.publish(event)
    await bus.drain()

    assert received == [event]
    assert received[0] is not event
    assert received[0].message is not event.message


@pytest.mark.parametrize("bad", [object(), {1, 2}, b"bytes", float("nan")])
async def test_unserializable_event_fails_at_publish(bus: MemoryBus, bad: object) -> None:
    received: list[Event] = []

    async def collect(event: Event) -> None:
        received.append(event)

    bus.subscribe(collect)
    event = MessageCreated(app_id=1, dialog_id="d1", message={"bad": bad})
    with pytest.raises((TypeError, ValueError)):
        await bus.publish(event)
    await bus.drain()
    assert received == []


async def test_failing_handler_is_logged_and_others_still_run(
    bus: MemoryBus, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[Event] = []

    async def explode(event: Event) -> None:
        raise RuntimeError("boom")

    async def collect(event: Event) -> None:
        received.append(event)

    bus.subscribe(explode)
    bus.subscribe(collect)
    with caplog.at_level(logging.ERROR, logger="tidings.bus"):
        await bus.publish(typing_event(1))
        await bus.publish(typing_event(2))
        await bus.drain()

    assert [e.user_id for e in received] == [1, 2]  # type: ignore[attr-defined]
    failures = [r for r in caplog.records if r.name == "tidings.bus"]
    assert len(failures) == 2
    assert failures[0].exc_info is not None
    assert failures[0].event_type == "typing"  # type: ignore[attr-defined]


async def test_unsubscribe_stops_delivery_and_is_idempotent(bus: MemoryBus) -> None:
    received: list[Event] = []

    async def collect(event: Event) -> None:
        received.append(event)

    unsubscribe = bus.subscribe(collect)
    again = bus.subscribe(collect)
    await bus.publish(typing_event(1))
    await bus.drain()
    unsubscribe()
    unsubscribe()
    await bus.publish(typing_event(2))
    await bus.drain()
    again()
    await bus.publish(typing_event(3))
    await bus.drain()

    assert [e.user_id for e in received] == [1, 1, 2]  # type: ignore[attr-defined]


async def test_event_published_by_a_handler_comes_after_the_current_one(bus: MemoryBus) -> None:
    seen: list[tuple[str, int]] = []

    async def echo(event: Event) -> None:
        seen.append(("echo", event.user_id))  # type: ignore[attr-defined]
        if event.user_id == 1:  # type: ignore[attr-defined]
            await bus.publish(typing_event(99))

    async def collect(event: Event) -> None:
        seen.append(("collect", event.user_id))  # type: ignore[attr-defined]

    bus.subscribe(echo)
    bus.subscribe(collect)
    await bus.publish(typing_event(1))
    await bus.publish(typing_event(2))
    await bus.drain()

    assert seen == [
        ("echo", 1),
        ("collect", 1),
        ("echo", 2),
        ("collect", 2),
        ("echo", 99),
        ("collect", 99),
    ]


async def test_publish_needs_a_running_bus() -> None:
    bus = MemoryBus()
    with pytest.raises(RuntimeError):
        await bus.publish(typing_event(1))
    await bus.start()
    with pytest.raises(RuntimeError):
        await bus.start()
    await bus.close()
    await bus.close()
    with pytest.raises(RuntimeError):
        await bus.publish(typing_event(1))


async def test_close_stops_the_dispatcher_task() -> None:
    """Only this bus's dispatcher is checked: other buses (a test server's) may be running."""
    bus = MemoryBus()
    await bus.start()
    before = {t for t in asyncio.all_tasks() if t.get_name() == "tidings-bus-memory"}
    await bus.close()
    after = {t for t in asyncio.all_tasks() if t.get_name() == "tidings-bus-memory"}
    assert len(before - after) == 1, "closing stops exactly this bus's dispatcher"
    assert all(t.done() for t in before - after)


async def test_close_from_a_handler_does_not_deadlock() -> None:
    bus = MemoryBus()
    closed = asyncio.Event()

    async def close_bus(event: Event) -> None:
        await bus.close()
        closed.set()

    bus.subscribe(close_bus)
    await bus.start()
    await bus.publish(typing_event(1))
    await asyncio.wait_for(closed.wait(), timeout=2)


def test_create_bus_picks_the_implementation_from_the_url() -> None:
    assert isinstance(create_bus("memory://"), MemoryBus)
    redis_bus = create_bus("redis://127.0.0.1:6379/0", channel="elsewhere")
    assert isinstance(redis_bus, RedisBus)
    assert redis_bus.channel == "elsewhere"
    with pytest.raises(ValueError, match="unsupported bus URL"):
        create_bus("kafka://broker")
    with pytest.raises(ValueError):
        create_bus("memory")


async def test_resume_handlers_run_after_an_outage_only_and_can_be_removed(
    bus: MemoryBus,
) -> None:
    """Nothing is lost in memory, so only a test's outage runs the resume handlers;
    they run on the dispatcher, after what came before and before what comes after."""
    seen: list[object] = []

    async def collect(event: Event) -> None:
        seen.append(event.user_id)  # type: ignore[attr-defined]

    async def resumed(since_ms: int) -> None:
        seen.append(("resume", since_ms > 0))

    bus.subscribe(collect)
    unregister = bus.on_resume(resumed)
    await bus.publish(typing_event(1))
    async with bus.outage():
        await bus.publish(typing_event(2))
    await bus.publish(typing_event(3))
    await bus.drain()
    assert seen == [1, ("resume", True), 3]

    unregister()
    unregister()
    async with bus.outage():
        pass
    await bus.drain()
    assert seen == [1, ("resume", True), 3]


async def test_a_failing_resume_handler_is_logged_and_the_next_still_runs(
    bus: MemoryBus, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[int] = []

    async def explode(since_ms: int) -> None:
        raise RuntimeError("boom")

    async def record(since_ms: int) -> None:
        ran.append(since_ms)

    bus.on_resume(explode)
    bus.on_resume(record)
    with caplog.at_level(logging.ERROR, logger="tidings.bus"):
        async with bus.outage():
            pass
        await bus.drain()
    assert len(ran) == 1
    assert any("resume handler" in r.getMessage() for r in caplog.records)
