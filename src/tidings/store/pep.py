"""Queries on personal eventing (XEP-0163): a user's PEP nodes and their items.

Every query takes a connection and never commits; the core decides who may read or
write (``core/pep.py``). Items are ordered by their serial ``id``: publishing an item
id again deletes the old row and inserts a new one, so the newest is always last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.tables import pep_items, pep_nodes


class PepNodeRow(Protocol):
    """A ``pep_nodes`` row as read."""

    id: int
    app_id: int
    owner_id: int
    name: str
    access_model: str
    persist_items: bool
    max_items: int
    created_ms: int


class PepItemRow(Protocol):
    """A ``pep_items`` row as read."""

    id: int
    node_id: int
    item_id: str
    payload: str
    published_ms: int


async def get_node(conn: AsyncConnection, owner_id: int, name: str) -> PepNodeRow | None:
    query = select(pep_nodes).where(pep_nodes.c.owner_id == owner_id, pep_nodes.c.name == name)
    return (await conn.execute(query)).first()


async def list_nodes(conn: AsyncConnection, owner_id: int) -> list[PepNodeRow]:
    query = select(pep_nodes).where(pep_nodes.c.owner_id == owner_id).order_by(pep_nodes.c.name)
    return list(await conn.execute(query))


async def count_nodes(conn: AsyncConnection, owner_id: int) -> int:
    query = select(func.count()).where(pep_nodes.c.owner_id == owner_id)
    return int((await conn.execute(query)).scalar_one())


async def create_node(
    conn: AsyncConnection,
    *,
    app_id: int,
    owner_id: int,
    name: str,
    access_model: str,
    persist_items: bool,
    max_items: int,
    now_ms: int,
) -> PepNodeRow:
    await conn.execute(
        insert(pep_nodes).values(
            app_id=app_id,
            owner_id=owner_id,
            name=name,
            access_model=access_model,
            persist_items=persist_items,
            max_items=max_items,
            created_ms=now_ms,
        )
    )
    row = await get_node(conn, owner_id, name)
    assert row is not None
    return row


async def configure_node(
    conn: AsyncConnection, node_id: int, *, access_model: str, persist_items: bool, max_items: int
) -> None:
    await conn.execute(
        update(pep_nodes)
        .where(pep_nodes.c.id == node_id)
        .values(access_model=access_model, persist_items=persist_items, max_items=max_items)
    )


async def delete_node(conn: AsyncConnection, node_id: int) -> None:
    """The node and its items (deleted explicitly: SQLite may run without FK cascades)."""
    await conn.execute(delete(pep_items).where(pep_items.c.node_id == node_id))
    await conn.execute(delete(pep_nodes).where(pep_nodes.c.id == node_id))


async def put_item(
    conn: AsyncConnection, node_id: int, item_id: str, payload: str, now_ms: int
) -> None:
    """Store the item as the node's newest, replacing one with the same id."""
    await conn.execute(
        delete(pep_items).where(pep_items.c.node_id == node_id, pep_items.c.item_id == item_id)
    )
    await conn.execute(
        insert(pep_items).values(
            node_id=node_id, item_id=item_id, payload=payload, published_ms=now_ms
        )
    )


async def trim_items(conn: AsyncConnection, node_id: int, keep: int) -> list[str]:
    """Delete all but the ``keep`` newest items; returns the ids deleted."""
    newest = (
        select(pep_items.c.id)
        .where(pep_items.c.node_id == node_id)
        .order_by(pep_items.c.id.desc())
        .limit(keep)
    )
    kept = [r[0] for r in await conn.execute(newest)]
    stale_query = select(pep_items.c.id, pep_items.c.item_id).where(pep_items.c.node_id == node_id)
    if kept:
        stale_query = stale_query.where(pep_items.c.id.not_in(kept))
    stale = list(await conn.execute(stale_query))
    if stale:
        await conn.execute(delete(pep_items).where(pep_items.c.id.in_([r[0] for r in stale])))
    return [r[1] for r in stale]


async def delete_item(conn: AsyncConnection, node_id: int, item_id: str) -> bool:
    result = await conn.execute(
        delete(pep_items).where(pep_items.c.node_id == node_id, pep_items.c.item_id == item_id)
    )
    return bool(result.rowcount)


async def list_items(
    conn: AsyncConnection,
    node_id: int,
    *,
    item_ids: Sequence[str] = (),
    newest: int | None = None,
) -> list[PepItemRow]:
    """Items oldest first: those named, or the ``newest`` n, or all."""
    query = select(pep_items).where(pep_items.c.node_id == node_id)
    if item_ids:
        query = query.where(pep_items.c.item_id.in_(list(item_ids)))
    if newest is not None:
        query = query.order_by(pep_items.c.id.desc()).limit(newest)
        return list(reversed(list(await conn.execute(query))))
    return list(await conn.execute(query.order_by(pep_items.c.id)))


async def last_items(
    conn: AsyncConnection, owner_ids: Sequence[int]
) -> list[tuple[PepNodeRow, PepItemRow]]:
    """The newest item of every node the owners have (XEP-0163 §4.3.2 on presence)."""
    if not owner_ids:
        return []
    newest = (
        select(func.max(pep_items.c.id))
        .select_from(pep_items.join(pep_nodes, pep_nodes.c.id == pep_items.c.node_id))
        .where(pep_nodes.c.owner_id.in_(list(owner_ids)))
        .group_by(pep_items.c.node_id)
    )
    items = list(
        await conn.execute(
            select(pep_items).where(pep_items.c.id.in_(newest)).order_by(pep_items.c.id)
        )
    )
    if not items:
        return []
    node_query = select(pep_nodes).where(pep_nodes.c.id.in_([i.node_id for i in items]))
    nodes: dict[int, PepNodeRow] = {n.id: n for n in await conn.execute(node_query)}
    return [(nodes[i.node_id], i) for i in items]
