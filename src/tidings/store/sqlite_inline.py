"""SQLite on the event loop's thread: a sync engine behind the async connection API.

The store is written against SQLAlchemy's ``AsyncConnection`` (``await
conn.execute(...)``) so that PostgreSQL (asyncpg) overlaps round trips. For
SQLite the usual async driver, aiosqlite, runs each connection on a thread of its
own and hands every call over a queue; measured here that hand-over cost
0.3-0.5 ms per statement, while the statements themselves (indexed reads and
writes on a page-cached, WAL-mode file) take tens of microseconds. A 1-1 message
is a dozen statements, so the hop capped delivery at ~100 messages/s.

Declaring the sqlite3 driver async and letting SQLAlchemy run it inside its
greenlet bridge removes the hop but still pays the bridge: 71 µs per prepared
query against 37 µs on a plain sync connection (``bench`` run, same query). So
SQLite gets a plain sync ``Engine``, and :class:`LoopThreadConnection` gives its
connections the few awaitable methods the store uses. Nothing awaits inside: a
statement runs to completion on the loop's thread.

The price is that a statement blocks the loop while it runs. tidings' queries are
bounded, indexed and paged, so that is microseconds; ``TIDINGS_SQLITE_DRIVER=thread``
keeps aiosqlite for deployments that would rather pay the hop. The other blocking
sources are handled where they arise: WAL checkpoints run in a thread
(``Database._checkpoint_every``), the pool never makes a checkout wait (connections
beyond the pool are opened, not waited for), and writers from other processes (the
CLI) are waited for through ``busy_timeout``, for as long as their transaction
lasts: milliseconds for the CLI's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, pool
from sqlalchemy.engine import URL, Connection, CursorResult

T = TypeVar("T")


def create_loop_thread_engine(url: URL, *, pool_size: int) -> Engine:
    """A sync pysqlite engine for use from the event loop's thread only."""
    return create_engine(
        url.set(drivername="sqlite+pysqlite"),
        poolclass=pool.QueuePool,
        pool_size=pool_size,
        max_overflow=-1,  # never block the loop waiting for a connection
        # Every use is on the loop's thread; keep sqlite3's check that it stays so.
        connect_args={"check_same_thread": True},
    )


class LoopThreadConnection:
    """The part of ``AsyncConnection``'s API the store uses, over a sync connection."""

    __slots__ = ("sync_connection",)

    def __init__(self, sync_connection: Connection) -> None:
        self.sync_connection = sync_connection

    @property
    def dialect(self) -> Any:
        return self.sync_connection.dialect

    @property
    def info(self) -> dict[Any, Any]:
        return self.sync_connection.info

    async def execute(
        self,
        statement: Any,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> CursorResult[Any]:
        return self.sync_connection.execute(
            statement, parameters, execution_options=execution_options
        )

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> CursorResult[Any]:
        return self.sync_connection.exec_driver_sql(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self.sync_connection.scalar(statement, parameters)

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(self.sync_connection, *args, **kwargs)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[LoopThreadConnection]:
        with self.sync_connection.begin():
            yield self


@asynccontextmanager
async def connect(engine: Engine) -> AsyncIterator[LoopThreadConnection]:
    """``async with engine.connect()`` for the sync engine."""
    with engine.connect() as conn:
        yield LoopThreadConnection(conn)
