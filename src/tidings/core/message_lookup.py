"""Find a message by its id alone, for clients that address messages without a dialog.

Message ids are unique across an app (24-hex, time-ordered), and ConnectyCube's
``PUT``/``DELETE /chat/Message/<ids>`` name only ids; the services that change a
message take the dialog too, so this resolves it first with the usual
visibility rule: a message in a dialog you are not a member of does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidings.core import access
from tidings.domain.errors import NotFound
from tidings.domain.ids import is_valid_id
from tidings.domain.models import Actor, Message
from tidings.store import messages as messages_store

if TYPE_CHECKING:
    from tidings.core.hub import Core


class MessageLookup:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def locate(self, actor: Actor, message_id: str) -> Message:
        """The message, if the actor is a member of its dialog."""
        if not is_valid_id(message_id):
            raise NotFound(f"no message {message_id!r}", code="message_not_found")
        async with self.core.db.read() as conn:
            found = await messages_store.get_message(conn, message_id)
            if found is None or found.app_id != actor.app_id or found.deleted:
                raise NotFound(f"no message {message_id}", code="message_not_found")
            try:
                await access.load_membership(conn, actor, found.dialog_id)
            except Exception as exc:
                raise NotFound(f"no message {message_id}", code="message_not_found") from exc
        return found
