"""Service-desk tickets: support dialogs of the core, with the numbers desk clients use.

A ticket is a dialog of type ``support`` whose members are the requester (a
core user standing for a device or an external user) and the agents who have
answered. A comment is a core message; ``desk_comments`` gives it the integer,
ever-increasing ``comment_id`` client cursors need. So search, unread counts, the
native API and webhooks see tickets like any other conversation.

Here is the requester's side: comment (opening tickets as needed), mark read,
read everything back. Requests arrive typed (:class:`~tidings.core.desk_models.NewComment`);
the gateway has already read the wire. Who the requester is lives in
:mod:`tidings.core.desk_identities`, files in :mod:`tidings.core.desk_files`, push
tokens in :mod:`tidings.core.desk_push_tokens`, the agents' side in
:mod:`tidings.core.desk_agents`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.desk_files import DeskFiles
from tidings.core.desk_identities import DeskIdentities
from tidings.core.desk_models import CommandOutcome, DeskIdentity, DeskTicket, NewComment
from tidings.core.desk_push_tokens import DeskPushTokens
from tidings.core.desk_ratings import DeskRatings
from tidings.core.desk_views import build_tickets
from tidings.domain.errors import DomainError, InvalidInput, NotFound, Unavailable
from tidings.domain.events import TicketChanged
from tidings.domain.ids import new_id
from tidings.domain.models import Message
from tidings.store import apps as users_store
from tidings.store import dialogs as dialogs_store
from tidings.store import tickets as store

if TYPE_CHECKING:
    from tidings.core.hub import Core

log = logging.getLogger("tidings.tickets")


def subject_of(text: str, names: list[str]) -> str:
    """A new ticket's subject: the first line of its first comment, without markup."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = re.sub(r"<[^>]+>", "", first).strip()
    return (first or (names[0] if names else "") or "New request")[:200]


