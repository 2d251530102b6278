"""The agent side of the service desk: inbox, ticket view, reply, assign, close.

Agents are users with role ``agent`` (or ``admin``) of the app. Replying makes
the agent a member of the ticket's dialog, so the core's own rules (files
shared in a dialog, read markers, real-time events) apply to them too. Every
reply queues the app's new-reply webhook in the same transaction (wire spec
§14.2), through the outbox, one delivery per push token of the requester.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.desk_models import DeskConfig, DeskTicket
from tidings.core.desk_views import avatar_color, build_tickets
from tidings.core.outbox import enqueue
from tidings.domain.errors import Forbidden, InvalidInput, NotFound
from tidings.domain.events import TicketChanged
from tidings.domain.models import Actor, App, Message, User
from tidings.store import apps as users_store
from tidings.store import desk_notes as notes_store
from tidings.store import desk_tags as tags_store
from tidings.store import dialogs as dialogs_store
from tidings.store import files as files_store
from tidings.store import tickets as store
from tidings.store.desk_rows import PushTokenRow, TicketChanges, TicketRow
from tidings.store.rows import FileRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

VIEWS = ("open", "mine", "unassigned", "closed")
AGENT_ROLES = ("agent", "admin")


def iso_utc(ms: int) -> str:
    """The SDKs' one timestamp shape: ``YYYY-MM-DDTHH:MM:SSZ`` (wire spec §2.1)."""
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


#: The longest search term: a bound on the pattern every comment is matched against.
MAX_SEARCH_LENGTH = 200
#: The most tickets one inbox or search page holds.
MAX_PAGE = 200
PRIORITIES = ("low", "normal", "high", "urgent")
#: A tag: letters, digits, ``-`` and ``_``, lower-cased; a ticket has at most MAX_TAGS.
TAG = re.compile(r"[\w-]{1,32}")
MAX_TAGS = 10


@dataclass(frozen=True, slots=True)
class Labels:
    """What agents mark a ticket with, to sort their work: priority and tags."""

    priority: str = "normal"
    tags: tuple[str, ...] = ()


def parse_tags(text: str) -> list[str]:
    """Tags from what an agent typed (commas or spaces between), normalised."""
    tags: list[str] = []
    for word in re.split(r"[,\s]+", text.strip().lower()):
        if not word:
            continue
        if not TAG.fullmatch(word):
            raise InvalidInput(
                "a tag is 1 to 32 letters, digits, - or _ (commas between tags)", field="tags"
            )
        if word not in tags:
            tags.append(word)
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"a ticket has at most {MAX_TAGS} tags", field="tags")
    return tags


@dataclass(frozen=True, slots=True)
class Inbox:
    """One page of a view (or of search results, ``view == "search"``).

    ``next_after`` is the cursor of the next page, None on the last one; ``counts``
    has every view's ticket count and ``unread`` (open tickets with unseen comments)."""

    view: str
    tickets: list[DeskTicket]
    counts: dict[str, int]
    next_after: tuple[int, int] | None = None
    query: str = ""
    labels: dict[int, Labels] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReplyResult:
    comment_id: int
    #: The ticket was closed: the reply opened it again (the SDK shows it active).
    reopened: bool


@dataclass(frozen=True, slots=True)
class DeskNote:
    """An agent's internal note: shown to agents in the thread, never to the customer."""

    note_id: int
    ticket_id: int
    body: str
    created_ms: int
    author_id: int | None
    author_name: str


def require_agent(actor: Actor) -> None:
    if actor.role not in AGENT_ROLES:
        raise Forbidden("only support agents may do this", code="not_an_agent")


