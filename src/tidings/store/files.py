"""Queries on stored files' metadata and who may download them."""

from __future__ import annotations

from typing import Unpack

from sqlalchemy import and_, delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.domain.models import FileInfo
from tidings.store.rows import FileRow, NewFile
from tidings.store.tables import dialog_members, file_grants, files


def _file(row: FileRow) -> FileInfo:
    return FileInfo(
        id=row.id,
        uid=row.uid,
        app_id=row.app_id,
        owner_id=row.owner_id,
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        public=row.public,
        created_ms=row.created_ms,
    )


async def insert_file(conn: AsyncConnection, **values: Unpack[NewFile]) -> FileInfo:
    result = await conn.execute(insert(files).values(**values).returning(files))
    return _file(result.one())


async def get_file(conn: AsyncConnection, app_id: int, uid: str) -> FileInfo | None:
    query = select(files).where(files.c.uid == uid, files.c.app_id == app_id)
    row = (await conn.execute(query)).first()
    return _file(row) if row else None


async def get_file_any_app(conn: AsyncConnection, uid: str) -> FileInfo | None:
    row = (await conn.execute(select(files).where(files.c.uid == uid))).first()
    return _file(row) if row else None


async def file_ids(conn: AsyncConnection, uids: list[str]) -> list[int]:
    return [r[0] for r in await conn.execute(select(files.c.id).where(files.c.uid.in_(uids)))]


async def delete_file(conn: AsyncConnection, file_id: int) -> None:
    await conn.execute(delete(files).where(files.c.id == file_id))


async def shared_with(conn: AsyncConnection, file_id: int, user_id: int) -> bool:
    """True when the file was attached in a dialog the user belongs to."""
    query = select(
        exists().where(
            and_(
                file_grants.c.file_id == file_id,
                dialog_members.c.dialog_id == file_grants.c.dialog_id,
                dialog_members.c.user_id == user_id,
            )
        )
    )
    return bool((await conn.execute(query)).scalar())


async def total_size_of_owner(conn: AsyncConnection, app_id: int, owner_id: int) -> int:
    """Bytes of every file a user owns in an app (their upload quota counts these)."""
    query = select(func.coalesce(func.sum(files.c.size), 0)).where(
        files.c.app_id == app_id, files.c.owner_id == owner_id
    )
    return int((await conn.execute(query)).scalar() or 0)
