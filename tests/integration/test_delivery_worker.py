"""The outbox worker on its own core (both backends): dead letters, leases after a
crash, and concurrent claimers that never take the same row."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.integration.conftest import fresh_postgres_database
from tests.integration.delivery_fakes import WebhookReceiver, running
from tidings.bus.memory import MemoryBus
from tidings.core.clock import ManualClock
from tidings.core.hub import Core
from tidings.core.outbox import enqueue
from tidings.delivery import DeliveryWorkers
from tidings.delivery.webhooks import WebhookProvider
from tidings.domain.models import App
from tidings.files.memory import MemoryFileStorage
from tidings.settings import Settings
from tidings.store import outbox_claims
from tidings.store.database import Database
from tidings.store.migrate import migrate


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def core(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Core]:
    async with contextlib.AsyncExitStack() as stack:
        url = ""
        if request.param == "postgres":
            url = (await stack.enter_async_context(fresh_postgres_database())).url
        settings = Settings(
            data_dir=tmp_path,
            database_url=url,
            delivery_max_attempts=4,
            delivery_lease_ms=30_000,
            delivery_batch=10,
            webhook_allow_private=True,
        )
        db = Database(settings.effective_database_url)
        stack.push_async_callback(db.close)  # before the database is dropped
        await migrate(db)
        yield Core(settings, db, MemoryBus(), MemoryFileStorage(), clock=ManualClock())


async def queue(core: Core, app: App, url: str, count: int) -> None:
    async with core.db.transaction() as conn:
        for n in range(count):
            await enqueue(
                conn,
                app_id=app.id,
                kind="webhook",
                destination=url,
                payload={"event": "t", "body": {"n": n}},
                idempotency_key=f"k{n}",
                now_ms=core.now_ms(),
            )


async def all_rows(core: Core) -> list[Any]:
    async with core.db.read() as conn:
        return await outbox_claims.get_rows(conn)


async def test_out_of_attempts_is_dead(core: Core) -> None:
    app = await core.apps.create_app("a")
    receiver = WebhookReceiver(app.auth_secret, fail_first=100)
    workers = DeliveryWorkers(core, {"webhook": WebhookProvider(core.settings)})
    async with running(receiver) as url:
        await queue(core, app, url, 1)
        for _ in range(10):
            await workers.run_once()
            core.clock.advance(3600)  # type: ignore[attr-defined]
    await workers.stop()
    [row] = await all_rows(core)
    assert (row.state, row.attempts, row.last_error) == ("dead", 4, "HTTP 500")
    assert receiver.attempts["k0"] == 4


async def test_a_crashed_workers_rows_come_back_after_the_lease(core: Core) -> None:
    app = await core.apps.create_app("a")
    receiver = WebhookReceiver(app.auth_secret)
    workers = DeliveryWorkers(core, {"webhook": WebhookProvider(core.settings)})
    async with running(receiver) as url:
        await queue(core, app, url, 3)
        async with core.db.transaction() as conn:  # a worker claims, then dies
            claimed = await outbox_claims.claim_due(
                conn, now_ms=core.now_ms(), lease_ms=30_000, limit=10
            )
        assert len(claimed) == 3
        assert await workers.run_once() == 0, "leased rows are not claimed again"
        core.clock.advance(31)  # type: ignore[attr-defined]
        assert await workers.run_once() == 3
        # The dead worker wakes up late: its lease is gone, it cannot overwrite anything.
        async with core.db.transaction() as conn:
            assert not await outbox_claims.mark_retry(
                conn,
                claimed[0].id,
                claimed[0].locked_until_ms,
                next_ms=0,
                error="late",
                now_ms=core.now_ms(),
            )
    await workers.stop()
    assert sorted(p["key"] for p in receiver.processed) == ["k0", "k1", "k2"]
    assert {(r.state, r.attempts) for r in await all_rows(core)} == {("delivered", 2)}


async def test_concurrent_claimers_never_share_a_row(core: Core) -> None:
    app = await core.apps.create_app("a")
    await queue(core, app, "http://127.0.0.1:9/", 300)
    taken: list[int] = []

    async def claimer() -> None:
        while True:
            async with core.db.transaction() as conn:
                got = await outbox_claims.claim_due(
                    conn, now_ms=core.now_ms(), lease_ms=60_000, limit=7
                )
            if not got:
                return
            taken.extend(r.id for r in got)
            await asyncio.sleep(0)

    await asyncio.gather(*(claimer() for _ in range(8)))
    assert len(taken) == 300 and len(set(taken)) == 300
