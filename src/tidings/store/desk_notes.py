"""Queries for agents' internal notes on tickets (``desk_notes``).

Only the console's agent side calls these; the requester's paths (the SDK feed,
the dialog's messages, webhooks, pushes) read ``desk_comments`` and ``messages``
and so cannot return a note. Functions take a connection and never commit.
"""

from __future__ import annotations

from typing import Protocol, TypedDict, Unpack

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.tables import users
from tidings.store.tables_servicedesk import desk_notes


class NewNote(TypedDict):
    """The columns of a new ``desk_notes`` row (``id`` is assigned)."""

    ticket_id: int
    app_id: int
    author_id: int
    body: str
    created_ms: int


class NoteRow(Protocol):
    """A note with its author's names (None once the author is deleted)."""

    id: int
    ticket_id: int
    author_id: int | None
    body: str
    created_ms: int
    author_name: str | None
    author_login: str | None


async def insert_note(conn: AsyncConnection, **values: Unpack[NewNote]) -> int:
    result = await conn.execute(insert(desk_notes).values(**values).returning(desk_notes.c.id))
    return int(result.scalar_one())


async def list_notes(
    conn: AsyncConnection, app_id: int, ticket_id: int, *, limit: int = 500
) -> list[NoteRow]:
    """A ticket's notes, oldest first (the thread interleaves them by time)."""
    query = (
        select(
            desk_notes.c.id,
            desk_notes.c.ticket_id,
            desk_notes.c.author_id,
            desk_notes.c.body,
            desk_notes.c.created_ms,
            users.c.full_name.label("author_name"),
            users.c.login.label("author_login"),
        )
        .outerjoin(users, users.c.id == desk_notes.c.author_id)
        .where(desk_notes.c.app_id == app_id, desk_notes.c.ticket_id == ticket_id)
        .order_by(desk_notes.c.id)
        .limit(limit)
    )
    return list(await conn.execute(query))
