"""Typing started/stopped: ephemeral, never stored, sent to the other members."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidings.core import access
from tidings.domain.events import TypingChanged
from tidings.domain.models import Actor
from tidings.store import dialogs as dialogs_store

if TYPE_CHECKING:
    from tidings.core.hub import Core


class TypingService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def set_typing(
        self, actor: Actor, dialog_id: str, typing: bool, *, chat_state: str = ""
    ) -> None:
        """``chat_state``: the XEP-0085 state behind ``typing``, passed on to XMPP."""
        async with self.core.db.read() as conn:
            dialog, _member = await access.load_membership(conn, actor, dialog_id)
            if dialog.type == "broadcast":
                return
            members = await dialogs_store.list_member_ids(conn, dialog_id)
        others = tuple(u for u in members if u != actor.user_id)
        await self.core.publish(
            TypingChanged(
                app_id=actor.app_id,
                recipients=others,
                dialog_id=dialog_id,
                user_id=actor.user_id,
                typing=bool(typing),
                chat_state=chat_state,
            )
        )
