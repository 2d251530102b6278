"""ConnectionRegistry: who hears which event, what happens to a slow reader, and how
connections are caught up after a bus gap without hearing anything twice.

Fake connections stand in for sockets, and a list of events for what the store
would give back; events are real domain events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from tidings.bus import MemoryBus
from tidings.core.catch_up import Missed
from tidings.domain.events import MessageCreated, PresenceChanged, TypingChanged
from tidings.fanout import SentSeqs
from tidings.gateways.realtime.registry import CLOSE_TOO_SLOW, ConnectionRegistry


@dataclass(eq=False)
class FakeConnection:
    app_id: int
    user_id: int
    room: int = 10
    frames: list[str] = field(default_factory=list)
    kicked: tuple[int, str] | None = None
    opened_ms: int = 0
    sent: SentSeqs = field(default_factory=SentSeqs)

    def push(self, frame: str) -> bool:
        if len(self.frames) >= self.room:
            return False
        self.frames.append(frame)
        return True

    def kick(self, code: int, reason: str) -> None:
        self.kicked = (code, reason)

    def events(self) -> list[str]:
        return [json.loads(f)["event"] for f in self.frames]

    def seqs(self) -> list[int]:
        return [json.loads(f)["data"]["message"]["seq"] for f in self.frames]


def created(app_id: int = 1, recipients: tuple[int, ...] = (), everyone: bool = False):
    return MessageCreated(
        app_id=app_id,
        recipients=recipients,
        everyone=everyone,
        dialog_id="d1",
        message={"id": "m1", "body": "hi"},
    )


async def test_recipients_hear_it_on_every_connection_and_nobody_else_does() -> None:
    registry = ConnectionRegistry()
    phone, laptop = FakeConnection(1, 2), FakeConnection(1, 2)
    other, same_id_other_app = FakeConnection(1, 3), FakeConnection(9, 2)
    for conn in (phone, laptop, other, same_id_other_app):
        registry.add(conn)
    await registry.deliver(created(recipients=(2, 2, 4)))
    assert phone.events() == laptop.events() == ["message.created"]
    assert other.frames == same_id_other_app.frames == []
    data = json.loads(phone.frames[0])["data"]
    assert "recipients" not in data and "everyone" not in data


async def test_everyone_means_every_connection_of_the_app() -> None:
    registry = ConnectionRegistry()
    a, b, foreign = FakeConnection(1, 2), FakeConnection(1, 3), FakeConnection(2, 2)
    for conn in (a, b, foreign):
        registry.add(conn)
    await registry.deliver(created(everyone=True))
    assert a.events() == b.events() == ["message.created"]
    assert foreign.frames == []


async def test_typing_never_echoes_to_the_typer() -> None:
    registry = ConnectionRegistry()
    typer, reader = FakeConnection(1, 2), FakeConnection(1, 3)
    registry.add(typer)
    registry.add(reader)
    event = TypingChanged(app_id=1, recipients=(2, 3), dialog_id="d1", user_id=2, typing=True)
    await registry.deliver(event)
    assert typer.frames == []
    assert reader.events() == ["typing"]


async def test_a_full_outbox_drops_that_client_only() -> None:
    registry = ConnectionRegistry()
    slow, fast = FakeConnection(1, 2, room=1), FakeConnection(1, 3)
    registry.add(slow)
    registry.add(fast)
    for _ in range(3):
        await registry.deliver(created(recipients=(2, 3)))
    assert slow.kicked == (CLOSE_TOO_SLOW, "too slow")
    assert len(slow.frames) == 1
    assert len(fast.frames) == 3 and fast.kicked is None
    assert registry.connections() == [fast]


async def test_removed_connections_hear_nothing_and_removal_is_idempotent() -> None:
    registry = ConnectionRegistry()
    conn = FakeConnection(1, 2)
    registry.add(conn)
    registry.remove(conn)
    registry.remove(conn)
    await registry.deliver(created(recipients=(2,)))
    assert conn.frames == [] and len(registry) == 0


async def test_attach_subscribes_once_and_detach_unsubscribes() -> None:
    registry = ConnectionRegistry()
    conn = FakeConnection(1, 2)
    registry.add(conn)
    async with MemoryBus() as bus:
        registry.attach(bus)
        registry.attach(bus)
        await bus.publish(
            PresenceChanged(app_id=1, recipients=(2,), user_id=2, online=True, last_activity_ms=1)
        )
        await bus.drain()
        assert conn.events() == ["presence"]
        registry.detach()
        await bus.publish(created(recipients=(2,)))
        await bus.drain()
    assert conn.events() == ["presence"]


def stored(seq: int, recipients: tuple[int, ...] = (2,), created_ms: int = 1000) -> MessageCreated:
    """The ``message.created`` of a stored message (it has a seq)."""
    return MessageCreated(
        app_id=1,
        recipients=recipients,
        dialog_id="d1",
        message={"id": f"m{seq}", "seq": seq, "created_ms": created_ms, "body": "hi"},
    )


class Store:
    """Stands in for the store's answer to a catch-up."""

    def __init__(self, events: list[MessageCreated], complete: bool = True) -> None:
        self.missed = Missed(events, complete)
        self.asked: list[tuple[set[tuple[int, int]], int]] = []

    async def __call__(self, users: Iterable[tuple[int, int]], since_ms: int) -> Missed:
        self.asked.append((set(users), since_ms))
        return self.missed


