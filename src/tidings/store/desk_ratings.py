"""Queries for satisfaction ratings: the ticket a rating lands on, and an app's tallies.

A ticket holds at most one rating (``desk_tickets.rating``); the comment that
carried it (``desk_comments.rating``) says when it was given. Tallies start from
the app's tickets (``ix_desk_tickets_inbox`` leads with ``app_id``) and reach each
rated ticket's comments through ``ix_desk_comments_ticket``, so they never scan
other apps' comments.
"""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.desk_rows import TicketRow
from tidings.store.tables_servicedesk import desk_comments, desk_tickets


async def newest_ticket(conn: AsyncConnection, requester_id: int) -> TicketRow | None:
    """The identity's newest ticket, open or not: the one single-chat SDKs rate (§10)."""
    query = (
        select(desk_tickets)
        .where(desk_tickets.c.requester_id == requester_id)
        .order_by(desk_tickets.c.id.desc())
        .limit(1)
    )
    return (await conn.execute(query)).first()


async def count_ratings(
    conn: AsyncConnection, app_id: int, since_ms: int
) -> dict[int, tuple[int, int]]:
    """``{rating: (tickets rated so, of which rated at or after since_ms)}`` for one app."""
    rated = (
        select(
            desk_tickets.c.rating.label("rating"),
            func.max(desk_comments.c.created_ms).label("rated_ms"),
        )
        .join(desk_comments, desk_comments.c.ticket_id == desk_tickets.c.id)
        .where(
            desk_tickets.c.app_id == app_id,
            desk_tickets.c.rating.is_not(None),
            desk_comments.c.rating.is_not(None),
        )
        .group_by(desk_tickets.c.id, desk_tickets.c.rating)
        .subquery()
    )
    recent = func.sum(case((rated.c.rated_ms >= since_ms, 1), else_=0))
    query = select(rated.c.rating, func.count(), recent).group_by(rated.c.rating)
    return {int(r[0]): (int(r[1]), int(r[2] or 0)) for r in await conn.execute(query)}
