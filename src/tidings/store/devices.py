"""Queries on the devices registry (push subscriptions) and on who should get a push."""

from __future__ import annotations

from typing import Any, Unpack

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.rows import DeviceRow, DeviceValues
from tidings.store.tables import blocks, connections, dialog_members
from tidings.store.tables_delivery import devices


async def upsert_device(conn: AsyncConnection, **values: Unpack[DeviceValues]) -> DeviceRow:
    """Register (or refresh) one device of one user, and take its token from anyone else.

    Returns the stored row.
    """
    await conn.execute(
        delete(devices).where(
            devices.c.app_id == values["app_id"],
            devices.c.platform == values["platform"],
            devices.c.token == values["token"],
            devices.c.user_id != values["user_id"],
        )
    )
    where = (devices.c.user_id == values["user_id"], devices.c.device_id == values["device_id"])
    existing = (await conn.execute(select(devices.c.id).where(*where))).first()
    if existing is None:
        await conn.execute(insert(devices).values(**values))
    else:
        changes = {k: v for k, v in values.items() if k != "created_ms"}
        await conn.execute(update(devices).where(*where).values(**changes))
    return (await conn.execute(select(devices).where(*where))).one()


async def list_devices(conn: AsyncConnection, user_id: int) -> list[DeviceRow]:
    query = select(devices).where(devices.c.user_id == user_id).order_by(devices.c.id)
    return list(await conn.execute(query))


async def delete_device(conn: AsyncConnection, user_id: int, device_id: str) -> bool:
    result = await conn.execute(
        delete(devices).where(devices.c.user_id == user_id, devices.c.device_id == device_id)
    )
    return bool(result.rowcount)


async def delete_token(conn: AsyncConnection, app_id: int, platform: str, token: str) -> int:
    """Forget a token the provider called dead (APNs 410, FCM UNREGISTERED)."""
    result = await conn.execute(
        delete(devices).where(
            devices.c.app_id == app_id, devices.c.platform == platform, devices.c.token == token
        )
    )
    return int(result.rowcount or 0)


def _push_targets_query() -> Any:
    live = (
        select(connections.c.user_id)
        .where(
            connections.c.user_id == devices.c.user_id,
            connections.c.seen_ms > bindparam("alive_after_ms"),
        )
        .exists()
    )
    return (
        select(devices)
        .select_from(
            devices.join(
                dialog_members,
                and_(
                    dialog_members.c.dialog_id == bindparam("dialog_id"),
                    dialog_members.c.user_id == devices.c.user_id,
                ),
            )
        )
        .where(
            devices.c.user_id.in_(bindparam("user_ids", expanding=True)),
            dialog_members.c.muted.is_(False),
            ~live,
        )
        .order_by(devices.c.user_id, devices.c.id)
    )


#: Built once: it runs for every message sent.
_PUSH_TARGETS = _push_targets_query()


async def push_targets(
    conn: AsyncConnection,
    dialog_id: str,
    user_ids: list[int],
    alive_after_ms: int,
) -> list[DeviceRow]:
    """Devices of ``user_ids`` that should hear about a message in ``dialog_id``: the
    member has not muted the dialog and has no live connection. One indexed query."""
    if not user_ids:
        return []
    params = {"dialog_id": dialog_id, "user_ids": user_ids, "alive_after_ms": alive_after_ms}
    return list(await conn.execute(_PUSH_TARGETS, params))


async def targets_for_users(
    conn: AsyncConnection, app_id: int, user_ids: list[int], sender_id: int
) -> list[DeviceRow]:
    """Every device of the chosen users of one app (for a push event sent on purpose),
    except users who block the sender."""
    if not user_ids:
        return []
    blocking = (
        select(blocks.c.blocker_id)
        .where(blocks.c.blocker_id == devices.c.user_id, blocks.c.blocked_id == sender_id)
        .exists()
    )
    query = (
        select(devices)
        .where(devices.c.app_id == app_id, devices.c.user_id.in_(user_ids), ~blocking)
        .order_by(devices.c.user_id, devices.c.id)
    )
    return list(await conn.execute(query))
