"""A Redis restart loses no live delivery across nodes (ARCHITECTURE: "A node that loses
the bus catches its live sessions up from the store"; issue: "A bus outage loses
nothing").

Two ``tidings serve`` processes share a fresh PostgreSQL database and a Redis of the
test's own (``redis-server --save '' --appendonly no``: a restart comes back empty,
as a crashed cache does). The recipient holds a native WebSocket on node 2; the
sender posts 500 messages over REST to node 1. Mid-burst the Redis is killed with
SIGKILL and started again on the same port. Every ``message.created`` the recipient's
socket receives is counted by message id: all 500 must arrive, each exactly once.

The second run keeps Redis down while all 500 are sent, with node 1 allowed to hold
only 20 events (``TIDINGS_BUS_BACKLOG``): most events are dropped at the publisher,
so what reaches node 2's client comes through the catch-up from the store.

Four senders post concurrently, so the events of one dialog can reach Redis out of
``seq`` order, as they do in production; order at the client is counted, not asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import FreshDatabase
from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tests.integration.redis_server import RedisServer
from tidings.client import Event, RealtimeConnection, TidingsClient

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

TOTAL = 500
#: Kill Redis once this many messages are stored, and start it again after OUTAGE seconds.
KILL_AT = 150
OUTAGE = 1.0
#: How long the recipient may wait for all messages (generous: a catch-up is seconds).
DEADLINE = 90.0
#: Concurrent REST senders: a burst, with sends of one dialog racing each other.
SENDERS = 4


@dataclass
class Received:
    """``message.created`` events at the recipient's socket, by message id."""

    counts: Counter[str] = field(default_factory=Counter)
    seqs: list[int] = field(default_factory=list)
    resync_notices: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, frame: Event, dialog_id: str) -> None:
        if frame.event == "resync.required":
            self.resync_notices += 1
        elif frame.event == "message.created" and frame.data["dialog_id"] == dialog_id:
            message = frame.data["message"]
            self.counts[message["id"]] += 1
            self.seqs.append(message["seq"])
        self.changed.set()

    def inversions(self) -> int:
        return sum(1 for a, b in zip(self.seqs, self.seqs[1:], strict=False) if b < a)


async def listen(ws: RealtimeConnection, dialog_id: str, received: Received) -> None:
    while True:
        received.add(await ws.next_event(timeout=3600), dialog_id)


async def wait_for(received: Received, ids: set[str], deadline: float) -> None:
    while not ids <= received.counts.keys() and time.monotonic() < deadline:
        received.changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await received.changed.wait()


async def run_outage(
    tmp_path: Path, database_url: str, redis: RedisServer, *, backlog: int, whole_burst: bool
) -> dict[str, Any]:
    """Send TOTAL messages node 1 -> node 2 across a Redis restart; count what arrived."""
    env = cli_env(tmp_path, TIDINGS_DATABASE_URL=database_url, TIDINGS_BUS_URL=redis.url)
    app = await run_cli_json(env, "app", "create", f"outage-{secrets.token_hex(3)}")
    for login in ("sender", "recipient"):
        await run_cli_json(
            env, "user", "create", str(app["app_id"]), "--login", login, "--password", "secret123"
        )
    node1_env = {**env, "TIDINGS_BUS_BACKLOG": str(backlog)}
    node1, node2 = await asyncio.gather(
        ServerProcess(node1_env).start(), ServerProcess(env).start()
    )
    sender = TidingsClient(node1.url)
    recipient = TidingsClient(node2.url)
    listener: asyncio.Task[None] | None = None
    try:
        await sender.login(app["app_id"], "sender", "secret123")
        await recipient.login(app["app_id"], "recipient", "secret123")
        dialog = await sender.create_dialog("private", [(await recipient.me()).id])
        ws = await RealtimeConnection.connect(recipient.ws_url, recipient.token)
        received = Received()
        listener = asyncio.create_task(listen(ws, dialog.id, received))
        sent: list[str] = []
        numbers = iter(range(TOTAL))
        stored = asyncio.Condition()

        async def send() -> None:
            for i in numbers:
                message = await sender.send_message(dialog.id, f"burst {i}")
                async with stored:
                    sent.append(message.id)
                    stored.notify_all()

        async def break_redis() -> None:
            """Kill Redis at KILL_AT stored messages (whole burst: it is down already),
            start it again OUTAGE seconds later (whole burst: once all are stored)."""
            async with stored:
                await stored.wait_for(lambda: len(sent) >= (TOTAL if whole_burst else KILL_AT))
            if not whole_burst:
                await redis.kill()
            await asyncio.sleep(OUTAGE)  # the point: Redis stays down this long
            await redis.start()

        if whole_burst:
            await redis.kill()
        breaking = asyncio.create_task(break_redis())
        await asyncio.gather(*(send() for _ in range(SENDERS)))
        await breaking
        started = time.monotonic()
        await wait_for(received, set(sent), started + DEADLINE)
        # A barrier: sent after everything else, it reaches node 2 behind every event
        # node 1 held, so any late copy of an earlier message would be counted by now.
        last = await sender.send_message(dialog.id, "after the burst")
        await wait_for(received, {last.id}, time.monotonic() + DEADLINE)
        await ws.close()
        counts = {m: received.counts[m] for m in sent}
        result = {
            "sent": TOTAL,
            "received": sum(1 for n in counts.values() if n),
            "lost": sum(1 for n in counts.values() if n == 0),
            "duplicated": sum(n - 1 for n in counts.values() if n > 1),
            "out_of_order": received.inversions(),
            "resync_notices": received.resync_notices,
            "barrier_arrived": received.counts[last.id] == 1,
            "caught_up_in_s": round(time.monotonic() - started, 1),
        }
        result["pushed_by_catch_up"] = sum(
            int(match.group(1))
            for line in node2.output
            if (match := re.search(r"(\d+) messages pushed", line))
        )
        logs = [line.strip() for line in node1.output + node2.output if "bus" in line]
        result["bus_log"] = logs[-12:]
        return result
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(BaseException):
                await listener
        await sender.aclose()
        await recipient.aclose()
        await asyncio.gather(node1.stop(), node2.stop())


@pytest.mark.slow
async def test_redis_killed_and_restarted_mid_burst_loses_and_repeats_nothing(
    tmp_path: Path, fresh_postgres: FreshDatabase, redis_server: RedisServer
) -> None:
    result = await run_outage(
        tmp_path, fresh_postgres.url, redis_server, backlog=10_000, whole_burst=False
    )
    print(f"\nRedis killed mid-burst for {OUTAGE}s: {result}")
    assert result["barrier_arrived"], result
    assert result["lost"] == 0, result
    assert result["duplicated"] == 0, result


@pytest.mark.slow
async def test_events_dropped_past_the_backlog_are_caught_up_from_the_store(
    tmp_path: Path, fresh_postgres: FreshDatabase, redis_server: RedisServer
) -> None:
    url = fresh_postgres.url
    result = await run_outage(tmp_path, url, redis_server, backlog=20, whole_burst=True)
    print(f"\nRedis down for the whole burst, backlog of 20: {result}")
    assert result["barrier_arrived"], result
    assert result["lost"] == 0, result
    assert result["duplicated"] == 0, result
