"""Queries the delivery workers run on the outbox: claim due rows, record outcomes.

Claiming marks rows ``sending`` with a lease (``locked_until_ms``) and counts the
attempt, in one statement. On PostgreSQL the inner select takes the rows ``FOR
UPDATE SKIP LOCKED``, so workers on any number of nodes never claim the same
row; on SQLite the database has one writer, so the UPDATE itself is the lock. A
worker that dies leaves ``sending`` rows whose lease runs out; the next claim
takes them back. Every outcome is written only while the lease is still the one
that was claimed (a fencing token): a worker that lost its lease cannot
overwrite a newer attempt's result.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.rows import OutboxRow
from tidings.store.tables import outbox


async def claim_due(
    conn: AsyncConnection, *, now_ms: int, lease_ms: int, limit: int
) -> list[OutboxRow]:
    due = or_(
        and_(outbox.c.state == "queued", outbox.c.next_attempt_ms <= now_ms),
        and_(outbox.c.state == "sending", outbox.c.locked_until_ms <= now_ms),
    )
    # First attempts before retries: a backlog of retries to a dead destination must
    # not hold back fresh messages, which are the ones users are waiting for.
    first_attempt = outbox.c.attempts == 0
    picked = (
        select(outbox.c.id)
        .where(due)
        .order_by(first_attempt.desc(), outbox.c.next_attempt_ms)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    stmt = (
        update(outbox)
        .where(outbox.c.id.in_(picked.scalar_subquery()))
        .values(
            state="sending",
            locked_until_ms=now_ms + lease_ms,
            attempts=outbox.c.attempts + 1,
            updated_ms=now_ms,
        )
        .returning(outbox)
    )
    return list(await conn.execute(stmt))


def _held(row_id: int, lease: int) -> ColumnElement[bool]:
    return and_(
        outbox.c.id == row_id, outbox.c.state == "sending", outbox.c.locked_until_ms == lease
    )


async def mark_delivered(conn: AsyncConnection, row_id: int, lease: int, now_ms: int) -> bool:
    result = await conn.execute(
        update(outbox)
        .where(_held(row_id, lease))
        .values(
            state="delivered",
            locked_until_ms=None,
            delivered_ms=now_ms,
            updated_ms=now_ms,
            last_error=None,
        )
    )
    return bool(result.rowcount)


async def mark_retry(
    conn: AsyncConnection, row_id: int, lease: int, *, next_ms: int, error: str, now_ms: int
) -> bool:
    result = await conn.execute(
        update(outbox)
        .where(_held(row_id, lease))
        .values(
            state="queued",
            locked_until_ms=None,
            next_attempt_ms=next_ms,
            last_error=error,
            updated_ms=now_ms,
        )
    )
    return bool(result.rowcount)


async def mark_dead(
    conn: AsyncConnection, row_id: int, lease: int, error: str, now_ms: int
) -> bool:
    result = await conn.execute(
        update(outbox)
        .where(_held(row_id, lease))
        .values(state="dead", locked_until_ms=None, last_error=error, updated_ms=now_ms)
    )
    return bool(result.rowcount)


async def count_by_state(conn: AsyncConnection, app_id: int | None = None) -> dict[str, int]:
    """Rows per state (``queued``, ``sending``, ``delivered``, ``dead``)."""
    query = select(outbox.c.state, func.count()).group_by(outbox.c.state)
    if app_id is not None:
        query = query.where(outbox.c.app_id == app_id)
    return {row[0]: int(row[1]) for row in await conn.execute(query)}


async def pending_count(conn: AsyncConnection) -> dict[str, int]:
    """Rows not delivered, per state (``queued``, ``sending``, ``dead``): a cheap gauge,
    since ``ix_outbox_due`` leads with the state and never reads the delivered rows."""
    query = (
        select(outbox.c.state, func.count())
        .where(outbox.c.state.in_(("queued", "sending", "dead")))
        .group_by(outbox.c.state)
    )
    return {row[0]: int(row[1]) for row in await conn.execute(query)}


async def get_rows(conn: AsyncConnection, **criteria: Any) -> list[OutboxRow]:
    query = select(outbox)
    for key, value in criteria.items():
        query = query.where(outbox.c[key] == value)
    return list(await conn.execute(query.order_by(outbox.c.id)))
