"""Offline delivery: what reached a user's dialogs since their delivered marker.

A client that reconnects (an XMPP client sending its initial presence) is handed
the messages that arrived while it was away, oldest first per dialog; the
delivered marker then moves, so the next connect starts after them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidings.core.models import Actor, Message
from tidings.store import dialogs as dialogs_store
from tidings.store import messages as messages_store

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: Most recently active dialogs looked at, and messages taken from each.
MAX_DIALOGS = 200
PER_DIALOG = 100


async def undelivered(
    core: Core, actor: Actor, *, max_dialogs: int = MAX_DIALOGS, per_dialog: int = PER_DIALOG
) -> list[Message]:
    """Messages from others, after the actor's delivered marker, not deleted or cleared."""
    found: list[Message] = []
    async with core.db.read() as conn:
        _total, rows = await dialogs_store.list_user_dialogs(
            conn, actor.app_id, actor.user_id, limit=max_dialogs
        )
        for row in rows:
            if row.type == "broadcast" and row.last_seq == 0:
                continue
            member = await dialogs_store.get_member(conn, row.id, actor.user_id)
            if member is None:
                continue
            floor = max(member.delivered_seq, member.read_seq, member.cleared_seq)
            if row.last_seq <= floor:
                continue
            for message in await messages_store.list_since(conn, row.id, floor, per_dialog):
                if message.sender_id != actor.user_id and not message.deleted:
                    found.append(message)
    found.sort(key=lambda m: (m.created_ms, m.id))
    return found
