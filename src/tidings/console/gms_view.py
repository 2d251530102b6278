"""What the console shows of a ticket that is a GMS chat.

The ticket's comments are the messages; the GMS transcript adds what a chat has
and a ticket does not: who joined and left, who is typing now, whether the
customer ended the chat. The requester panel gets the phone's GMS identity, its
number and the callback service it came through (gms-callback-chat-wire §6.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.core.callbacks import Callback
from tidings.core.desk_models import DeskComment, DeskTicket
from tidings.core.gms_chats import Chat, Entry
from tidings.core.hub import Core
from tidings.domain.errors import NotFound
from tidings.domain.models import Actor

#: Transcript entries shown as notices in the thread (messages are the comments).
SHOWN = ("Notice.Joined", "Notice.Left")
TYPING = ("Notice.TypingStarted", "Notice.TypingStopped")


@dataclass(frozen=True, slots=True)
class GmsView:
    chat: Chat
    entries: list[Entry]
    callback: Callback | None
    ended_by: str | None

    @property
    def customer_typing(self) -> bool:
        return self._typing("CLIENT")

    @property
    def agent_joined(self) -> bool:
        """Whether an agent is in the chat now (joined and not left since)."""
        for entry in reversed(self.entries):
            if entry.party == "AGENT" and entry.kind in SHOWN:
                return entry.kind == "Notice.Joined"
        return False

    @property
    def ended(self) -> bool:
        return self.chat.state != "TRANSCRIPT"

    def _typing(self, party: str) -> bool:
        for entry in reversed(self.entries):
            if entry.party == party and entry.kind in TYPING:
                return entry.kind == "Notice.TypingStarted"
        return False

    def timeline(self, comments: list[DeskComment]) -> list[tuple[str, Any]]:
        """Comments and join/leave notices in time order (a notice before a comment of
        the same millisecond: one joins, then speaks)."""
        items: list[tuple[int, int, str, Any]] = [
            (e.created_ms, 0, "notice", e) for e in self.entries if e.kind in SHOWN
        ]
        items += [(c.created_ms, 1, "comment", c) for c in comments]
        items.sort(key=lambda item: (item[0], item[1]))
        return [(kind, value) for _, _, kind, value in items]


async def gms_view(core: Core, actor: Actor, ticket: DeskTicket) -> GmsView | None:
    """The GMS side of ``ticket``, or None if it is not a GMS chat."""
    if not ticket.extra_fields.get("gms_service_id"):
        return None
    try:
        chat, entries = await core.gms_chats.entries_of_ticket(actor, ticket.ticket_id)
    except NotFound:
        return None
    try:
        callback: Callback | None = await core.callbacks.of_agent(actor, chat.service_id)
    except NotFound:
        callback = None
    ended_by = ticket.extra_fields.get("gms_ended_by")
    return GmsView(chat, entries, callback, str(ended_by) if ended_by else None)
