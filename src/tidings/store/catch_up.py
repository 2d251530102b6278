"""Queries that read back what a node's live sessions may have missed during a bus gap.

All of them start from indexed columns: memberships by user
(``ix_dialog_members_user``), broadcast dialogs by app (``ix_dialogs_app_type``),
and messages by dialog and creation time (``ix_messages_dialog_created``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.domain.models import Message
from tidings.store.messages import message_from_row
from tidings.store.rows import ActiveMembershipRow
from tidings.store.tables import blocks, dialog_members, dialogs, messages

#: Ids per ``IN (…)``: well under the bound-parameter limits of SQLite and asyncpg.
_CHUNK = 500


_Key = TypeVar("_Key", int, str)


def _chunks(values: Iterable[_Key]) -> Iterator[list[_Key]]:
    items = sorted(set(values))
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def active_memberships(
    conn: AsyncConnection, user_ids: Iterable[int], since_ms: int
) -> list[ActiveMembershipRow]:
    """``(dialog_id, user_id, cleared_seq)`` for each membership of ``user_ids`` in a
    dialog (broadcasts aside) whose last message is from ``since_ms`` or later."""
    rows: list[ActiveMembershipRow] = []
    for chunk in _chunks(user_ids):
        query = (
            select(
                dialog_members.c.dialog_id, dialog_members.c.user_id, dialog_members.c.cleared_seq
            )
            .join(dialogs, dialogs.c.id == dialog_members.c.dialog_id)
            .where(
                dialog_members.c.user_id.in_(chunk),
                dialogs.c.last_message_ms >= since_ms,
                dialogs.c.type != "broadcast",
            )
        )
        rows += list(await conn.execute(query))
    return rows


async def active_broadcasts(
    conn: AsyncConnection, app_ids: Iterable[int], since_ms: int
) -> list[str]:
    """Broadcast dialogs of ``app_ids`` with a message from ``since_ms`` or later."""
    found: list[str] = []
    for chunk in _chunks(app_ids):
        query = select(dialogs.c.id).where(
            dialogs.c.app_id.in_(chunk),
            dialogs.c.type == "broadcast",
            dialogs.c.last_message_ms >= since_ms,
        )
        found += [row.id for row in await conn.execute(query)]
    return found


async def messages_created_since(
    conn: AsyncConnection, dialog_ids: Iterable[str], since_ms: int, limit: int
) -> list[Message]:
    """Up to ``limit`` messages of ``dialog_ids`` created at ``since_ms`` or later and
    not deleted, by dialog and then ``seq``."""
    found: list[Message] = []
    for chunk in _chunks(dialog_ids):
        if len(found) >= limit:
            break
        query = (
            select(messages)
            .where(
                messages.c.dialog_id.in_(chunk),
                messages.c.created_ms >= since_ms,
                messages.c.deleted.is_(False),
            )
            .order_by(messages.c.dialog_id, messages.c.seq)
            .limit(limit - len(found))
        )
        found += [message_from_row(row) for row in await conn.execute(query)]
    return found


async def blocks_by(conn: AsyncConnection, user_ids: Iterable[int]) -> set[tuple[int, int]]:
    """``(blocker, blocked)`` for every block set by one of ``user_ids``."""
    found: set[tuple[int, int]] = set()
    for chunk in _chunks(user_ids):
        query = select(blocks.c.blocker_id, blocks.c.blocked_id).where(
            blocks.c.blocker_id.in_(chunk)
        )
        found |= {(row.blocker_id, row.blocked_id) for row in await conn.execute(query)}
    return found