class TicketService:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.identities = DeskIdentities(core)
        self.files = DeskFiles(core)
        self.push_tokens = DeskPushTokens(core)
        self.ratings = DeskRatings(core)

    # -- commands -----------------------------------------------------------------------

    async def run_command(
        self,
        ident: DeskIdentity,
        command_id: str,
        action: Callable[[], Awaitable[CommandOutcome]],
    ) -> CommandOutcome:
        """Run ``action()`` once per ``command_id``: a re-sent command gets the first result.

        Failures are not remembered, so the client may retry a failed command."""
        async with self.core.db.read() as conn:
            done = await store.get_command_result(conn, ident.user_id, command_id)
        if done is not None:
            return CommandOutcome(
                ticket_id=done.get("ticket_id"), comment_id=done.get("comment_id")
            )
        try:
            outcome = await action()
        except Unavailable:
            raise  # the whole request is retried (503), not reported as this command's fault
        except DomainError as exc:
            return CommandOutcome(error=(exc.code, exc.message))
        try:
            async with self.core.db.transaction() as conn:
                await store.insert_command_result(
                    conn,
                    user_id=ident.user_id,
                    command_id=command_id,
                    result=outcome.to_dict(),
                    created_ms=self.core.now_ms(),
                )
        except Exception:  # a concurrent duplicate stored it first: same outcome
            log.debug("command %s recorded twice", command_id)
        return outcome

    async def create_comment(
        self,
        ident: DeskIdentity,
        comment: NewComment,
        *,
        batch: dict[str, int] | None = None,
    ) -> CommandOutcome:
        """A client comment (text or files) on the ticket ``comment`` selects; a
        rating goes to :mod:`tidings.core.desk_ratings`, which has rules of its own.

        ``batch`` collects tickets opened during one request, so a burst of
        ``request_new_ticket`` comments lands in one new ticket."""
        if comment.rating is not None:
            return await self.ratings.rate(ident, comment)
        batch = batch if batch is not None else {}
        text = comment.text
        if len(text) > self.core.settings.max_message_length:
            raise InvalidInput("comment is too long", field="comment")
        if not text.strip() and not comment.attachments:
            raise InvalidInput("a comment needs text, files or a rating", field="comment")
        names = [a.name or "file" for a in comment.attachments]
        ticket = await self._select_ticket(
            ident,
            comment.ticket_id,
            comment.request_new_ticket,
            batch,
            subject=subject_of(text, names),
            author_name=comment.author_name,
            extra_fields=comment.extra_fields,
        )
        files = await self.files.claim(ident, comment.attachments)
        body = text if text.strip() else ""
        comment_ids: list[int] = []
        reopened = ticket.status != "open"

        async def on_stored(conn: AsyncConnection, message: Message) -> None:
            assert message.seq is not None
            comment_ids.append(
                await store.insert_comment(
                    conn,
                    ticket_id=ticket.id,
                    app_id=ident.app.id,
                    message_id=message.id,
                    seq=message.seq,
                    is_inbound=True,
                    created_ms=message.created_ms,
                )
            )
            values: dict[str, Any] = {"last_activity_ms": message.created_ms}
            if reopened:
                values.update(status="open", closed_ms=None, show_rating=False)
            await store.update_ticket(conn, ticket.id, **values)

        await self.core.messages.send_message(
            ident.actor,
            ticket.dialog_id,
            body,
            attachments=[{"file_id": uid, "desk_id": fid} for uid, fid in files] or None,
            params={"desk": "inbound"},
            on_stored=on_stored,
        )
        await self._changed(
            ident.app.id, ticket.id, ticket.dialog_id, "reopened" if reopened else "comment"
        )
        return CommandOutcome(ticket_id=ticket.id, comment_id=comment_ids[0])

    async def _select_ticket(
        self,
        ident: DeskIdentity,
        ticket_id: int,
        request_new: bool,
        batch: dict[str, int],
        **new_values: Any,
    ) -> Any:
        async with self.core.db.read() as conn:
            if ticket_id < 0:
                mapped = await store.get_placeholder(conn, ident.user_id, ticket_id)
                if mapped is not None:
                    return await store.get_ticket(conn, ident.app.id, mapped)
            if ticket_id > 0 and not request_new:
                row = await store.get_ticket(conn, ident.app.id, ticket_id)
                if row is None or row.requester_id != ident.user_id:
                    raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
                return row
            if "new" in batch:
                row = await store.get_ticket(conn, ident.app.id, batch["new"])
                assert row is not None  # opened earlier in this batch
                if ticket_id < 0:
                    async with self.core.db.transaction() as wconn:
                        await store.insert_placeholder(
                            wconn, user_id=ident.user_id, local_id=ticket_id, ticket_id=row.id
                        )
                return row
            if not request_new and ticket_id == 0:
                row = await store.newest_open_ticket(conn, ident.user_id)
                if row is not None:
                    return row
        row = await self._open_ticket(
            ident, local_id=ticket_id if ticket_id < 0 else None, **new_values
        )
        batch["new"] = row.id
        return row

    async def _open_ticket(
        self,
        ident: DeskIdentity,
        *,
        local_id: int | None,
        subject: str,
        author_name: str | None,
        extra_fields: dict[str, str],
    ) -> Any:
        now = self.core.now_ms()
        dialog_id = new_id(now / 1000)
        async with self.core.db.transaction() as conn:
            user = await users_store.get_user(conn, ident.app.id, ident.user_id)
            name = (author_name or (user.full_name if user else None) or "Guest")[:200]
            await dialogs_store.insert_dialog(
                conn,
                id=dialog_id,
                app_id=ident.app.id,
                type="support",
                name=subject,
                owner_id=None,
                custom_data={"desk": True},
                last_seq=0,
                created_ms=now,
                updated_ms=now,
            )
            await dialogs_store.insert_members(
                conn, ident.app.id, dialog_id, [(ident.user_id, "member")], now
            )
            ticket_id = await store.insert_ticket(
                conn,
                app_id=ident.app.id,
                dialog_id=dialog_id,
                requester_id=ident.user_id,
                identity_kind=ident.kind,
                subject=subject,
                author_name=name,
                extra_fields=extra_fields or None,
                status="open",
                assignee_id=None,
                show_rating=False,
                support_read_id=0,
                created_ms=now,
                last_activity_ms=now,
            )
            if local_id is not None:
                await store.insert_placeholder(
                    conn, user_id=ident.user_id, local_id=local_id, ticket_id=ticket_id
                )
            row = await store.get_ticket(conn, ident.app.id, ticket_id)
        await self._changed(ident.app.id, ticket_id, dialog_id, "created")
        return row

    async def mark_read(
        self, ident: DeskIdentity, ticket_id: int, comment_id: int | None = None
    ) -> None:
        """Move the identity's read pointer (to ``comment_id``, or the newest comment):
        every device of an external user sees it."""
        async with self.core.db.read() as conn:
            if ticket_id < 0:
                ticket_id = await store.get_placeholder(conn, ident.user_id, ticket_id) or 0
            ticket = await store.get_ticket(conn, ident.app.id, ticket_id)
            if ticket is None or ticket.requester_id != ident.user_id:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            message_id = None
            if comment_id is not None and comment_id > 0:
                found = await store.get_comment(conn, ticket_id, comment_id)
                if found is None:
                    raise NotFound(f"no comment {comment_id}", code="comment_not_found")
                message_id = found.message_id
        await self.core.receipts.mark_read(ident.actor, ticket.dialog_id, message_id)

    # -- reading ----------------------------------------------------------------------

    async def snapshot(self, ident: DeskIdentity, after_comment_id: int = 0) -> list[DeskTicket]:
        """Every ticket of the identity, with its comments newer than ``after_comment_id``."""
        async with self.core.db.read() as conn:
            rows = await store.list_requester_tickets(conn, ident.user_id)
            return await build_tickets(
                conn, ident.app, rows, after=max(after_comment_id, 0), requester=True
            )

    async def _changed(self, app_id: int, ticket_id: int, dialog_id: str, change: str) -> None:
        await self.core.publish(
            TicketChanged(app_id=app_id, ticket_id=ticket_id, dialog_id=dialog_id, change=change)
        )
