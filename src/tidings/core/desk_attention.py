"""What a ticket's change means for an agent's attention: a customer wrote, on a ticket
that is whose.

The console's desktop notifications and sound need three things its live events do
not carry: who the ticket is assigned to (an agent is told only of their own and
unassigned tickets), who wrote last (a customer, not an agent replying) and what
they wrote. This reads them once per change, for every agent socket of the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tidings.store import tickets as store

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: A notification shows a line or two: longer comments are cut here.
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class CustomerWrote:
    """The newest comment of a ticket, written by its customer."""

    ticket_id: int
    assignee_id: int | None
    author_name: str
    subject: str
    #: The comment's text, at most ``MAX_TEXT`` characters ("" for files only).
    text: str
    files: int


class DeskAttention:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def customer_wrote(self, app_id: int, ticket_id: int) -> CustomerWrote | None:
        """The ticket's newest comment if its customer wrote it; None when an agent
        did (a reply that reopened the ticket), it was deleted, or there is no such
        ticket in ``app_id``. Read just after the change: should an agent's reply
        land in between, the customer has an answer already and nobody is called."""
        async with self.core.db.read() as conn:
            row = await store.get_ticket(conn, app_id, ticket_id)
            if row is None:
                return None
            newest = await store.last_comments(conn, [ticket_id])
        if not newest or not newest[0].is_inbound or newest[0].deleted:
            return None
        comment = newest[0]
        text = comment.body or ""
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
        return CustomerWrote(
            ticket_id=ticket_id,
            assignee_id=row.assignee_id,
            author_name=row.author_name or "Customer",
            subject=row.subject,
            text=text,
            files=len(comment.attachments or ()),
        )
