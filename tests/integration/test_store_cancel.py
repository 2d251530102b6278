"""A task cancelled in the middle of a transaction (a client gone, a shutdown, a
timeout) ends with ``CancelledError``, its transaction is rolled back, and the pool
goes on serving.

Each case cancels at a point where a real task can be cancelled: between two
statements (every driver), or while a statement runs (asyncpg, and aiosqlite's
worker thread; the inline SQLite driver runs a statement to completion on the loop's
thread, so nothing can cancel it mid-statement). A statement cancelled mid-flight
leaves SQLAlchemy's connection invalidated; the transaction's cleanup must not touch
it again, or its own error (``MissingGreenlet``) replaces the cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.helpers import wait_until
from tests.integration.conftest import fresh_postgres_database
from tidings.store.database import Database, notify_after_commit

#: (backend, SQLite driver, where the cancellation lands)
CASES = [
    ("postgres", "", "between statements"),
    ("postgres", "", "mid-statement"),
    ("sqlite", "inline", "between statements"),
    ("sqlite", "thread", "between statements"),
    ("sqlite", "thread", "mid-statement"),
]


class Blocker:
    """A SQLite function ``hold()`` that blocks aiosqlite's worker thread until released,
    so the test knows a statement is running when it cancels."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def hold(self) -> int:
        self.entered.set()
        self.release.wait(30)
        return 1

    def install(self, db: Database) -> None:
        assert db.engine is not None

        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.create_function("hold", 0, self.hold)

        event.listen(db.engine.sync_engine, "connect", on_connect)


@dataclass
class Case:
    """A one-connection pool (so the cancelled transaction's connection is the one
    reused) with a ``notes`` table, and a statement that blocks until released."""

    db: Database
    where: str
    blocking_sql: str
    statement_running: Callable[[], Any]
    release: Callable[[], Any]


@pytest.fixture(params=CASES, ids=lambda case: "-".join(filter(None, case)).replace(" ", "-"))
async def case(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Case]:
    backend, driver, where = request.param
    stack = contextlib.AsyncExitStack()
    if backend == "postgres":
        fresh = await stack.enter_async_context(fresh_postgres_database())
        token = secrets.token_hex(4)

        async def pg_sleeping() -> bool:
            return bool(
                await fresh.admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE $1",
                    f"%{token}%",
                )
            )

        # pg_sleep ends with the cancellation: nothing to release.
        case = Case(
            Database(fresh.url, pool_size=1),
            where,
            f"SELECT pg_sleep(30) /* {token} */",
            pg_sleeping,
            lambda: None,
        )
    else:
        db = Database(f"sqlite:///{tmp_path / 'cancel.db'}", pool_size=1, sqlite_driver=driver)
        blocker = Blocker()
        if driver == "thread":
            blocker.install(db)
        case = Case(db, where, "SELECT hold()", blocker.entered.is_set, blocker.release.set)
    try:
        async with case.db.transaction() as conn:
            await conn.execute(text("CREATE TABLE notes (body TEXT)"))
        yield case
    finally:
        case.release()
        await asyncio.wait_for(case.db.close(), 30)
        await stack.aclose()


async def test_a_cancelled_transaction_rolls_back_and_the_pool_still_serves(case: Case) -> None:
    db = case.db
    heard: list[str] = []
    db.on_commit("notes", lambda: heard.append("notes"))
    in_transaction = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            notify_after_commit(conn, "notes")
            await conn.execute(text("INSERT INTO notes (body) VALUES ('never committed')"))
            in_transaction.set()
            if case.where == "mid-statement":
                await conn.execute(text(case.blocking_sql))
            else:
                await asyncio.Event().wait()  # idle in the transaction until cancelled

    task = asyncio.create_task(writer())
    await asyncio.wait_for(in_transaction.wait(), 30)
    if case.where == "mid-statement":
        await wait_until(case.statement_running, what="the blocking statement")
    task.cancel()
    case.release()  # the worker thread may finish: the task is cancelled already
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert task.cancelled()
    assert heard == [], "a rolled-back transaction notified its commit listeners"

    # The same (only) pooled connection, or its replacement, serves writes and reads.
    for n in range(3):
        async with db.transaction() as conn:
            notify_after_commit(conn, "notes")
            await conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": f"after {n}"})
    async with db.read() as conn:
        bodies = list((await conn.execute(text("SELECT body FROM notes ORDER BY body"))).scalars())
    print(f"\n{case.where}: cancelled -> CancelledError; rows after: {bodies}")
    assert bodies == ["after 0", "after 1", "after 2"]
    assert heard == ["notes"] * 3
