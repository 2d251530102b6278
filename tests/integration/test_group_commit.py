"""Group commit on SQLite (``store/group_commit.py``): writers waiting together share
one commit; each writer returns only once its rows are committed; a writer whose block
fails loses only its own rows; a failed commit fails every writer of its group."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from tidings.store.database import Database


async def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'group.db'}")
    async with db.transaction() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    return db


def _committed(path: Path) -> set[int]:
    """What another connection (another process, after a crash) finds on disk."""
    with sqlite3.connect(path) as other:
        return {n for (n,) in other.execute("SELECT n FROM t")}


async def test_waiting_writers_share_a_commit_and_return_after_it(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    path = tmp_path / "group.db"
    seen_after_return: dict[int, bool] = {}
    try:
        group_commit = db._group_commit  # noqa: SLF001
        assert group_commit is not None
        groups_before = group_commit.groups

        async def write(n: int) -> None:
            async with db.transaction() as conn:
                await conn.execute(text("INSERT INTO t (n, v) VALUES (:n, 'x')"), {"n": n})
                await asyncio.sleep(0)  # let the others queue, as concurrent requests do
            seen_after_return[n] = n in _committed(path)

        await asyncio.gather(*(write(n) for n in range(100)))
        assert all(seen_after_return.values()) and len(seen_after_return) == 100
        assert _committed(path) == set(range(100))
        groups = group_commit.groups - groups_before
        assert 1 <= groups < 100, groups  # shared, not one commit per writer
    finally:
        await db.close()


async def test_a_failing_writer_loses_only_its_own_rows(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    path = tmp_path / "group.db"
    try:

        async def write(n: int) -> None:
            async with db.transaction() as conn:
                await conn.execute(text("INSERT INTO t (n, v) VALUES (:n, 'x')"), {"n": n})
                await asyncio.sleep(0)
                if n % 3 == 0:
                    # A second row with the same key: the block fails after a good insert.
                    await conn.execute(text("INSERT INTO t (n, v) VALUES (:n, 'y')"), {"n": n})

        results = await asyncio.gather(*(write(n) for n in range(30)), return_exceptions=True)
        failed = {n for n, r in enumerate(results) if isinstance(r, Exception)}
        assert failed == {n for n in range(30) if n % 3 == 0}
        assert _committed(path) == set(range(30)) - failed
    finally:
        await db.close()


async def test_a_failed_commit_fails_every_writer_of_the_group(tmp_path: Path) -> None:
    """A deferred foreign key is checked at COMMIT: one writer's bad row fails the
    commit, so every writer of that group gets the error and none of their rows
    exist; the next group commits normally."""
    db = await _database(tmp_path)
    path = tmp_path / "group.db"
    try:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            await conn.execute(
                text(
                    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES "
                    "parent(id) DEFERRABLE INITIALLY DEFERRED)"
                )
            )

        async def write(n: int) -> None:
            async with db.transaction() as conn:
                await conn.execute(text("INSERT INTO t (n, v) VALUES (:n, 'x')"), {"n": n})
                await asyncio.sleep(0)
                if n == 5:
                    await conn.execute(text("INSERT INTO child (id, parent) VALUES (1, 999)"))

        results = await asyncio.gather(*(write(n) for n in range(10)), return_exceptions=True)
        failed = {n for n, r in enumerate(results) if isinstance(r, Exception)}
        assert 5 in failed
        assert _committed(path) == set(range(10)) - failed
        await write(100)
        assert 100 in _committed(path)
    finally:
        await db.close()


@pytest.mark.parametrize("driver", ["thread"])
async def test_the_thread_driver_keeps_one_commit_per_transaction(
    tmp_path: Path, driver: str
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'thread.db'}", sqlite_driver=driver)
    try:
        assert db._group_commit is None  # noqa: SLF001
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t (n) VALUES (1)"))
        with sqlite3.connect(tmp_path / "thread.db") as other:
            assert other.execute("SELECT n FROM t").fetchall() == [(1,)]
    finally:
        await db.close()
