"""SQLite for the async engine without a thread hop per statement.

SQLAlchemy's asyncio extension needs a driver it can await. The usual one,
aiosqlite, runs each connection on a thread of its own and hands every call over
a queue: put, wake the worker, run, ``call_soon_threadsafe`` back, wake the loop,
switch back into SQLAlchemy's greenlet. Measured here that hand-over costs
0.3-0.5 ms per statement, while the statements themselves (indexed reads and
writes on a page-cached, WAL-mode file) take tens of microseconds; a 1-1 message
is a dozen statements, so the hop capped delivery at ~100 messages/s.

This dialect is the standard ``sqlite3`` (pysqlite) dialect declared async. Under
``AsyncConnection.execute`` SQLAlchemy runs the sync driver code in a greenlet;
a driver that never waits simply runs to completion, on the event loop's own
thread. The cost is that a statement blocks the loop while it runs, which is why
it suits tidings' query shapes (bounded, indexed, paged) and why the thread-hop
driver stays one setting away (``TIDINGS_SQLITE_DRIVER=thread``). Writers from
other processes (the CLI) are waited for through ``busy_timeout``, which blocks
the loop for as long as their transaction lasts: milliseconds for the CLI's.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

DRIVER = "tidings_inline"


async def _already_done() -> None:
    return None


def _declare_async() -> None:
    # SQLAlchemy's AsyncConnection.execute insists that the driver awaited at least
    # once (to catch sync drivers used by mistake). Awaiting a coroutine that
    # finishes at once is two greenlet switches and never yields to the loop.
    if in_greenlet():
        await_(_already_done())


class InlineCursor(sqlite3.Cursor):
    """A ``sqlite3`` cursor that tells SQLAlchemy's async layer it was awaited."""

    def execute(self, sql: str, parameters: Any = (), /) -> InlineCursor:  # type: ignore[override]
        _declare_async()
        return super().execute(sql, parameters)  # type: ignore[return-value]

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> InlineCursor:  # type: ignore[override]
        _declare_async()
        return super().executemany(sql, seq_of_parameters)  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        """Called by SQLAlchemy's async results; rows are read on this thread, nothing to do."""


class InlineConnection(sqlite3.Connection):
    """A ``sqlite3`` connection whose cursors are :class:`InlineCursor`."""

    def cursor(self, factory: Any = InlineCursor) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory)


class SQLiteDialectInline(SQLiteDialect_pysqlite):
    """pysqlite, usable from ``create_async_engine``; statements run on the loop thread."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        # The async pool waits for a free connection without blocking the loop.
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        args, kwargs = super().create_connect_args(url)
        # Every call happens on the loop's thread; keep sqlite3's guard against any
        # that does not (the sync dialect turns it off for its threaded pool).
        kwargs["check_same_thread"] = True
        kwargs["factory"] = InlineConnection
        return args, kwargs


def inline_url(url: URL) -> URL:
    """``sqlite+aiosqlite:///x`` (or plain ``sqlite:///x``) -> the inline dialect's URL."""
    return url.set(drivername=f"sqlite+{DRIVER}")


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialectInline")
