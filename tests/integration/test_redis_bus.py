"""RedisBus against a real Redis: every node, publisher included, gets each event once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.helpers import wait_until
from tidings.bus import RedisBus
from tidings.domain.events import Event, TypingChanged

from ..services import require_redis
from .redis_server import RedisServer

pytestmark = pytest.mark.redis


class Collector:
    """A handler that records events and lets a test wait for a count."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, count: int) -> list[Event]:
        """Wait (up to five seconds) until at least ``count`` events arrived."""
        return await self.wait_until(lambda: len(self.events) >= count)

    async def wait_until(self, done: Callable[[], bool]) -> list[Event]:
        async with asyncio.timeout(5):
            while not done():
                self._changed.clear()
                await self._changed.wait()
        return self.events

    @property
    def user_ids(self) -> list[int]:
        return [event.user_id for event in self.events]  # type: ignore[attr-defined]


def typing_event(user_id: int) -> TypingChanged:
    return TypingChanged(app_id=1, recipients=(7,), dialog_id="d1", user_id=user_id, typing=True)


@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def channel() -> str:
    return f"tidings:test:{uuid.uuid4().hex}"


@pytest.fixture
async def nodes(redis_url: str, channel: str) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    name = channel.replace(":", "-")
    a = RedisBus(redis_url, channel=channel, client_name=f"{name}-a", backoff_min=0.05)
    b = RedisBus(redis_url, channel=channel, client_name=f"{name}-b", backoff_min=0.05)
    await a.start()
    await b.start()
    yield a, b
    await a.close()
    await b.close()


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_event_arrives_exactly_once_at_every_node(nodes: tuple[RedisBus, RedisBus]) -> None:
    a, b = nodes
    at_a, at_b = Collector(), Collector()
    a.subscribe(at_a)
    b.subscribe(at_b)

    await a.publish(typing_event(1))
    # A second event, in order behind the first: once it is in, any duplicate
    # of the first would have arrived already.
    await a.publish(typing_event(2))
    await at_a.wait_for(2)
    await at_b.wait_for(2)

    assert at_a.events == at_b.events == [typing_event(1), typing_event(2)]


async def test_order_is_kept_for_200_events(nodes: tuple[RedisBus, RedisBus]) -> None:
    a, b = nodes
    at_a, at_b = Collector(), Collector()
    a.subscribe(at_a)
    b.subscribe(at_b)

    for user_id in range(200):
        await a.publish(typing_event(user_id))
    await at_a.wait_for(200)
    await at_b.wait_for(200)

    assert at_a.user_ids == at_b.user_ids == list(range(200))


async def test_all_nodes_see_concurrent_publishes_in_the_same_order(
    nodes: tuple[RedisBus, RedisBus],
) -> None:
    a, b = nodes
    at_a, at_b = Collector(), Collector()
    a.subscribe(at_a)
    b.subscribe(at_b)

    async def publish_from(bus: RedisBus, ids: range) -> None:
        for user_id in ids:
            await bus.publish(typing_event(user_id))

    await asyncio.gather(publish_from(a, range(0, 100)), publish_from(b, range(100, 200)))
    await at_a.wait_for(200)
    await at_b.wait_for(200)

    assert at_a.user_ids == at_b.user_ids
    assert sorted(at_a.user_ids) == list(range(200))
    assert [i for i in at_a.user_ids if i < 100] == list(range(100))


