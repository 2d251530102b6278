"""Deliveries per second through the outbox, on SQLite and PostgreSQL.

Queues ``--rows`` webhook deliveries (bulk insert through the real schema), then
runs ``--workers`` delivery workers of one process against a local HTTP receiver
that answers 200 at once, and prints deliveries/s from the first claim to the
last recorded outcome: the cost of claiming, signing, one HTTP round trip each
and recording, i.e. the outbox's own ceiling, not a provider's.

    .venv/bin/python bench/outbox_throughput.py --rows 5000
    .venv/bin/python bench/outbox_throughput.py --rows 5000 \
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/tidings_bench

Without ``--database-url`` it runs on a temporary SQLite file and, if a
PostgreSQL server answers at ``TIDINGS_TEST_POSTGRES_URL`` (or the default
``postgresql://postgres@127.0.0.1:5432/postgres``), on a temporary database there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy import insert

from tidings.bus import MemoryBus
from tidings.core.hub import Core
from tidings.delivery import DeliveryWorkers
from tidings.files import MemoryFileStorage
from tidings.settings import Settings
from tidings.store import outbox_claims
from tidings.store.database import Database
from tidings.store.migrate import migrate
from tidings.store.tables import outbox

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


async def receiver(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


async def run(database_url: str, rows: int, workers: int, batch: int) -> float:
    # The receiver runs in its own process, so its CPU is not counted as ours.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    folder = str(Path(__file__).parent)
    code = (
        f"import uvicorn, sys; sys.path.insert(0, {folder!r}); "
        "from outbox_throughput import receiver; "
        f"uvicorn.run(receiver, host='127.0.0.1', port={port}, log_level='warning')"
    )
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
    for _ in range(200):
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            database_url=database_url,
            delivery_workers=workers,
            delivery_batch=batch,
            delivery_poll_ms=20,
            delivery_per_destination=batch,
            webhook_allow_private=True,
        )
        db = Database(settings.effective_database_url)
        await migrate(db)
        core = Core(settings, db, MemoryBus(), MemoryFileStorage())
        app = await core.apps.create_app("bench")
        now = core.now_ms()
        tag = secrets.token_hex(4)
        async with db.transaction() as conn:
            for start in range(0, rows, 5000):
                await conn.execute(
                    insert(outbox),
                    [
                        {
                            "app_id": app.id,
                            "kind": "webhook",
                            "destination": f"http://127.0.0.1:{port}/hook",
                            "payload": {"event": "bench", "body": {"n": n}},
                            "idempotency_key": f"bench:{tag}:{n}",
                            "state": "queued",
                            "attempts": 0,
                            "next_attempt_ms": now,
                            "created_ms": now,
                            "updated_ms": now,
                        }
                        for n in range(start, min(rows, start + 5000))
                    ],
                )
        delivery = DeliveryWorkers(core)
        started = time.perf_counter()
        await delivery.start()
        while True:
            async with db.read() as conn:
                states = await outbox_claims.count_by_state(conn, app.id)
            if states.get("delivered", 0) >= rows:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await delivery.stop()
        await db.close()
    child.terminate()
    await child.wait()
    return rows / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    targets: list[tuple[str, str, str | None]] = []
    if args.database_url:
        targets.append(("given", args.database_url, None))
    else:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            rate = await run(url, args.rows, args.workers, args.batch)
            print(
                f"sqlite:     {rate:8.0f} deliveries/s ({args.rows} rows, {args.workers} workers)"
            )
        admin = os.environ.get("TIDINGS_TEST_POSTGRES_URL") or DEFAULT_PG
        name = f"tidings_bench_{secrets.token_hex(4)}"
        try:
            conn = await asyncpg.connect(admin, timeout=3)
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"postgresql: skipped ({exc})")
            return
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        targets.append(("postgresql", f"{base}/{name}", name))
        try:
            for label, url, _ in targets:
                rate = await run(url, args.rows, args.workers, args.batch)
                print(
                    f"{label}: {rate:8.0f} deliveries/s ({args.rows} rows, {args.workers} workers)"
                )
        finally:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()
        return
    for label, url, _ in targets:
        rate = await run(url, args.rows, args.workers, args.batch)
        print(f"{label}: {rate:8.0f} deliveries/s ({args.rows} rows, {args.workers} workers)")


if __name__ == "__main__":
    asyncio.run(main())
