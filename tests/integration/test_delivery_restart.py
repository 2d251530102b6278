"""Kill ``tidings serve`` (SIGKILL) in the middle of webhook retries, start it again:
every event is still delivered, and the receiver processes each exactly once."""

from __future__ import annotations

from pathlib import Path

from tests.integration.delivery_fakes import WebhookReceiver, eventually, running
from tests.integration.processes import ServerProcess, cli_env
from tidings.bus.memory import MemoryBus
from tidings.core.hub import Core
from tidings.core.outbox import enqueue
from tidings.files.memory import MemoryFileStorage
from tidings.settings import Settings
from tidings.store import outbox_claims
from tidings.store.database import Database

EVENTS = 20


async def test_killed_mid_retries_then_restarted_delivers_everything_once(
    database_url: str, tmp_path: Path
) -> None:
    env = cli_env(
        tmp_path,
        TIDINGS_DATABASE_URL=database_url,
        TIDINGS_DELIVERY_POLL_MS="50",
        TIDINGS_DELIVERY_RETRY_BASE_MS="200",
        TIDINGS_DELIVERY_RETRY_MAX_MS="400",
        TIDINGS_DELIVERY_LEASE_MS="1000",
        TIDINGS_DELIVERY_MAX_ATTEMPTS="100",
    )
    first = await ServerProcess(env).start()  # migrates the database
    # Stand-in for a core service of another node: same database, its own process state.
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    db = Database(database_url)
    core = Core(settings, db, MemoryBus(), MemoryFileStorage())
    second: ServerProcess | None = None
    try:
        app = await core.apps.create_app("restart")
        # Loopback allowed for this app only: the server itself does not allow it.
        app = await core.apps.update_app(app.id, config={"allow_private_destinations": True})
        receiver = WebhookReceiver(app.auth_secret, fail_first=4)
        async with running(receiver) as url:
            async with db.transaction() as conn:
                for n in range(EVENTS):
                    await enqueue(
                        conn,
                        app_id=app.id,
                        kind="webhook",
                        destination=f"{url}/hook",
                        payload={"event": "restart.test", "body": {"n": n}},
                        idempotency_key=f"restart:{n}",
                        now_ms=core.now_ms(),
                    )
            await eventually(
                lambda: len(receiver.attempts) == EVENTS and min(receiver.attempts.values()) >= 2,
                what="every event failed at least twice",
            )
            assert receiver.processed == [], "killed while still retrying"
            assert first.proc is not None
            first.proc.kill()
            await first.proc.wait()
            attempts_before = sum(receiver.attempts.values())

            second = await ServerProcess(env).start()
            await eventually(lambda: len(receiver.processed) == EVENTS, limit=60, what="all")

            async def delivered() -> bool:
                async with db.read() as conn:
                    states = await outbox_claims.count_by_state(conn, app.id)
                return states == {"delivered": EVENTS}

            await eventually(delivered, what="rows delivered")
        assert sorted(p["body"]["n"] for p in receiver.processed) == list(range(EVENTS))
        assert len({p["key"] for p in receiver.processed}) == EVENTS
        assert receiver.bad_signatures == 0
        assert sum(receiver.attempts.values()) > attempts_before, "the new process retried"
        print(f"restart: duplicates seen by the receiver (dropped by key): {receiver.duplicates}")
    finally:
        if second is not None:
            await second.stop()
        await first.stop()
        await db.close()
