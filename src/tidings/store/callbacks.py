"""Queries for GMS services (callbacks, chat services), GMS chats and transcripts.

Plain functions that take a connection and never commit (the core owns the
transaction).
"""

from __future__ import annotations

from typing import Unpack

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.gms_rows import (
    ChatChanges,
    ChatRow,
    NewChat,
    NewService,
    ServiceChanges,
    ServiceRow,
    TranscriptEntry,
    TranscriptRow,
)
from tidings.store.tables_gms import gms_chats, gms_services, gms_transcript


async def insert_service(conn: AsyncConnection, **values: Unpack[NewService]) -> None:
    await conn.execute(insert(gms_services).values(**values))


async def get_service(
    conn: AsyncConnection, service_id: str, *, lock: bool = False
) -> ServiceRow | None:
    query = select(gms_services).where(gms_services.c.id == service_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def update_service(
    conn: AsyncConnection, service_id: str, **values: Unpack[ServiceChanges]
) -> None:
    await conn.execute(update(gms_services).where(gms_services.c.id == service_id).values(**values))


async def list_services(
    conn: AsyncConnection,
    app_id: int,
    *,
    kind: str = "callback",
    service_name: str | None = None,
    columns: dict[str, str] | None = None,
    any_of: bool = False,
    states: tuple[str, ...] | None = None,
    gms_user: str | None = None,
    limit: int = 500,
) -> list[ServiceRow]:
    """Filter on column values (``columns``), AND by default, OR when ``any_of``;
    ``gms_user`` (one phone's services) always applies."""
    query = select(gms_services).where(gms_services.c.app_id == app_id, gms_services.c.kind == kind)
    if gms_user is not None:
        query = query.where(gms_services.c.gms_user == gms_user)
    if service_name:
        query = query.where(gms_services.c.service_name == service_name)
    if states:
        query = query.where(gms_services.c.state.in_(states))
    conditions = [gms_services.c[name] == value for name, value in (columns or {}).items()]
    if conditions:
        query = query.where(or_(*conditions) if any_of else and_(*conditions))
    query = query.order_by(gms_services.c.created_ms).limit(limit)
    return list((await conn.execute(query)).all())


async def list_due(conn: AsyncConnection, now_ms: int, limit: int = 100) -> list[ServiceRow]:
    query = (
        select(gms_services)
        .where(gms_services.c.notify_at_ms.is_not(None), gms_services.c.notify_at_ms <= now_ms)
        .order_by(gms_services.c.notify_at_ms)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def list_expiring(
    conn: AsyncConnection, now_ms: int, states: tuple[str, ...], limit: int = 100
) -> list[ServiceRow]:
    """Services in one of ``states`` whose expiration time has passed."""
    query = (
        select(gms_services)
        .where(gms_services.c.state.in_(states), gms_services.c.expiration_ms < now_ms)
        .order_by(gms_services.c.expiration_ms)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def tickets_of_services(conn: AsyncConnection, service_ids: list[str]) -> dict[str, int]:
    """The ticket of each of these services' chats (services without a chat are absent)."""
    if not service_ids:
        return {}
    query = select(gms_chats.c.service_id, gms_chats.c.ticket_id).where(
        gms_chats.c.service_id.in_(service_ids)
    )
    return {row.service_id: row.ticket_id for row in await conn.execute(query)}


async def insert_chat(conn: AsyncConnection, **values: Unpack[NewChat]) -> None:
    await conn.execute(insert(gms_chats).values(**values))


async def get_chat(conn: AsyncConnection, service_id: str, *, lock: bool = False) -> ChatRow | None:
    query = select(gms_chats).where(gms_chats.c.service_id == service_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def get_chat_by_ticket(
    conn: AsyncConnection, ticket_id: int, *, lock: bool = False
) -> ChatRow | None:
    query = select(gms_chats).where(gms_chats.c.ticket_id == ticket_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def get_chat_by_session(conn: AsyncConnection, chat_session_id: str) -> ChatRow | None:
    query = select(gms_chats).where(gms_chats.c.chat_session_id == chat_session_id)
    return (await conn.execute(query)).first()


async def get_chat_by_secure_key(
    conn: AsyncConnection, app_id: int, secure_key: str
) -> ChatRow | None:
    query = select(gms_chats).where(
        gms_chats.c.app_id == app_id, gms_chats.c.secure_key == secure_key
    )
    return (await conn.execute(query)).first()


async def update_chat(
    conn: AsyncConnection, service_id: str, **values: Unpack[ChatChanges]
) -> None:
    await conn.execute(
        update(gms_chats).where(gms_chats.c.service_id == service_id).values(**values)
    )


async def insert_entry(conn: AsyncConnection, **values: Unpack[TranscriptEntry]) -> None:
    await conn.execute(insert(gms_transcript).values(**values))


async def list_entries(
    conn: AsyncConnection, service_id: str, after: int = 0
) -> list[TranscriptRow]:
    query = (
        select(gms_transcript)
        .where(gms_transcript.c.service_id == service_id, gms_transcript.c.position > after)
        .order_by(gms_transcript.c.position)
    )
    return list((await conn.execute(query)).all())


async def list_chats_of_users(
    conn: AsyncConnection, app_id: int, gms_users: list[str]
) -> list[ChatRow]:
    query = select(gms_chats).where(
        gms_chats.c.app_id == app_id, gms_chats.c.gms_user.in_(gms_users)
    )
    return list((await conn.execute(query)).all())


async def list_entries_since(
    conn: AsyncConnection, service_ids: list[str], since_ms: int
) -> list[TranscriptRow]:
    """Entries of these chats created from ``since_ms`` on, by chat and position."""
    query = (
        select(gms_transcript)
        .where(
            gms_transcript.c.service_id.in_(service_ids),
            gms_transcript.c.created_ms >= since_ms,
        )
        .order_by(gms_transcript.c.service_id, gms_transcript.c.position)
    )
    return list((await conn.execute(query)).all())


async def count_services(conn: AsyncConnection, app_id: int, states: tuple[str, ...]) -> int:
    query = select(func.count()).where(
        gms_services.c.app_id == app_id, gms_services.c.state.in_(states)
    )
    return int((await conn.execute(query)).scalar_one())
