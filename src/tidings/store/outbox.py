"""Queries on the outbox: durable side effects written with the change that causes them."""

from __future__ import annotations

from typing import Unpack

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.rows import NewDelivery
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
