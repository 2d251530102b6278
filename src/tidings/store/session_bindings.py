"""Queries beyond the per-noun modules for application sessions: binding a session
to a user, users by email, and blobs by their integer id (the numbering some SDKs
address files by)."""

from __future__ import annotations

from typing import Unpack

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.domain.models import FileInfo, User
from tidings.store.apps import user_from_row
from tidings.store.files import _file
from tidings.store.rows import FileChanges, SessionChanges
from tidings.store.tables import files, sessions, users


async def update_session(
    conn: AsyncConnection, token_hash: str, **values: Unpack[SessionChanges]
) -> None:
    await conn.execute(update(sessions).where(sessions.c.token_hash == token_hash).values(**values))


async def get_user_by_email(
    conn: AsyncConnection, app_id: int, email: str
) -> tuple[User, str | None] | None:
    query = select(users).where(
        users.c.app_id == app_id, func.lower(users.c.email) == email.lower()
    )
    row = (await conn.execute(query.order_by(users.c.id).limit(1))).first()
    return (user_from_row(row), row.password_hash) if row else None


async def get_password_hash(conn: AsyncConnection, user_id: int) -> str | None:
    query = select(users.c.password_hash).where(users.c.id == user_id)
    return (await conn.execute(query)).scalar_one_or_none()


async def get_file_by_id(conn: AsyncConnection, app_id: int, file_id: int) -> FileInfo | None:
    query = select(files).where(files.c.app_id == app_id, files.c.id == file_id)
    row = (await conn.execute(query)).first()
    return _file(row) if row else None


async def update_file(conn: AsyncConnection, file_id: int, **values: Unpack[FileChanges]) -> None:
    await conn.execute(update(files).where(files.c.id == file_id).values(**values))


async def list_owned_files(
    conn: AsyncConnection, app_id: int, owner_id: int, *, limit: int, offset: int
) -> tuple[int, list[FileInfo]]:
    where = (files.c.app_id == app_id, files.c.owner_id == owner_id)
    total = (await conn.execute(select(func.count()).select_from(files).where(*where))).scalar_one()
    query = select(files).where(*where).order_by(files.c.id).limit(limit).offset(offset)
    return int(total), [_file(r) for r in await conn.execute(query)]
