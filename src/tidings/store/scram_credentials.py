"""Queries on ``scram_credentials``: one row per user and SCRAM hash (RFC 5802 §3)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.tables import scram_credentials, users


async def get(conn: AsyncConnection, app_id: int, user_id: int, hash_name: str) -> Row[Any] | None:
    """The user's row for ``hash_name``, only if the user belongs to ``app_id`` and has a
    password (a deactivated account has none: no SCRAM key of its old one may pass)."""
    query = (
        select(scram_credentials, users.c.login)
        .join(users, users.c.id == scram_credentials.c.user_id)
        .where(
            users.c.id == user_id,
            users.c.app_id == app_id,
            scram_credentials.c.hash_name == hash_name,
            users.c.password_hash.is_not(None),
        )
    )
    return (await conn.execute(query)).first()


async def iterations(conn: AsyncConnection, user_id: int) -> set[int]:
    """The iteration counts the user's rows use (empty: no SCRAM credentials)."""
    query = select(scram_credentials.c.iterations).where(scram_credentials.c.user_id == user_id)
    return {row.iterations for row in await conn.execute(query)}


async def replace(
    conn: AsyncConnection, user_id: int, rows: Iterable[Mapping[str, object]]
) -> None:
    """Drop the user's credentials and write ``rows`` (each: hash_name, salt, iterations,
    stored_key, server_key); no rows leaves the user without SCRAM."""
    await conn.execute(delete(scram_credentials).where(scram_credentials.c.user_id == user_id))
    values = [{**row, "user_id": user_id} for row in rows]
    if values:
        await conn.execute(insert(scram_credentials), values)
