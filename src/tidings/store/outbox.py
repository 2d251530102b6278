"""Queries on the outbox: durable side effects written with the change that causes them."""

from __future__ import annotations

from typing import Unpack

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.rows import NewDelivery, OutboxRow
from tidings.store.tables import outbox


async def insert_delivery(conn: AsyncConnection, **values: Unpack[NewDelivery]) -> bool:
    """Queue one delivery; a second row with the same idempotency key is ignored.

    Returns True if a row was added.
    """
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = (
        dialect_insert(outbox)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    result = await conn.execute(stmt)
    return bool(result.rowcount)


async def list_rows(
    conn: AsyncConnection, *, states: tuple[str, ...], app_id: int | None = None, limit: int = 1000
) -> list[OutboxRow]:
    """Rows in the given states, oldest first (what an operator reads before a replay)."""
    query = select(outbox).where(outbox.c.state.in_(states))
    if app_id is not None:
        query = query.where(outbox.c.app_id == app_id)
    return list(await conn.execute(query.order_by(outbox.c.id).limit(limit)))


async def replay_dead(
    conn: AsyncConnection, *, now_ms: int, ids: list[int] | None = None
) -> list[int]:
    """Queue dead rows again as fresh ones (``attempts`` 0, due now); ``ids=None``: all.

    Only ``dead`` rows move: replaying a delivered or queued row changes nothing, so a
    replay run twice never sends twice. The last error stays until the next attempt.
    """
    stmt = update(outbox).where(outbox.c.state == "dead")
    if ids is not None:
        stmt = stmt.where(outbox.c.id.in_(ids))
    stmt = stmt.values(
        state="queued", attempts=0, next_attempt_ms=now_ms, locked_until_ms=None, updated_ms=now_ms
    ).returning(outbox.c.id)
    return sorted(int(row[0]) for row in await conn.execute(stmt))