async def test_a_stored_message_heard_twice_from_the_bus_is_sent_once() -> None:
    registry = ConnectionRegistry()
    conn = FakeConnection(1, 2)
    registry.add(conn)
    for seq in (1, 2, 2, 1, 3):
        await registry.deliver(stored(seq))
    assert conn.seqs() == [1, 2, 3]


async def test_catch_up_sends_only_what_each_connection_missed() -> None:
    store = Store([stored(1), stored(2), stored(3), stored(4)])
    registry = ConnectionRegistry(store)
    phone, laptop = FakeConnection(1, 2), FakeConnection(1, 2)
    registry.add(phone)
    registry.add(laptop)
    await registry.deliver(stored(1))
    await registry.deliver(stored(3))
    registry.add(late := FakeConnection(1, 2))
    await registry.catch_up(5000)
    assert store.asked == [({(1, 2)}, 5000)]
    assert phone.seqs() == laptop.seqs() == [1, 3, 2, 4]
    assert late.seqs() == [1, 2, 3, 4]
    # The bus delivers its held copies late: nothing is sent again.
    for seq in (2, 3, 4):
        await registry.deliver(stored(seq))
    assert phone.seqs() == [1, 3, 2, 4]


async def test_catch_up_skips_messages_stored_well_before_the_connection_opened() -> None:
    store = Store([stored(1, created_ms=1_000), stored(2, created_ms=95_000)])
    registry = ConnectionRegistry(store, margin_ms=10_000)
    conn = FakeConnection(1, 2, opened_ms=100_000)
    registry.add(conn)
    await registry.catch_up(90_000)
    assert conn.seqs() == [2]


async def test_when_more_was_missed_than_read_clients_are_told_to_resync() -> None:
    registry = ConnectionRegistry(Store([stored(1)], complete=False))
    conn, other = FakeConnection(1, 2), FakeConnection(1, 3)
    registry.add(conn)
    registry.add(other)
    await registry.catch_up(0)
    assert conn.events() == ["message.created", "resync.required"]
    assert other.events() == ["resync.required"]
    assert json.loads(other.frames[0])["data"] == {"app_id": 1, "reason": "bus_gap"}


async def test_without_a_store_a_catch_up_asks_for_a_resync() -> None:
    registry = ConnectionRegistry()
    conn = FakeConnection(1, 2)
    registry.add(conn)
    await registry.catch_up(0)
    assert conn.events() == ["resync.required"]


async def test_a_bus_outage_runs_the_catch_up_on_the_dispatcher() -> None:
    store = Store([stored(2)])
    registry = ConnectionRegistry(store)
    conn = FakeConnection(1, 2)
    registry.add(conn)
    async with MemoryBus() as bus:
        registry.attach(bus)
        await bus.publish(stored(1))
        async with bus.outage():
            await bus.publish(stored(2))
        await bus.publish(stored(3))
        await bus.drain()
    assert conn.seqs() == [1, 2, 3]
    assert len(store.asked) == 1


async def test_if_the_store_cannot_answer_clients_are_told_to_resync() -> None:
    async def broken(users: Iterable[tuple[int, int]], since_ms: int) -> Missed:
        raise OSError("database unreachable")

    registry = ConnectionRegistry(broken)
    conn = FakeConnection(1, 2)
    registry.add(conn)
    await registry.catch_up(0)
    assert conn.events() == ["resync.required"]
