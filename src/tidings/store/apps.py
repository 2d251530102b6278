"""Queries on applications (tenants) and their users and sessions."""

from __future__ import annotations

from typing import Any, Unpack

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.domain.list_queries import ExtraField, FieldName, ListQuery, Sort
from tidings.domain.models import App, User
from tidings.store.list_sql import condition_sql, order_sql
from tidings.store.rows import (
    AppChanges,
    AppRow,
    NewApp,
    NewSession,
    NewUser,
    SessionRow,
    UserChanges,
    UserRow,
)
from tidings.store.tables import apps, sessions, users


def _app(row: AppRow) -> App:
    return App(
        id=row.id,
        name=row.name,
        auth_key=row.auth_key,
        auth_secret=row.auth_secret,
        desk_app_id=row.desk_app_id,
        auth_url=row.auth_url,
        webhook_url=row.webhook_url,
        config=dict(row.config or {}),
        created_ms=row.created_ms,
    )


def user_from_row(row: UserRow) -> User:
    return User(
        id=row.id,
        app_id=row.app_id,
        login=row.login,
        full_name=row.full_name,
        email=row.email,
        role=row.role,
        custom_data=row.custom_data,
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
        last_activity_ms=row.last_activity_ms,
        avatar_uid=row.avatar_uid,
        avatar_sha1=row.avatar_sha1,
    )


async def insert_app(conn: AsyncConnection, **values: Unpack[NewApp]) -> App:
    result = await conn.execute(insert(apps).values(**values).returning(apps))
    return _app(result.one())


async def get_app(conn: AsyncConnection, app_id: int) -> App | None:
    row = (await conn.execute(select(apps).where(apps.c.id == app_id))).first()
    return _app(row) if row else None


async def get_app_by(conn: AsyncConnection, **criteria: Any) -> App | None:
    query = select(apps)
    for key, value in criteria.items():
        query = query.where(apps.c[key] == value)
    row = (await conn.execute(query)).first()
    return _app(row) if row else None


async def list_apps(conn: AsyncConnection) -> list[App]:
    return [_app(r) for r in await conn.execute(select(apps).order_by(apps.c.id))]


async def update_app(conn: AsyncConnection, app_id: int, **values: Unpack[AppChanges]) -> None:
    await conn.execute(update(apps).where(apps.c.id == app_id).values(**values))


async def insert_user(conn: AsyncConnection, **values: Unpack[NewUser]) -> User:
    result = await conn.execute(insert(users).values(**values).returning(users))
    return user_from_row(result.one())


async def get_user(conn: AsyncConnection, app_id: int, user_id: int) -> User | None:
    found = await get_user_with_hash(conn, app_id, user_id)
    return found[0] if found else None


async def get_user_by_login(
    conn: AsyncConnection, app_id: int, login: str
) -> tuple[User, str | None] | None:
    row = (
        await conn.execute(select(users).where(users.c.app_id == app_id, users.c.login == login))
    ).first()
    return (user_from_row(row), row.password_hash) if row else None


async def get_user_with_hash(
    conn: AsyncConnection, app_id: int, user_id: int
) -> tuple[User, str | None] | None:
    """:func:`get_user` and the user's password hash, in one query (a login by id)."""
    row = (
        await conn.execute(select(users).where(users.c.id == user_id, users.c.app_id == app_id))
    ).first()
    return (user_from_row(row), row.password_hash) if row else None


async def count_users(conn: AsyncConnection, app_id: int, ids: list[int]) -> int:
    query = (
        select(func.count()).select_from(users).where(users.c.app_id == app_id, users.c.id.in_(ids))
    )
    return int((await conn.execute(query)).scalar_one())


async def list_users(
    conn: AsyncConnection,
    app_id: int,
    *,
    ids: list[int] | None = None,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[User]:
    query = select(users).where(users.c.app_id == app_id)
    if ids is not None:
        query = query.where(users.c.id.in_(ids))
    if text:
        pattern = f"%{_escape_like(text.lower())}%"
        query = query.where(
            or_(
                func.lower(users.c.login).like(pattern, escape="\\"),
                func.lower(func.coalesce(users.c.full_name, "")).like(pattern, escape="\\"),
            )
        )
    query = query.order_by(users.c.id).limit(limit).offset(offset)
    return [user_from_row(r) for r in await conn.execute(query)]


async def update_user(conn: AsyncConnection, user_id: int, **values: Unpack[UserChanges]) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def delete_user(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(delete(users).where(users.c.id == user_id))


async def insert_session(conn: AsyncConnection, **values: Unpack[NewSession]) -> None:
    await conn.execute(insert(sessions).values(**values))


async def get_session(conn: AsyncConnection, token_hash: str) -> SessionRow | None:
    query = select(sessions, users.c.role).outerjoin(users, users.c.id == sessions.c.user_id)
    return (await conn.execute(query.where(sessions.c.token_hash == token_hash))).first()


async def delete_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))


async def delete_sessions_of(conn: AsyncConnection, user_id: int) -> None:
    """Every signed-in session of a user (deactivation signs them all out)."""
    await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))


async def delete_expired_sessions(conn: AsyncConnection, now_ms: int) -> None:
    await conn.execute(delete(sessions).where(sessions.c.expires_ms < now_ms))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- list queries ----------------------------------------------------------------

#: The fields a user list may filter and sort on, by their domain names; an
#: :class:`ExtraField` reads text from ``custom_data`` (filters only).
USER_LIST_FIELDS = {
    "id": users.c.id,
    "login": users.c.login,
    "email": users.c.email,
    "full_name": users.c.full_name,
    "created_ms": users.c.created_ms,
    "updated_ms": users.c.updated_ms,
    "last_activity_ms": users.c.last_activity_ms,
}


def _user_column(name: FieldName) -> Any:
    if isinstance(name, ExtraField):
        return users.c.custom_data[name.path].as_string()
    return USER_LIST_FIELDS[name]


def _users_where(app_id: int, query: ListQuery) -> list[ColumnElement[bool]]:
    return [users.c.app_id == app_id] + [
        condition_sql(_user_column(c.field), c) for c in query.conditions
    ]


async def count_matching_users(conn: AsyncConnection, app_id: int, query: ListQuery) -> int:
    """How many of the app's users meet every condition (the page is ignored)."""
    count = select(func.count()).select_from(users).where(*_users_where(app_id, query))
    return int((await conn.execute(count)).scalar_one())


async def find_users(conn: AsyncConnection, app_id: int, query: ListQuery) -> list[User]:
    """One page of the app's users that meet every condition, sorted in SQL (by id
    without a sort)."""
    sort = query.sort or Sort("id")
    page = (
        select(users)
        .where(*_users_where(app_id, query))
        .order_by(*order_sql(USER_LIST_FIELDS[sort.field], sort, users.c.id))
        .limit(query.limit)
        .offset(query.offset)
    )
    return [user_from_row(r) for r in await conn.execute(page)]