async def test_failing_handler_does_not_stop_delivery(
    nodes: tuple[RedisBus, RedisBus], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = nodes

    async def explode(event: Event) -> None:
        raise RuntimeError("boom")

    at_b = Collector()
    b.subscribe(explode)
    b.subscribe(at_b)
    with caplog.at_level(logging.ERROR, logger="tidings.bus"):
        await a.publish(typing_event(1))
        await a.publish(typing_event(2))
        await at_b.wait_for(2)

    assert at_b.user_ids == [1, 2]
    assert sum("handler" in r.getMessage() for r in caplog.records) == 2


async def test_undecodable_message_is_logged_and_skipped(
    nodes: tuple[RedisBus, RedisBus],
    admin: aioredis.Redis,
    channel: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = nodes
    at_a, at_b = Collector(), Collector()
    a.subscribe(at_a)
    b.subscribe(at_b)
    with caplog.at_level(logging.ERROR, logger="tidings.bus"):
        await admin.publish(channel, b"not json")
        await admin.publish(channel, b'{"type": "NoSuchEvent"}')
        await a.publish(typing_event(1))
        await at_a.wait_for(1)
        await at_b.wait_for(1)

    assert at_a.user_ids == at_b.user_ids == [1]
    # Two bad messages, each dropped by both nodes.
    assert sum("undecodable" in r.getMessage() for r in caplog.records) == 4


async def test_reader_resubscribes_after_its_connection_is_killed(
    nodes: tuple[RedisBus, RedisBus], admin: aioredis.Redis, channel: str
) -> None:
    a, b = nodes
    at_a, at_b = Collector(), Collector()
    a.subscribe(at_a)
    b.subscribe(at_b)
    name = channel.replace(":", "-") + "-b"

    victims = [c for c in await admin.client_list(_type="pubsub") if c["name"] == name]
    assert len(victims) == 1
    await admin.client_kill_filter(_id=victims[0]["id"])

    # Redis keeps nothing for a node while it resubscribes, so probe until b
    # hears again; every probe still reaches a exactly once.
    probe = 0

    async def b_hears() -> bool:
        nonlocal probe
        if at_b.events:
            return True
        probe += 1
        await a.publish(typing_event(probe))
        return False

    await wait_until(b_hears, limit=10, what="node b to resubscribe", every=0.05)
    await a.publish(typing_event(10_000))
    await at_a.wait_for(probe + 1)
    await at_b.wait_until(lambda: at_b.user_ids[-1] == 10_000)

    assert at_a.user_ids == [*range(1, probe + 1), 10_000]
    assert at_b.user_ids[-1] == 10_000
    assert at_b.user_ids == sorted(set(at_b.user_ids))


async def test_close_cancels_the_reader_and_disconnects(
    redis_url: str, channel: str, admin: aioredis.Redis
) -> None:
    bus = RedisBus(redis_url, channel=channel)
    await bus.start()
    assert (await admin.pubsub_numsub(channel))[0][1] == 1
    await bus.close()
    await bus.close()

    assert "tidings-bus-redis" not in {t.get_name() for t in asyncio.all_tasks()}
    assert (await admin.pubsub_numsub(channel))[0][1] == 0
    with pytest.raises(RuntimeError):
        await bus.publish(typing_event(1))


async def test_start_fails_fast_when_redis_is_unreachable() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", connect_timeout=1.0)
    with pytest.raises(Exception):  # noqa: B017 - redis-py's ConnectionError, or OSError
        await bus.start()
    assert "tidings-bus-redis" not in {t.get_name() for t in asyncio.all_tasks()}


# -- outages: a Redis of the test's own, killed, restarted or paused --------------------


class Resumes:
    """A resume handler that records each ``since_ms`` it is given."""

    def __init__(self) -> None:
        self.since: list[int] = []
        self._changed = asyncio.Event()

    async def __call__(self, since_ms: int) -> None:
        self.since.append(since_ms)
        self._changed.set()

    async def wait(self, timeout: float = 20) -> list[int]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not self.since:
                self._changed.clear()
                await self._changed.wait()
        return self.since


@contextlib.asynccontextmanager
async def quick_bus(url: str, channel: str, name: str, **options: Any) -> AsyncIterator[RedisBus]:
    """A bus that notices trouble and reconnects within a second or so."""
    options = {"backoff_min": 0.05, "backoff_max": 0.5, "connect_timeout": 1.0, **options}
    bus = RedisBus(url, channel=channel, client_name=name, **options)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def test_publish_holds_events_while_redis_is_down_and_every_node_resumes(
    redis_server: RedisServer, channel: str
) -> None:
    """Issue: "A bus outage loses nothing": publishing does not fail while Redis is
    away; what each node then hears is in order and once, and each node resumes from
    before the outage (its gateways catch up from the store what it did not hear)."""
    async with (
        quick_bus(redis_server.url, channel, "outage-a") as a,
        quick_bus(redis_server.url, channel, "outage-b") as b,
    ):
        heard = {a: Collector(), b: Collector()}
        resumed = {a: Resumes(), b: Resumes()}
        for bus in (a, b):
            bus.subscribe(heard[bus])
            bus.on_resume(resumed[bus])
        await a.publish(typing_event(0))
        await heard[a].wait_for(1)
        await heard[b].wait_for(1)
        killed_ms = now_ms()
        await redis_server.kill()
        for user_id in range(1, 51):
            await a.publish(typing_event(user_id))  # never raises: the write is committed
        await redis_server.start()
        since = {bus: (await resumed[bus].wait())[0] for bus in (a, b)}
        await a.publish(typing_event(1000))
        for bus in (a, b):
            await heard[bus].wait_until(lambda bus=bus: heard[bus].user_ids[-1:] == [1000])

    for bus in (a, b):
        ids = heard[bus].user_ids
        assert ids[0] == 0 and ids[-1] == 1000
        assert ids == sorted(set(ids)), "in publish order, each once"
        assert since[bus] <= killed_ms, "resumed from before anything could be missed"
    print(f"\nheard while Redis restarted: a {len(heard[a].events)}, b {len(heard[b].events)}")


async def test_events_past_the_backlog_are_dropped_and_every_node_is_told(
    redis_server: RedisServer, channel: str
) -> None:
    """While Redis holds PUBLISH (CLIENT PAUSE WRITE) node a may keep 3 events; the rest
    are dropped, and once Redis takes writes again node b (whose subscription never
    broke) hears the 3 held events once each and then a notice that resumes it from
    the first drop. The batch cut off by the pause is published again whole."""
    admin = aioredis.Redis.from_url(redis_server.url)
    try:
        async with (
            quick_bus(redis_server.url, channel, "drop-a", backlog=3, connect_timeout=0.5) as a,
            quick_bus(redis_server.url, channel, "drop-b") as b,
        ):
            at_b, resumed_a, resumed_b = Collector(), Resumes(), Resumes()
            b.subscribe(at_b)
            a.on_resume(resumed_a)
            b.on_resume(resumed_b)
            await admin.execute_command("CLIENT", "PAUSE", "1500", "WRITE")
            for user_id in range(1, 4):
                await a.publish(typing_event(user_id))
            first_drop_ms = now_ms()
            for user_id in range(4, 21):
                await a.publish(typing_event(user_id))
            since_b = (await resumed_b.wait())[0]
            since_a = (await resumed_a.wait())[0]
            await a.publish(typing_event(1000))
            await at_b.wait_until(lambda: at_b.user_ids[-1:] == [1000])
    finally:
        await admin.aclose()

    assert at_b.user_ids == [1, 2, 3, 1000]
    assert since_a == since_b and since_b <= first_drop_ms + 50
    assert resumed_b.since == [since_b], "b resumed once, on a's notice"


async def test_a_silent_subscription_is_noticed_by_its_ping(
    redis_server: RedisServer, channel: str
) -> None:
    """A half-open link raises nothing; a PING that gets no answer does. Redis stops
    answering for two seconds (CLIENT PAUSE ALL); the reader resubscribes and resumes."""
    admin = aioredis.Redis.from_url(redis_server.url)
    try:
        async with quick_bus(redis_server.url, channel, "silent", ping_interval=0.2) as bus:
            resumed = Resumes()
            bus.on_resume(resumed)
            before_ms = now_ms()
            await admin.execute_command("CLIENT", "PAUSE", "2000", "ALL")
            since = (await resumed.wait())[0]
            at = Collector()
            bus.subscribe(at)
            await bus.publish(typing_event(1))
            await at.wait_for(1)
    finally:
        await admin.aclose()
    assert since <= before_ms + 50
    assert at.user_ids == [1]


async def test_close_publishes_what_is_still_queued(
    nodes: tuple[RedisBus, RedisBus], redis_url: str, channel: str
) -> None:
    """A CLI command publishes and exits at once: its events must still go out."""
    _, b = nodes
    at_b = Collector()
    b.subscribe(at_b)
    short_lived = RedisBus(redis_url, channel=channel)
    await short_lived.start()
    for user_id in range(20):
        await short_lived.publish(typing_event(user_id))
    await short_lived.close()
    await at_b.wait_for(20)
    assert at_b.user_ids == list(range(20))


async def test_two_clusters_on_one_redis_do_not_hear_each_other(
    redis_url: str, tmp_path: Any
) -> None:
    """``TIDINGS_REDIS_NAMESPACE`` names the bus channel and the limiter's keys: a node
    of cluster "a" hears its own events and none of cluster "b"'s on the same Redis."""
    from tests.conftest import start_server
    from tidings.settings import Settings

    suffix = uuid.uuid4().hex[:8]
    servers = []
    for name in ("a", "b"):
        settings = Settings(
            data_dir=tmp_path / name,
            bus_url=redis_url,
            redis_namespace=f"{name}-{suffix}",
            port=0,
            xmpp_port=0,
        )
        servers.append(await start_server(settings, "sqlite"))
    (a, stop_a), (b, stop_b) = servers
    try:
        assert a.core.bus.channel == f"a-{suffix}:events"
        assert a.core.auth.limiter.prefix == f"a-{suffix}:rl:"
        heard_a, heard_b = Collector(), Collector()
        a.core.bus.subscribe(heard_a)
        b.core.bus.subscribe(heard_b)
        await a.core.bus.publish(typing_event(1))
        await b.core.bus.publish(typing_event(2))
        await heard_a.wait_for(1)
        await heard_b.wait_for(1)
        await a.core.bus.publish(typing_event(3))  # a fence: after 1, before nothing of b's
        await heard_a.wait_for(2)
        print(f"cluster a heard {heard_a.user_ids}, cluster b heard {heard_b.user_ids}")
        assert heard_a.user_ids == [1, 3] and heard_b.user_ids == [2]
    finally:
        await stop_a()
        await stop_b()
