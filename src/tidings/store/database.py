"""The database handle: one async engine, transactions, and SQLite's single writer.

SQLite allows one writer at a time. Rather than let concurrent writers collide
and retry on ``database is locked``, writes in this process queue on an asyncio
lock and open with ``BEGIN IMMEDIATE``; other processes (the CLI) wait on
``busy_timeout``. PostgreSQL needs neither: row locks order concurrent writers.

SQLite statements run on the event loop's thread by default
(:mod:`tidings.store.sqlite_inline` says why); ``sqlite_driver="thread"`` keeps
aiosqlite's worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tidings.store.sqlite_inline import inline_url

SQLITE_DRIVERS = ("inline", "thread")


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, sqlite_driver: str = "inline") -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if sqlite_driver not in SQLITE_DRIVERS:
                raise ValueError(
                    f"sqlite_driver must be one of {SQLITE_DRIVERS}, not {sqlite_driver!r}"
                )
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            if sqlite_driver == "inline":
                parsed = inline_url(parsed)
            elif parsed.get_driver_name() != "aiosqlite":
                parsed = parsed.set(drivername="sqlite+aiosqlite")
            self.engine: AsyncEngine = create_async_engine(parsed, pool_size=pool_size)
            event.listen(self.engine.sync_engine, "connect", _sqlite_on_connect)
            event.listen(self.engine.sync_engine, "begin", _sqlite_on_begin)
        else:
            self.engine = create_async_engine(url, pool_size=pool_size, max_overflow=20)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A read-write transaction, committed when the block exits cleanly."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.connect() as conn:
            conn.info["tidings_write"] = True
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for queries; on SQLite it does not wait for the writer (WAL)."""
        async with self.engine.connect() as conn:
            conn.info["tidings_write"] = False
            try:
                yield conn
            finally:
                conn.info["tidings_write"] = True

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy, not the driver, decide when transactions begin.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_on_begin(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write(conn) else "BEGIN")


def _wants_write(conn) -> bool:  # type: ignore[no-untyped-def]
    # Reads mark their connection so they begin a deferred transaction that never
    # waits for the writer; everything else (migrations, the CLI) writes.
    return bool(conn.info.get("tidings_write", True))