class AgentDesk:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def find_agent_apps(self, email: str) -> list[int]:
        """Apps where ``email`` is an agent's login (the console asks for email only)."""
        async with self.core.db.read() as conn:
            return [app_id for app_id, _ in await store.list_agent_logins(conn, email)]

    async def me(self, actor: Actor) -> tuple[User, App]:
        require_agent(actor)
        async with self.core.db.read() as conn:
            user = await users_store.get_user(conn, actor.app_id, actor.user_id)
            app = await users_store.get_app(conn, actor.app_id)
        if user is None or app is None:
            raise NotFound("no such agent", code="user_not_found")
        return user, app

    async def list_agents(self, actor: Actor) -> list[tuple[int, str]]:
        require_agent(actor)
        async with self.core.db.read() as conn:
            rows = await store.list_agents(conn, actor.app_id)
        return [(r.id, r.full_name or r.email or f"agent {r.id}") for r in rows]

    async def inbox(
        self,
        actor: Actor,
        view: str = "open",
        limit: int = 100,
        after: tuple[int, int] | None = None,
        *,
        priority: str | None = None,
        tag: str | None = None,
    ) -> Inbox:
        """A page of one view, newest activity first; ``after``: the previous page's
        ``next_after``; only tickets of ``priority`` and with ``tag`` when given."""
        require_agent(actor)
        if view not in VIEWS:
            raise InvalidInput(f"view is one of {', '.join(VIEWS)}", field="view")
        if priority is not None and priority not in PRIORITIES:
            raise InvalidInput(f"priority is one of {', '.join(PRIORITIES)}", field="priority")
        if tag is not None:
            wanted = parse_tags(tag)
            if len(wanted) > 1:
                raise InvalidInput("filter by one tag", field="tag")
            tag = wanted[0] if wanted else None
        limit = max(1, min(limit, MAX_PAGE))
        async with self.core.db.read() as conn:
            rows = await store.list_inbox(
                conn,
                actor.app_id,
                view=view,
                agent_id=actor.user_id,
                limit=limit + 1,
                after=after,
                priority=priority,
                tag=tag,
            )
            return await self._page(conn, actor, view, rows, limit)

    async def search(
        self,
        actor: Actor,
        term: str,
        limit: int = 50,
        after: tuple[int, int] | None = None,
    ) -> Inbox:
        """The app's tickets matching ``term`` (number, customer name or id, subject,
        comment or note text), as a page of the inbox."""
        require_agent(actor)
        term = term.strip()
        if not term:
            raise InvalidInput("a search needs a term", field="q")
        if len(term) > MAX_SEARCH_LENGTH:
            raise InvalidInput(
                f"a search term is at most {MAX_SEARCH_LENGTH} characters", field="q"
            )
        limit = max(1, min(limit, MAX_PAGE))
        async with self.core.db.read() as conn:
            rows = await store.search_tickets(
                conn, actor.app_id, term, limit=limit + 1, after=after
            )
            page = await self._page(conn, actor, "search", rows, limit)
        return Inbox(
            page.view, page.tickets, page.counts, page.next_after, query=term, labels=page.labels
        )

    async def _page(
        self, conn: AsyncConnection, actor: Actor, view: str, rows: list[Any], limit: int
    ) -> Inbox:
        more = len(rows) > limit
        rows = rows[:limit]
        app = await users_store.get_app(conn, actor.app_id)
        assert app is not None
        tickets = await build_tickets(conn, app, rows, after=0, requester=False)
        counts = await store.count_by_view(conn, actor.app_id, actor.user_id)
        logins = {r.id: r.requester_login for r in rows}
        names = {r.id: r.requester_name for r in rows}
        tickets = [
            _replace(
                t,
                comments=[],
                requester_login=logins.get(t.ticket_id, ""),
                author_name=t.author_name or names.get(t.ticket_id) or "Guest",
            )
            for t in tickets
        ]
        next_after = (rows[-1].last_activity_ms, rows[-1].id) if more and rows else None
        tags = await tags_store.list_tags(conn, [r.id for r in rows])
        labels = {r.id: Labels(r.priority, tuple(tags.get(r.id, ()))) for r in rows}
        return Inbox(view, tickets, counts, next_after, labels=labels)

    async def ticket(self, actor: Actor, ticket_id: int) -> DeskTicket:
        """The whole ticket with its history; viewing it marks client comments seen."""
        require_agent(actor)
        async with self.core.db.transaction() as conn:
            row = await store.get_ticket(conn, actor.app_id, ticket_id)
            if row is None:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            newest = await store.max_comment_id(conn, ticket_id)
            seen = newest > row.support_read_id
            if seen:
                await store.update_ticket(conn, ticket_id, support_read_id=newest)
                row = await store.get_ticket(conn, actor.app_id, ticket_id)
                assert row is not None  # read in this transaction just above
            app = await users_store.get_app(conn, actor.app_id)
            requester = await users_store.get_user(conn, actor.app_id, row.requester_id)
            assert app is not None
            (ticket,) = await build_tickets(conn, app, [row], after=0, requester=False)
        if seen:  # every agent's badges and tab title clear, not only this one's
            await self._changed(actor.app_id, ticket_id, row.dialog_id, "seen")
        return _replace(ticket, requester_login=requester.login if requester else "")

    async def reply(
        self, actor: Actor, ticket_id: int, body: str, file_uids: list[str] | None = None
    ) -> int:
        """Post a support comment; returns its ``comment_id``. Queues the webhook."""
        return (await self.post_reply(actor, ticket_id, body, file_uids)).comment_id

    async def post_reply(
        self, actor: Actor, ticket_id: int, body: str, file_uids: list[str] | None = None
    ) -> ReplyResult:
        """:meth:`reply`, saying also whether the reply reopened a closed ticket: an
        answer on a closed ticket means the conversation goes on, so the ticket is
        open again (the SDK shows it active) rather than silently staying closed."""
        require_agent(actor)
        body = body if isinstance(body, str) else ""
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            row = await store.get_ticket(conn, actor.app_id, ticket_id, lock=True)
            if row is None:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            dialog = await dialogs_store.get_dialog(conn, actor.app_id, row.dialog_id)
            assert dialog is not None  # a ticket's dialog lives as long as the ticket
            if await dialogs_store.get_member(conn, row.dialog_id, actor.user_id) is None:
                await dialogs_store.insert_members(
                    conn,
                    actor.app_id,
                    row.dialog_id,
                    [(actor.user_id, "member")],
                    now,
                    start_seq=dialog.last_seq,
                )
            attachments = []
            for uid in file_uids or []:
                info = await files_store.get_file(conn, actor.app_id, uid)
                if info is None or info.owner_id != actor.user_id:
                    raise NotFound(f"no file {uid}", code="file_not_found")
                attachments.append({"file_id": info.uid, "desk_id": info.id})
            app = await users_store.get_app(conn, actor.app_id)
            agent = await users_store.get_user(conn, actor.app_id, actor.user_id)
            tokens = await store.list_push_tokens(conn, row.requester_id)
            requester = await users_store.get_user(conn, actor.app_id, row.requester_id)
        assert app is not None and agent is not None and requester is not None
        config = DeskConfig.of(app)
        comment_ids: list[int] = []

        async def on_stored(conn: AsyncConnection, message: Message) -> None:
            assert message.seq is not None
            comment_id = await store.insert_comment(
                conn,
                ticket_id=ticket_id,
                app_id=actor.app_id,
                message_id=message.id,
                seq=message.seq,
                is_inbound=False,
                created_ms=message.created_ms,
            )
            comment_ids.append(comment_id)
            values: TicketChanges = {
                "last_activity_ms": message.created_ms,
                "support_read_id": comment_id,
            }
            if row.assignee_id is None:
                values["assignee_id"] = actor.user_id
            if row.status != "open":
                values["status"] = "open"
                values["closed_ms"] = None
                values["show_rating"] = False
            await store.update_ticket(conn, ticket_id, **values)
            if app.webhook_url:
                await self._queue_webhooks(
                    conn, app, config, row, requester, agent, tokens, message, comment_id
                )

        await self.core.messages.send_message(
            actor,
            row.dialog_id,
            body,
            attachments=attachments or None,
            params={"desk": "outbound"},
            on_stored=on_stored,
        )
        reopened = row.status != "open"
        await self._changed(
            actor.app_id, ticket_id, row.dialog_id, "reopened" if reopened else "reply"
        )
        return ReplyResult(comment_id=comment_ids[0], reopened=reopened)

    async def add_note(self, actor: Actor, ticket_id: int, body: str) -> int:
        """An internal note for the other agents; returns its id.

        Notes live in their own table, outside the ticket's dialog: no message, so no
        real-time event to the requester, no push, no webhook, no SDK comment."""
        require_agent(actor)
        body = body.strip() if isinstance(body, str) else ""
        if not body:
            raise InvalidInput("a note needs text", field="body")
        if len(body) > self.core.settings.max_message_length:
            raise InvalidInput("note is too long", field="body")
        async with self.core.db.transaction() as conn:
            row = await store.get_ticket(conn, actor.app_id, ticket_id)
            if row is None:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            note_id = await notes_store.insert_note(
                conn,
                ticket_id=ticket_id,
                app_id=actor.app_id,
                author_id=actor.user_id,
                body=body,
                created_ms=self.core.now_ms(),
            )
        await self._changed(actor.app_id, ticket_id, row.dialog_id, "note")
        return note_id

    async def labels(self, actor: Actor, ticket_id: int) -> Labels:
        """A ticket's priority and tags."""
        require_agent(actor)
        async with self.core.db.read() as conn:
            row = await store.get_ticket(conn, actor.app_id, ticket_id)
            if row is None:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            tags = await tags_store.list_tags(conn, [ticket_id])
        return Labels(row.priority, tuple(tags.get(ticket_id, ())))

    async def set_labels(
        self, actor: Actor, ticket_id: int, *, priority: str | None = None, tags: str | None = None
    ) -> Labels:
        """Set the priority and/or the tags (``tags``: as typed, replacing the old set)."""
        require_agent(actor)
        if priority is not None and priority not in PRIORITIES:
            raise InvalidInput(f"priority is one of {', '.join(PRIORITIES)}", field="priority")
        parsed = parse_tags(tags) if tags is not None else None
        async with self.core.db.transaction() as conn:
            row = await store.get_ticket(conn, actor.app_id, ticket_id, lock=True)
            if row is None:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            if priority is not None:
                await store.update_ticket(conn, ticket_id, priority=priority)
            if parsed is not None:
                await tags_store.replace_tags(conn, actor.app_id, ticket_id, parsed)
        await self._changed(actor.app_id, ticket_id, row.dialog_id, "labels")
        return await self.labels(actor, ticket_id)

    async def notes(self, actor: Actor, ticket_id: int) -> list[DeskNote]:
        """A ticket's internal notes, oldest first."""
        require_agent(actor)
        async with self.core.db.read() as conn:
            if await store.get_ticket(conn, actor.app_id, ticket_id) is None:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            rows = await notes_store.list_notes(conn, actor.app_id, ticket_id)
        return [
            DeskNote(
                note_id=r.id,
                ticket_id=r.ticket_id,
                body=r.body,
                created_ms=r.created_ms,
                author_id=r.author_id,
                author_name=r.author_name or r.author_login or "former agent",
            )
            for r in rows
        ]

    async def _queue_webhooks(
        self,
        conn: AsyncConnection,
        app: App,
        config: DeskConfig,
        ticket: TicketRow,
        requester: User,
        agent: User,
        tokens: list[PushTokenRow],
        message: Message,
        comment_id: int,
    ) -> None:
        """One webhook per registered push token (none registered: one, without a token)."""
        kind, _, key = requester.login.partition(":")
        author: dict[str, Any] = {
            "name": agent.full_name or config.agent_name,
            "avatar_color": avatar_color(agent.id),
        }
        if config.agent_avatar_id is not None:
            author["avatar_id"] = config.agent_avatar_id
        targets = [(t.token, t.type) for t in tokens] or [("", "")]
        for index, (token, token_type) in enumerate(targets):
            body = {
                "ticket_id": ticket.id,
                "token": {
                    "user_id": key,
                    "app_id": app.desk_app_id,
                    "device_id": token,
                    "type": token_type,
                },
                "comment": {"comment_id": comment_id, "body": message.body, "is_inbound": False},
                "author": author,
                "created_at": iso_utc(message.created_ms),
                "attachments": [
                    {"id": int(a.get("desk_id") or 0), "name": a["name"], "size": a["size"]}
                    for a in message.attachments
                ],
            }
            suffix = f"-{index}" if index else ""
            await enqueue(
                conn,
                app_id=app.id,
                kind="webhook",
                destination=app.webhook_url or "",
                payload={"event": "servicedesk.reply", "body": body},
                idempotency_key=f"desk-reply-{message.id}{suffix}",
                now_ms=message.created_ms,
            )

    async def assign(self, actor: Actor, ticket_id: int, assignee_id: int | None) -> None:
        require_agent(actor)
        async with self.core.db.transaction() as conn:
            row = await store.get_ticket(conn, actor.app_id, ticket_id, lock=True)
            if row is None:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            if assignee_id is not None:
                user = await users_store.get_user(conn, actor.app_id, assignee_id)
                if user is None or user.role not in AGENT_ROLES:
                    raise InvalidInput("tickets are assigned to agents", field="assignee_id")
            await store.update_ticket(conn, ticket_id, assignee_id=assignee_id)
        await self._changed(actor.app_id, ticket_id, row.dialog_id, "assigned")

    async def set_status(self, actor: Actor, ticket_id: int, status: str) -> None:
        """Close (``is_active:false`` for the SDK; rating asked if configured) or reopen."""
        require_agent(actor)
        if status not in ("open", "closed"):
            raise InvalidInput("status is open or closed", field="status")
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            row = await store.get_ticket(conn, actor.app_id, ticket_id, lock=True)
            if row is None:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            app = await users_store.get_app(conn, actor.app_id)
            assert app is not None
            closing = status == "closed"
            await store.update_ticket(
                conn,
                ticket_id,
                status=status,
                closed_ms=now if closing else None,
                show_rating=closing and DeskConfig.of(app).rating_on_close and row.rating is None,
                last_activity_ms=now,
            )
        await self._changed(actor.app_id, ticket_id, row.dialog_id, status)

    async def open_attachment(
        self, actor: Actor, file_id: int
    ) -> tuple[FileRow, AsyncIterator[bytes]]:
        require_agent(actor)
        async with self.core.db.read() as conn:
            ticket = await store.ticket_of_file(conn, file_id)
            row = await store.get_file_by_id(conn, file_id)
        if ticket is None or row is None or ticket.app_id != actor.app_id:
            raise NotFound(f"no file {file_id}", code="file_not_found")
        return row, await self.core.storage.open(row.uid)

    async def _changed(self, app_id: int, ticket_id: int, dialog_id: str, change: str) -> None:
        await self.core.publish(
            TicketChanged(app_id=app_id, ticket_id=ticket_id, dialog_id=dialog_id, change=change)
        )


def _replace(ticket: DeskTicket, **changes: Any) -> DeskTicket:
    import dataclasses

    return dataclasses.replace(ticket, **changes)
