"""ConnectionRegistry: who hears which event, and what happens to a slow reader.

Fake connections stand in for sockets; events are real domain events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tidings.bus import MemoryBus
from tidings.core.events import MessageCreated, PresenceChanged, TypingChanged
from tidings.gateways.realtime.registry import CLOSE_TOO_SLOW, ConnectionRegistry


@dataclass(eq=False)
class FakeConnection:
    app_id: int
    user_id: int
    room: int = 10
    frames: list[str] = field(default_factory=list)
    kicked: tuple[int, str] | None = None

    def push(self, frame: str) -> bool:
        if len(self.frames) >= self.room:
            return False
        self.frames.append(frame)
        return True

    def kick(self, code: int, reason: str) -> None:
        self.kicked = (code, reason)

    def events(self) -> list[str]:
        return [json.loads(f)["event"] for f in self.frames]


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
