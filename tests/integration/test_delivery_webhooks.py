"""Webhooks through the outbox: signed, retried with backoff, delivered once per key,
and a storm of queued deliveries drains with bounded memory."""

from __future__ import annotations

import secrets
import time
import tracemalloc
from typing import Any

import pytest

from tests.conftest import TestServer
from tests.integration.delivery_fakes import WebhookReceiver, eventually, running
from tidings.core.outbox import enqueue
from tidings.delivery import DeliveryWorkers
from tidings.domain.models import App
from tidings.store import outbox_claims


async def queue_webhooks(server: TestServer, app: App, url: str, count: int) -> list[str]:
    """What a core service does: enqueue in its own transaction."""
    keys = [f"test:{secrets.token_hex(8)}:{n}" for n in range(count)]
    now = server.core.now_ms()
    async with server.core.db.transaction() as conn:
        for n, key in enumerate(keys):
            await enqueue(
                conn,
                app_id=app.id,
                kind="webhook",
                destination=url,
                payload={"event": "test.event", "body": {"n": n, "text": "héllo ✓"}},
                idempotency_key=key,
                now_ms=now,
            )
    return keys


async def rows(server: TestServer, app: App) -> list[Any]:
    async with server.core.db.read() as conn:
        return await outbox_claims.get_rows(conn, app_id=app.id)


def workers_of(server: TestServer) -> DeliveryWorkers:
    return server.app.state.delivery  # type: ignore[no-any-return]


async def test_a_failing_receiver_gets_each_event_exactly_once_signed(server: TestServer) -> None:
    app = await server.new_app("webhooks")
    receiver = WebhookReceiver(secret=app.auth_secret, fail_first=3)
    async with running(receiver) as url:
        keys = await queue_webhooks(server, app, f"{url}/hooks/tidings", 5)
        await eventually(lambda: len(receiver.processed) == 5, what="5 webhooks")
        stored = await eventually(
            lambda: _all_delivered(server, app, 5), what="outbox rows delivered"
        )
    assert sorted(p["key"] for p in receiver.processed) == sorted(keys)
    assert receiver.duplicates == 0 and receiver.bad_signatures == 0
    assert all(receiver.attempts[k] == 4 for k in keys), "3 failures, then accepted"
    assert {p["event"] for p in receiver.processed} == {"test.event"}
    assert sorted(p["body"]["n"] for p in receiver.processed) == [0, 1, 2, 3, 4]
    assert receiver.processed[0]["body"]["text"] == "héllo ✓"
    assert all(r.attempts == 4 and r.delivered_ms for r in stored)


async def _all_delivered(server: TestServer, app: App, count: int) -> list[Any] | None:
    found = await rows(server, app)
    done = [r for r in found if r.state == "delivered"]
    return done if len(done) == count else None


@pytest.mark.slow
async def test_a_push_storm_drains_with_bounded_memory(server: TestServer) -> None:
    app = await server.new_app("storm")
    receiver = WebhookReceiver(secret=app.auth_secret)
    count = 3000
    async with running(receiver) as url:
        tracemalloc.start()
        try:
            keys = await queue_webhooks(server, app, url, count)
            tracemalloc.reset_peak()
            started = time.perf_counter()
            await eventually(lambda: len(receiver.processed) == count, limit=180, what="storm")
            elapsed = time.perf_counter() - started
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await eventually(lambda: _all_delivered(server, app, count), what="rows delivered")
    assert len({p["key"] for p in receiver.processed}) == count == len(keys)
    assert receiver.duplicates == 0
    worker = workers_of(server)
    assert worker.peak_in_memory <= server.settings.delivery_batch
    # Bounded: the drain holds one batch, not the storm (3000 rows would be several MB
    # of payload dicts alone, plus the receiver's records which are counted here too).
    assert peak < 64 * 1024 * 1024, f"peak traced memory {peak / 1e6:.1f} MB"
    print(f"storm: {count} webhooks in {elapsed:.2f}s, traced peak {peak / 1e6:.1f} MB")
