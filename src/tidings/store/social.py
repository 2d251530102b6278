"""Queries on the social graph: contacts (roster), privacy lists, blocks, live connections."""

from __future__ import annotations

from typing import Any, Unpack

from sqlalchemy import delete, func, insert, null, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.rows import Connection, ConnectionRow, ContactRow, PrivacyListRow
from tidings.store.tables import blocks, connections, contacts, privacy_lists


async def get_contact(conn: AsyncConnection, user_id: int, contact_id: int) -> ContactRow | None:
    query = select(contacts).where(
        contacts.c.user_id == user_id, contacts.c.contact_id == contact_id
    )
    return (await conn.execute(query)).first()


async def list_contacts(conn: AsyncConnection, user_id: int) -> list[ContactRow]:
    query = select(contacts).where(contacts.c.user_id == user_id).order_by(contacts.c.contact_id)
    return list(await conn.execute(query))


async def count_contacts(conn: AsyncConnection, user_id: int) -> int:
    query = select(func.count()).where(contacts.c.user_id == user_id)
    return int((await conn.execute(query)).scalar_one())


async def put_contact(
    conn: AsyncConnection, app_id: int, user_id: int, contact_id: int, status: str, now_ms: int
) -> None:
    if await get_contact(conn, user_id, contact_id) is None:
        await conn.execute(
            insert(contacts).values(
                user_id=user_id,
                contact_id=contact_id,
                app_id=app_id,
                status=status,
                updated_ms=now_ms,
            )
        )
    else:
        await conn.execute(
            update(contacts)
            .where(contacts.c.user_id == user_id, contacts.c.contact_id == contact_id)
            .values(status=status, updated_ms=now_ms)
        )


async def set_contact_item(
    conn: AsyncConnection, user_id: int, contact_id: int, name: str | None, groups: list[str]
) -> None:
    """RFC 6121 §2.3: the roster item's name and groups, leaving its subscription alone."""
    await conn.execute(
        update(contacts)
        .where(contacts.c.user_id == user_id, contacts.c.contact_id == contact_id)
        .values(name=name, groups=groups)
    )


async def delete_contact(conn: AsyncConnection, user_id: int, contact_id: int) -> None:
    await conn.execute(
        delete(contacts).where(contacts.c.user_id == user_id, contacts.c.contact_id == contact_id)
    )


async def contact_ids_with_status(
    conn: AsyncConnection, user_id: int, statuses: tuple[str, ...]
) -> list[int]:
    query = select(contacts.c.contact_id).where(
        contacts.c.user_id == user_id, contacts.c.status.in_(statuses)
    )
    return [r[0] for r in await conn.execute(query)]


async def delete_contact_pair(conn: AsyncConnection, a: int, b: int) -> None:
    await conn.execute(delete(contacts).where(contacts.c.user_id == a, contacts.c.contact_id == b))
    await conn.execute(delete(contacts).where(contacts.c.user_id == b, contacts.c.contact_id == a))


async def confirmed_contact_ids(conn: AsyncConnection, user_id: int) -> list[int]:
    query = select(contacts.c.contact_id).where(
        contacts.c.user_id == user_id, contacts.c.status == "confirmed"
    )
    return [r[0] for r in await conn.execute(query)]


async def get_privacy_list(conn: AsyncConnection, user_id: int, name: str) -> PrivacyListRow | None:
    query = select(privacy_lists).where(
        privacy_lists.c.user_id == user_id, privacy_lists.c.name == name
    )
    return (await conn.execute(query)).first()


async def list_privacy_lists(conn: AsyncConnection, user_id: int) -> list[PrivacyListRow]:
    query = select(privacy_lists).where(privacy_lists.c.user_id == user_id)
    return list(await conn.execute(query.order_by(privacy_lists.c.name)))


async def put_privacy_list(
    conn: AsyncConnection,
    app_id: int,
    user_id: int,
    name: str,
    items: list[dict[str, Any]],
    now_ms: int,
) -> None:
    if await get_privacy_list(conn, user_id, name) is None:
        await conn.execute(
            insert(privacy_lists).values(
                user_id=user_id,
                name=name,
                app_id=app_id,
                items=items,
                active=False,
                updated_ms=now_ms,
            )
        )
    else:
        await conn.execute(
            update(privacy_lists)
            .where(privacy_lists.c.user_id == user_id, privacy_lists.c.name == name)
            .values(items=items, updated_ms=now_ms)
        )


