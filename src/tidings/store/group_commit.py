"""SQLite writes that arrive together commit together (group commit).

SQLite has one writer, so this process queues its write transactions on one lock
(``store/database.py``). Each transaction used to pay for its own connection
checkout, ``BEGIN IMMEDIATE`` and ``COMMIT``, and the commit appends every page the
transaction touched to the WAL: at a few hundred messages a second that was about a
fifth of the server's CPU, spent while the next writers waited on the lock.

Here the writers that are already waiting when a transaction opens share it. The
first writer opens the transaction and queues a *closer* on the same lock; each
writer runs its block inside a ``SAVEPOINT`` (a block that fails is rolled back to
it, and only its caller sees the error, as before); the closer, which comes after
every writer that queued before it, commits once and wakes them all. A writer leaves
:meth:`GroupCommit.transaction` only after that commit, so whatever it answers after
its block (an acknowledgement, a 200) still comes after its rows are committed: the
durability of an answered write is what it was. If the commit fails, every writer of
the group gets the error, and none of their rows exist.

A writer alone pays two savepoint statements and one more turn of the event loop.
The group is bounded by how many writers were waiting: those that arrive after the
closer queued wait for the next group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tidings.domain.errors import StoreUnavailable
from tidings.store.sqlite_inline import LoopThreadConnection

log = logging.getLogger("tidings.store")


@dataclass(eq=False)
class _Group:
    """One open write transaction and the writers waiting for its commit."""

    conn: LoopThreadConnection
    #: The sqlite3 connection under ``conn``.
    dbapi: sqlite3.Connection
    transaction: Any
    release: contextlib.AsyncExitStack
    committed: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    def __init__(
        self, lock: asyncio.Lock, connect: Callable[[], AbstractAsyncContextManager[Any]]
    ) -> None:
        self._lock = lock
        self._connect = connect
        self._group: _Group | None = None
        #: The closers waiting for their turn (the loop keeps only weak references).
        self._closers: set[asyncio.Task[None]] = set()
        #: Groups committed (the tests check that writers share them).
        self.groups = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[LoopThreadConnection]:
        """A write transaction shared with the writers waiting beside this one;
        committed when this returns."""
        async with self._lock:
            group = self._group or await self._open()
            # On the driver's connection: SQLAlchemy's savepoint objects cost more than
            # the statements, and the group's transaction is all SQLAlchemy needs to track.
            group.dbapi.execute("SAVEPOINT tidings_writer")
            try:
                yield group.conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    group.dbapi.execute("ROLLBACK TO SAVEPOINT tidings_writer")
                    group.dbapi.execute("RELEASE SAVEPOINT tidings_writer")
                if not group.dbapi.in_transaction and self._group is group:
                    # SQLite rolled the whole transaction back (a full disk, an I/O
                    # error): its commit will fail its writers; the next ones start anew.
                    self._group = None
                raise
            group.dbapi.execute("RELEASE SAVEPOINT tidings_writer")
        await asyncio.shield(group.committed)

    async def wait_idle(self) -> None:
        """Until no group is open (before the engine is disposed)."""
        async with self._lock:
            pass

    async def _open(self) -> _Group:
        release = contextlib.AsyncExitStack()
        conn = await release.enter_async_context(self._connect())
        conn.info["tidings_write"] = True
        try:
            transaction = conn.sync_connection.begin()
        except BaseException:
            await release.aclose()
            raise
        group = _Group(
            conn, conn.sync_connection.connection.driver_connection, transaction, release
        )
        group.committed.add_done_callback(_retrieved)
        self._group = group
        closer = asyncio.get_running_loop().create_task(self._close(group))
        self._closers.add(closer)
        closer.add_done_callback(self._closers.discard)
        return group

    async def _close(self, group: _Group) -> None:
        """After the writers queued before it: commit the group, wake its writers."""
        try:
            await self._lock.acquire()
        except asyncio.CancelledError:
            # Shutting down: nobody will commit this group; its writers get the error.
            _rollback(group)
            self._finish(group, StoreUnavailable("the server is stopping; retry"))
            await group.release.aclose()
            raise
        try:
            self._group = None
            try:
                group.transaction.commit()
            except BaseException as exc:
                _rollback(group)
                self._finish(group, exc)
            else:
                self.groups += 1
                self._finish(group, None)
            await group.release.aclose()
        finally:
            self._lock.release()

    def _finish(self, group: _Group, error: BaseException | None) -> None:
        if self._group is group:
            self._group = None
        if group.committed.done():
            return
        if error is None:
            group.committed.set_result(None)
        else:
            group.committed.set_exception(error)


def _rollback(group: _Group) -> None:
    """End the group's transaction, whatever state a failed commit left it in: a
    COMMIT that SQLite refused (a deferred constraint) leaves SQLite's transaction
    open while SQLAlchemy's is over, and the pooled connection must not keep it."""
    with contextlib.suppress(Exception):
        if group.transaction.is_active:
            group.transaction.rollback()
    with contextlib.suppress(Exception):
        dbapi = group.conn.sync_connection.connection.dbapi_connection
        if dbapi is not None and dbapi.in_transaction:
            dbapi.execute("ROLLBACK")


def _retrieved(future: asyncio.Future[None]) -> None:
    """A group whose writers were all cancelled: its error is nobody's to raise."""
    if not future.cancelled():
        future.exception()
