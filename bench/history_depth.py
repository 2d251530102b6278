"""How long a history page takes with millions of messages in the dialog.

Fills one dialog with ``--rows`` messages (bulk SQL, through the real schema and
migrations, so every index and the full-text trigger are in place), then times
the core's history call for pages at the newest end, the oldest end and the
middle (by cursor), and the unread count. Prints p50/p99 per query.

    .venv/bin/python bench/history_depth.py --rows 1000000
    .venv/bin/python bench/history_depth.py --rows 1000000 \
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, text

from tidings.bus import MemoryBus
from tidings.core.hub import Core
from tidings.domain.ids import new_id
from tidings.domain.models import Actor, HistoryFilter
from tidings.files import MemoryFileStorage
from tidings.settings import Settings
from tidings.store.database import Database
from tidings.store.migrate import migrate
from tidings.store.tables import messages

BATCH = 20_000


async def fill(core: Core, dialog_id: str, app_id: int, sender: int, rows: int) -> None:
    start_ms = core.now_ms() - rows * 10
    done = 0
    while done < rows:
        count = min(BATCH, rows - done)
        batch = [
            {
                "id": new_id((start_ms + (done + i) * 10) / 1000),
                "app_id": app_id,
                "dialog_id": dialog_id,
                "seq": done + i + 1,
                "sender_id": sender,
                "body": f"message number {done + i + 1} about nothing in particular",
                "created_ms": start_ms + (done + i) * 10,
                "updated_ms": start_ms + (done + i) * 10,
                "edited": False,
                "deleted": False,
            }
            for i in range(count)
        ]
        async with core.db.transaction() as conn:
            await conn.execute(insert(messages), batch)
        done += count
    async with core.db.transaction() as conn:
        await conn.execute(
            text("UPDATE dialogs SET last_seq = :n WHERE id = :d"), {"n": rows, "d": dialog_id}
        )
        if not core.db.is_sqlite:
            await conn.execute(text("ANALYZE messages"))


async def timed(label: str, runs: int, call) -> str:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[max(0, int(len(samples) * 0.99) - 1)]
    return f"| {label} | {statistics.median(samples):.2f} | {p99:.2f} |"


async def main(rows: int, database_url: str | None, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), database_url=database_url or "")
        db = Database(settings.effective_database_url)
        await migrate(db)
        bus = MemoryBus()
        await bus.start()
        core = Core(settings, db, bus, MemoryFileStorage())
        app = await core.apps.create_app(f"history-bench-{new_id()}")
        alice = await core.users.create_user(app.id, login="alice", password="benchmark1")
        bob = await core.users.create_user(app.id, login="bob", password="benchmark1")
        a, b = Actor(app.id, alice.id), Actor(app.id, bob.id)
        dialog = await core.dialogs.create_dialog(a, "private", occupant_ids=[bob.id])
        started = time.perf_counter()
        await fill(core, dialog.id, app.id, alice.id, rows)
        print(
            f"filled {rows} messages in {time.perf_counter() - started:.1f} s "
            f"({'postgresql' if database_url else 'sqlite'})"
        )
        middle = rows // 2
        print("| query (page of 50) | p50 ms | p99 ms |")
        print("|---|---|---|")
        print(
            await timed(
                "newest page",
                runs,
                lambda: core.messages.history(
                    b, dialog.id, HistoryFilter(limit=50, descending=True)
                ),
            )
        )
        print(
            await timed(
                "oldest page",
                runs,
                lambda: core.messages.history(b, dialog.id, HistoryFilter(limit=50)),
            )
        )
        print(
            await timed(
                "middle page by cursor",
                runs,
                lambda: core.messages.history(
                    b, dialog.id, HistoryFilter(limit=50, after_seq=middle)
                ),
            )
        )
        print(
            await timed(
                "unread count (all unread)",
                max(3, runs // 10),
                lambda: core.dialogs.unread_counts(b),
            )
        )
        await core.receipts.mark_read(b, dialog.id)
        print(await timed("unread count (all read)", runs, lambda: core.dialogs.unread_counts(b)))
        await bus.close()
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="history page latency at depth")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.database_url, args.runs))