async def delete_privacy_list(conn: AsyncConnection, user_id: int, name: str) -> None:
    await conn.execute(
        delete(privacy_lists).where(
            privacy_lists.c.user_id == user_id, privacy_lists.c.name == name
        )
    )


async def set_active_privacy_list(conn: AsyncConnection, user_id: int, name: str | None) -> None:
    await conn.execute(
        update(privacy_lists).where(privacy_lists.c.user_id == user_id).values(active=False)
    )
    if name is not None:
        await conn.execute(
            update(privacy_lists)
            .where(privacy_lists.c.user_id == user_id, privacy_lists.c.name == name)
            .values(active=True)
        )


async def replace_blocks(
    conn: AsyncConnection, app_id: int, blocker_id: int, blocked: list[tuple[int, bool]]
) -> None:
    """Replace who ``blocker_id`` blocks: (user id, mutual) pairs."""
    await conn.execute(delete(blocks).where(blocks.c.blocker_id == blocker_id))
    if blocked:
        await conn.execute(
            insert(blocks),
            [
                {"blocker_id": blocker_id, "blocked_id": b, "app_id": app_id, "mutual": mutual}
                for b, mutual in blocked
            ],
        )


async def blocked_either_way(conn: AsyncConnection, user_id: int) -> set[int]:
    """Users ``user_id`` blocks or is blocked by: no presence passes between them."""
    theirs = select(blocks.c.blocker_id).where(blocks.c.blocked_id == user_id)
    mine = select(blocks.c.blocked_id).where(blocks.c.blocker_id == user_id)
    return {r[0] for r in await conn.execute(theirs.union(mine))}


async def insert_connection(conn: AsyncConnection, **values: Unpack[Connection]) -> None:
    await conn.execute(insert(connections).values(**values))


async def delete_connection(conn: AsyncConnection, connection_id: str) -> ConnectionRow | None:
    query = select(connections).where(connections.c.id == connection_id)
    row = (await conn.execute(query)).first()
    await conn.execute(delete(connections).where(connections.c.id == connection_id))
    return row


async def get_connection(conn: AsyncConnection, connection_id: str) -> ConnectionRow | None:
    query = select(connections).where(connections.c.id == connection_id)
    return (await conn.execute(query)).first()


async def set_connection_presence(
    conn: AsyncConnection, connection_id: str, resource: str, presence: dict[str, Any] | None
) -> None:
    await conn.execute(
        update(connections)
        .where(connections.c.id == connection_id)
        .values(resource=resource, presence=null() if presence is None else presence)
    )


async def available_resources(
    conn: AsyncConnection, user_ids: list[int], alive_after_ms: int
) -> list[ConnectionRow]:
    """Live connections of ``user_ids`` that broadcast an available presence."""
    if not user_ids:
        return []
    query = select(connections).where(
        connections.c.user_id.in_(user_ids),
        connections.c.seen_ms > alive_after_ms,
        connections.c.presence.is_not(None),
    )
    return list(await conn.execute(query.order_by(connections.c.user_id, connections.c.id)))


async def count_live_connections(conn: AsyncConnection, user_id: int, alive_after_ms: int) -> int:
    query = select(func.count()).where(
        connections.c.user_id == user_id, connections.c.seen_ms > alive_after_ms
    )
    return int((await conn.execute(query)).scalar_one())


async def online_users(conn: AsyncConnection, user_ids: list[int], alive_after_ms: int) -> set[int]:
    if not user_ids:
        return set()
    query = select(connections.c.user_id).where(
        connections.c.user_id.in_(user_ids), connections.c.seen_ms > alive_after_ms
    )
    return {r[0] for r in await conn.execute(query)}


async def touch_node(conn: AsyncConnection, node_id: str, now_ms: int) -> None:
    await conn.execute(
        update(connections).where(connections.c.node_id == node_id).values(seen_ms=now_ms)
    )


async def delete_stale_connections(
    conn: AsyncConnection, alive_after_ms: int
) -> list[ConnectionRow]:
    query = select(connections).where(connections.c.seen_ms <= alive_after_ms)
    rows: list[ConnectionRow] = list(await conn.execute(query))
    if rows:
        await conn.execute(delete(connections).where(connections.c.seen_ms <= alive_after_ms))
    return rows
