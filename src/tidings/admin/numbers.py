"""The overview's numbers: cheap reads that a page polled every few seconds can afford.

- Live connections per gateway are those this node holds (each real-time gateway's
  :class:`~tidings.fanout.FanoutIndex`); other nodes keep their own.
- Messages of the last minute are an index range on ``messages.id``: ids start
  with their creation second (``tidings.domain.ids``), so the primary key bounds
  the scan to that minute, however old the app is.
- Outbox counts read the states not delivered, which ``ix_outbox_due`` leads with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.fanout import FanoutIndex
from tidings.store.tables import messages, outbox

NOT_DELIVERED = ("queued", "sending", "dead")


@dataclass(frozen=True, slots=True)
class Numbers:
    connections: dict[str, int]
    messages_last_minute: int
    outbox: dict[str, int]


def live_connections(gateways: dict[str, Any], app_id: int) -> dict[str, int]:
    """Connections of ``app_id`` held here, by gateway name (gateways that keep an index)."""
    counts: dict[str, int] = {}
    for name, mount in gateways.items():
        index = getattr(getattr(mount, "gateway", None), "registry", None)
        if isinstance(index, FanoutIndex):
            counts[name] = sum(1 for member in index.members() if member.app_id == app_id)
    return counts


async def messages_since(conn: AsyncConnection, app_id: int, since_ms: int) -> int:
    first_id = f"{since_ms // 1000:08x}" + "0" * 16
    query = select(func.count()).where(messages.c.id >= first_id, messages.c.app_id == app_id)
    return int((await conn.execute(query)).scalar_one())


async def outbox_pending(conn: AsyncConnection, app_id: int) -> dict[str, int]:
    query = (
        select(outbox.c.state, func.count())
        .where(outbox.c.state.in_(NOT_DELIVERED), outbox.c.app_id == app_id)
        .group_by(outbox.c.state)
    )
    found = {row[0]: int(row[1]) for row in await conn.execute(query)}
    return {state: found.get(state, 0) for state in NOT_DELIVERED}
