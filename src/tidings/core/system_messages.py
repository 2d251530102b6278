"""System messages: app-defined signals to one user, relayed live and never stored.

Apps send them (through a REST call or a chat protocol's headline message) for
things like "contact request" or "call ended". They are not
chat history, so nothing is written; the event carries them to whichever
gateway holds the recipient's connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidings.domain.errors import InvalidInput, TooLarge
from tidings.domain.events import SystemMessageSent
from tidings.domain.ids import is_valid_id, new_id
from tidings.domain.models import Actor

if TYPE_CHECKING:
    from tidings.core.hub import Core

MAX_PARAMS_CHARS = 8192


class SystemMessageService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def send_system_message(
        self,
        actor: Actor,
        recipient_id: int,
        params: dict[str, Any],
        *,
        message_id: str | None = None,
    ) -> SystemMessageSent:
        """Relay ``params``; a client-chosen ``message_id`` (the SDK's stanza id) is
        kept, so the receiver sees the id the sender's SDK returned."""
        if not isinstance(recipient_id, int) or isinstance(recipient_id, bool):
            raise InvalidInput("recipient id is a user id", field="recipientId")
        if not isinstance(params, dict) or len(str(params)) > MAX_PARAMS_CHARS:
            raise TooLarge(f"system message params are at most {MAX_PARAMS_CHARS} characters")
        await self.core.users.get_user(actor, recipient_id)  # NotFound for strangers
        event = SystemMessageSent(
            app_id=actor.app_id,
            recipients=(recipient_id,),
            message_id=(
                message_id
                if message_id and is_valid_id(message_id)
                else new_id(self.core.now_ms() / 1000)
            ),
            sender_id=actor.user_id,
            params=params,
        )
        await self.core.publish(event)
        return event
