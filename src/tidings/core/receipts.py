"""Delivered and read markers: per member, per dialog, monotonic.

A marker says "everything up to this message". Unread counts and each message's
``read_ids``/``delivered_ids`` are derived from the markers, so one write per
reader replaces one write per message per recipient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidings.core import access
from tidings.domain.errors import InvalidInput, NotFound
from tidings.domain.events import MessagesDelivered, MessagesRead
from tidings.domain.ids import is_valid_id
from tidings.domain.models import Actor
from tidings.store import dialogs as dialogs_store
from tidings.store import messages as messages_store

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: Dialogs up to this size tell every member about a read; bigger ones tell the
#: message's sender and the reader's own devices only.
ANNOUNCE_TO_ALL = 50


class ReceiptService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def mark_read(self, actor: Actor, dialog_id: str, message_id: str | None = None) -> int:
        """Mark read up to ``message_id`` (default: the newest). Returns the read marker."""
        return await self._advance(actor, dialog_id, message_id, "read_seq")

    async def mark_delivered(
        self, actor: Actor, dialog_id: str, message_id: str | None = None
    ) -> int:
        return await self._advance(actor, dialog_id, message_id, "delivered_seq")

    async def _advance(
        self, actor: Actor, dialog_id: str, message_id: str | None, column: str
    ) -> int:
        if message_id is not None and not is_valid_id(message_id):
            raise InvalidInput("message_id is a message id", field="message_id")
        async with self.core.db.transaction() as conn:
            dialog, member = await access.load_membership(conn, actor, dialog_id)
            if message_id is None:
                if dialog.last_seq == 0:
                    return 0
                target = await messages_store.get_message_by_seq(conn, dialog_id, dialog.last_seq)
            else:
                target = await messages_store.get_message(conn, message_id)
                if target is None or target.dialog_id != dialog_id:
                    raise NotFound(
                        f"no message {message_id} in this dialog", code="message_not_found"
                    )
            assert target is not None and target.seq is not None
            moved = await dialogs_store.advance_marker(
                conn, dialog_id, actor.user_id, column, target.seq
            )
            marker: int = max(getattr(member, column), target.seq)
            if not moved:
                return marker
            if dialog.type in ("private", "group") and (
                await dialogs_store.count_members(conn, dialog_id) <= ANNOUNCE_TO_ALL
            ):
                recipients = await dialogs_store.list_member_ids(conn, dialog_id)
            else:
                recipients = sorted({actor.user_id, target.sender_id})
        event_type = MessagesRead if column == "read_seq" else MessagesDelivered
        await self.core.publish(
            event_type(
                app_id=actor.app_id,
                recipients=tuple(recipients),
                dialog_id=dialog_id,
                user_id=actor.user_id,
                seq=target.seq,
                message_id=target.id,
            )
        )
        return marker
