"""The database handle: the engine, transactions, and SQLite's single writer.

SQLite allows one writer at a time. Rather than let concurrent writers collide
and retry on ``database is locked``, writes in this process queue on an asyncio
lock and open with ``BEGIN IMMEDIATE``; writers waiting together share one commit
(:mod:`tidings.store.group_commit`); other processes (the CLI) wait on
``busy_timeout``. PostgreSQL needs neither: row locks order concurrent writers.

SQLite statements run on the event loop's thread by default
(:mod:`tidings.store.sqlite_inline` says why); ``sqlite_driver="thread"`` keeps
aiosqlite's worker thread.

A lost database connection (PostgreSQL restarted, a backend terminated, the
network) surfaces as one domain error, :class:`~tidings.domain.errors.StoreUnavailable`,
raised here and nowhere else, so every gateway answers it as a retryable 503 rather
than a 500. The pool heals itself: on a disconnect SQLAlchemy discards the failed
connection and every connection older than it, so after a database restart the
requests already under way get a 503 and the next ones a fresh connection.
``pool_pre_ping`` would spare those few 503s at the price of a round trip on every
checkout (measured: +70-90 us on loopback, about a fifth of a one-query request), so
it is not used: clients retry a 503, and sends carry ids that make retries safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tidings.domain.errors import StoreUnavailable
from tidings.store import sqlite_inline
from tidings.store.group_commit import GroupCommit

log = logging.getLogger("tidings.store")

SQLITE_DRIVERS = ("inline", "thread")
#: Seconds between WAL checkpoints with the inline SQLite driver.
CHECKPOINT_SECONDS = 2.0
#: WAL pages (4 KiB) at which a commit checkpoints by itself (SQLite's default: 1,000).
BACKSTOP_CHECKPOINT_PAGES = 20_000
_TOPICS = "tidings_commit_topics"
#: SQLSTATEs of a connection that is gone or refused for now: class 08 (connection
#: exception), admin/crash shutdown, "cannot connect now", too many connections.
_UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03", "53300")


class Database:
    #: The async engine (PostgreSQL, SQLite with ``sqlite_driver="thread"``) ...
    engine: AsyncEngine | None = None
    #: ... or the sync engine used from the loop's thread (SQLite, ``"inline"``).
    sync_engine: Engine | None = None

    def __init__(self, url: str, *, pool_size: int = 10, sqlite_driver: str = "inline") -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        # WAL checkpoints (inline SQLite on a file only): see _checkpoint_every.
        self._sqlite_path = ""
        if self.is_sqlite:
            if sqlite_driver not in SQLITE_DRIVERS:
                raise ValueError(
                    f"sqlite_driver must be one of {SQLITE_DRIVERS}, not {sqlite_driver!r}"
                )
            database = parsed.database or ""
            on_file = database not in ("", ":memory:")
            if on_file:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            if sqlite_driver == "inline":
                self.sync_engine = sqlite_inline.create_loop_thread_engine(
                    parsed, pool_size=pool_size
                )
                self._sqlite_path = database if on_file else ""
                sync_engine = self.sync_engine
            else:
                if parsed.get_driver_name() != "aiosqlite":
                    parsed = parsed.set(drivername="sqlite+aiosqlite")
                self.engine = create_async_engine(parsed, pool_size=pool_size)
                sync_engine = self.engine.sync_engine
                event.listen(sync_engine, "invalidate", _rollback_before_close)
            event.listen(sync_engine, "connect", _sqlite_on_connect)
            event.listen(sync_engine, "begin", _sqlite_on_begin)
            if self.sync_engine is not None:
                event.listen(self.sync_engine, "connect", _late_autocheckpoint)
        else:
            self.engine = create_async_engine(url, pool_size=pool_size, max_overflow=20)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        #: Inline SQLite: writers waiting together share one commit (store/group_commit.py).
        self._group_commit = (
            GroupCommit(self._write_lock, self._connect)
            if self._write_lock is not None and self.sync_engine is not None
            else None
        )
        self._listeners: dict[str, list[Callable[[], None]]] = {}
        self._checkpointer: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A read-write transaction, committed when the block exits cleanly.

        Topics marked with :func:`notify_after_commit` inside the block reach the
        :meth:`on_commit` listeners once the commit succeeded, never before.
        """
        if self._write_lock is None:
            assert self.engine is not None
            try:
                async with self.engine.begin() as conn:
                    with _topics_marked_on(conn) as topics:
                        yield conn
            except Exception as exc:
                if lost_connection(exc):
                    raise _unavailable(exc) from exc
                raise
        else:
            if self._checkpointer is None and self._sqlite_path:
                self._checkpointer = asyncio.create_task(self._checkpoint_every(CHECKPOINT_SECONDS))
            if self._group_commit is not None:
                async with self._group_commit.transaction() as shared:
                    with _topics_marked_on(shared) as topics:
                        yield shared  # type: ignore[misc]  # the AsyncConnection API the store uses
            else:
                async with self._write_lock, self._connect() as conn:
                    conn.info["tidings_write"] = True
                    with _topics_marked_on(conn) as topics:
                        async with conn.begin():
                            yield conn
        for topic in topics:
            for listener in tuple(self._listeners.get(topic, ())):
                listener()

    def on_commit(self, topic: str, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each commit that marked ``topic``; returns an undo."""
        self._listeners.setdefault(topic, []).append(listener)
        return lambda: self._listeners[topic].remove(listener)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for queries; on SQLite it does not wait for the writer (WAL)."""
        try:
            async with self._connect() as conn:
                info = conn.info
                info["tidings_write"] = False
                try:
                    yield conn
                finally:
                    info["tidings_write"] = True
        except Exception as exc:
            if lost_connection(exc):
                raise _unavailable(exc) from exc
            raise

    def _connect(self) -> Any:
        if self.sync_engine is not None:
            return sqlite_inline.connect(self.sync_engine)
        assert self.engine is not None
        return self.engine.connect()

    async def ping(self) -> None:
        async with self._connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._group_commit is not None:
            await self._group_commit.wait_idle()
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self.engine is not None:
            await self.engine.dispose()
        if self.sync_engine is not None:
            self.sync_engine.dispose()
        if self._sqlite_path:
            with contextlib.suppress(sqlite3.Error):
                await asyncio.to_thread(_checkpoint, self._sqlite_path, "PASSIVE")

    async def _checkpoint_every(self, seconds: float) -> None:
        """Copy the WAL back into the database file from a worker thread.

        SQLite checkpoints automatically inside a commit once the WAL passes 1,000
        pages, and a checkpoint writes and syncs the database file: on the loop's
        thread that stalls every connection for as long as the disk takes. With the
        inline driver, automatic checkpoints wait for a much bigger WAL (a backstop,
        ``BACKSTOP_CHECKPOINT_PAGES``) and this task runs a PASSIVE checkpoint on a
        connection of its own, in a thread, every few seconds; PASSIVE never waits
        for readers or the writer.
        """
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(_checkpoint, self._sqlite_path, "PASSIVE")
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; will retry", exc_info=True)


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` means the database connection broke or could not be made
    (worth a retry), as opposed to a failed statement (a bug or a constraint).

    The exception's causes count too: once a connection is invalidated, even
    cleanup on it (a rollback, reading ``conn.info``) raises an error of its own
    (``PendingRollbackError``) whose context is the disconnect.
    """
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if _is_disconnect(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_disconnect(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
    # Pool checkout timed out; the driver could not reach the server at all.
    return isinstance(exc, sa_exc.TimeoutError | ConnectionError | socket.gaierror)


def _unavailable(exc: BaseException) -> StoreUnavailable:
    log.warning("database connection lost: %s: %s", type(exc).__name__, str(exc)[:200])
    return StoreUnavailable("the database is unavailable for a moment; retry")


@contextlib.contextmanager
def _topics_marked_on(conn: Any) -> Iterator[set[str]]:
    """The set :func:`notify_after_commit` fills for this transaction.

    The set belongs to the transaction; the connection's ``info`` only points at it
    while the block runs, so a pooled connection carries no topic into the next one.
    ``info`` is read once, before the block, and never through ``conn`` afterwards:
    a statement cancelled or cut mid-flight leaves the connection invalidated, and
    ``conn.info`` on an invalidated connection reconnects, which outside a statement
    raises ``MissingGreenlet`` (aiosqlite, asyncpg). Raised from cleanup, that error
    replaced the task's ``CancelledError``: whatever cancelled the task (a shutdown,
    a timeout) got an error instead of the cancellation it waits for.
    """
    info = conn.info
    topics: set[str] = set()
    info[_TOPICS] = topics
    try:
        yield topics
    finally:
        info.pop(_TOPICS, None)


def notify_after_commit(conn: AsyncConnection, topic: str) -> None:
    """Mark ``topic`` in this transaction: :meth:`Database.on_commit` listeners run
    once it commits (e.g. delivery workers look at the outbox right away)."""
    conn.info.setdefault(_TOPICS, set()).add(topic)


def _checkpoint(path: str, mode: str) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
        conn.execute(f"PRAGMA wal_checkpoint({mode})")


def _sqlite_on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy, not the driver, decide when transactions begin.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _late_autocheckpoint(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # Checkpoints inside commits run on the loop's thread: _checkpoint_every runs them
    # in a thread instead. The automatic one stays as a backstop, at a size the
    # thread normally never lets the WAL reach: a job that commits without ever
    # yielding to the loop (a bulk load) starves the thread's task, and an unbounded
    # WAL makes every read slower.
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")


def _rollback_before_close(dbapi_conn, _record, _exc) -> None:  # type: ignore[no-untyped-def]
    # aiosqlite: a statement cancelled mid-flight stays open in sqlite3 for as long as
    # its cursor lives (the cancelled task's traceback holds it), and closing a
    # connection with an open statement leaves it open as a zombie that keeps the
    # transaction's write lock: every later writer waits out busy_timeout and fails.
    # A ROLLBACK ends the transaction and its locks even with the statement open.
    with contextlib.suppress(Exception):  # outside a greenlet (gc): nothing to await
        dbapi_conn.rollback()


def _sqlite_on_begin(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write(conn) else "BEGIN")


def _wants_write(conn) -> bool:  # type: ignore[no-untyped-def]
    # Reads mark their connection so they begin a deferred transaction that never
    # waits for the writer; everything else (migrations, the CLI) writes.
    return bool(conn.info.get("tidings_write", True))
