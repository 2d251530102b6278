"""Queries for agents' tags on tickets (``desk_ticket_tags``): a console filter.

Functions take a connection and never commit.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.tables_servicedesk import desk_ticket_tags


async def list_tags(conn: AsyncConnection, ticket_ids: list[int]) -> dict[int, list[str]]:
    """Each ticket's tags, sorted."""
    if not ticket_ids:
        return {}
    query = (
        select(desk_ticket_tags.c.ticket_id, desk_ticket_tags.c.tag)
        .where(desk_ticket_tags.c.ticket_id.in_(ticket_ids))
        .order_by(desk_ticket_tags.c.ticket_id, desk_ticket_tags.c.tag)
    )
    tags: dict[int, list[str]] = {}
    for row in await conn.execute(query):
        tags.setdefault(row.ticket_id, []).append(row.tag)
    return tags


async def replace_tags(conn: AsyncConnection, app_id: int, ticket_id: int, tags: list[str]) -> None:
    """Set a ticket's tags to exactly ``tags`` (already normalised, without repeats)."""
    await conn.execute(delete(desk_ticket_tags).where(desk_ticket_tags.c.ticket_id == ticket_id))
    if tags:
        rows = [{"ticket_id": ticket_id, "tag": t, "app_id": app_id} for t in tags]
        await conn.execute(insert(desk_ticket_tags), rows)
