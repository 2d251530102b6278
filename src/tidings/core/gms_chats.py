"""GMS chats (Chat API v1/v2): service-desk tickets with a GMS transcript.

A GMS chat is a ticket (a ``support`` dialog) of a core user ``gms:<gms_user>``,
so the agent console, search and unread counts see it like any ticket; customer
and agent messages are core messages. What GMS clients need on top — joins,
leaves and typing notices at consecutive positions — is the transcript table,
appended under a row lock on the chat. Every change is published as
:class:`GmsChatChanged` carrying the new entries, so the gateway on each node
can notify the Comet sessions it holds without reading the store.

The chat drives its callback's state: opening it is ``PROCESSING``; the agent
leaving, or the phone disconnecting, completes it (``SUCCESS`` if an agent took
part, ``ABANDONED`` if not). When the customer disconnects, the ticket says so
(``extra_fields["gms_ended_by"] = "customer"``) and the console shows it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.desk_models import DeskIdentity, NewComment
from tidings.domain.errors import Forbidden, InvalidInput, NotFound
from tidings.domain.events import GmsChatChanged, TicketChanged
from tidings.domain.models import Actor, App
from tidings.store import apps as users_store
from tidings.store import callbacks as store
from tidings.store import tickets as tickets_store
from tidings.store.gms_rows import ChatChanges, ChatRow, TranscriptRow

if TYPE_CHECKING:
    from tidings.core.callbacks import Callback
    from tidings.core.hub import Core

KINDS = (
    "Message.Text",
    "Notice.Joined",
    "Notice.Left",
    "Notice.TypingStarted",
    "Notice.TypingStopped",
)
TEXTS = {
    "Notice.Joined": "has joined the session",
    "Notice.Left": "has left the session",
    "Notice.TypingStarted": "is typing",
    "Notice.TypingStopped": "stopped typing",
}


@dataclass(frozen=True, slots=True)
class Entry:
    position: int
    kind: str
    nickname: str
    text: str
    party: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class Chat:
    service_id: str
    app_id: int
    ticket_id: int
    gms_user: str
    chat_session_id: str
    secure_key: str
    nickname: str
    subject: str
    state: str
    last_position: int
    started_ms: int


def _chat(row: ChatRow) -> Chat:
    return Chat(
        service_id=row.service_id,
        app_id=row.app_id,
        ticket_id=row.ticket_id,
        gms_user=row.gms_user,
        chat_session_id=row.chat_session_id,
        secure_key=row.secure_key,
        nickname=row.nickname,
        subject=row.subject,
        state=row.state,
        last_position=row.last_position,
        started_ms=row.started_ms,
    )


def _entry(row: TranscriptRow) -> Entry:
    return Entry(row.position, row.kind, row.nickname, row.text, row.party, row.created_ms)


class GmsChatService:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- customer side --------------------------------------------------------------

    async def create(
        self, app: App, service: Callback, gms_user: str, profile: dict[str, str]
    ) -> tuple[Chat, list[Entry]]:
        """Open the chat of a service (idempotent: a second call returns the same chat)."""
        async with self.core.db.read() as conn:
            row = await store.get_chat(conn, service.id)
        if row is not None:
            return await self.transcript(app, service.id, 0)
        nickname = (
            profile.get("nickname")
            or " ".join(p for p in (profile.get("first_name"), profile.get("last_name")) if p)
            or "Customer"
        )[:200]
        subject = (profile.get("subject") or service.params.get("subject") or "Chat")[:200]
        user_id = await self.core.tickets.identities.user_for(app, f"gms:{gms_user}", nickname)
        ident = DeskIdentity(app=app, kind="gms", key=gms_user, user_id=user_id)
        ticket = await self.core.tickets._open_ticket(
            ident,
            local_id=None,
            subject=subject,
            author_name=nickname,
            extra_fields={
                "gms_service_id": service.id,
                **{k: v[:1000] for k, v in list(profile.items())[:20]},
            },
        )
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            if await store.get_chat(conn, service.id, lock=True) is None:
                await store.insert_chat(
                    conn,
                    service_id=service.id,
                    app_id=app.id,
                    ticket_id=ticket.id,
                    dialog_id=ticket.dialog_id,
                    user_id=user_id,
                    gms_user=gms_user,
                    chat_session_id=secrets.token_hex(8).upper(),
                    secure_key=secrets.token_hex(8),
                    nickname=nickname,
                    subject=subject,
                    state="TRANSCRIPT",
                    last_position=0,
                    started_ms=now,
                )
        await self._append(service.id, "Notice.Joined", nickname, "CLIENT")
        await self.core.callbacks.chat_started(service.id)
        return await self.transcript(app, service.id, 0)

    async def transcript(
        self, app: App, service_id: str, after: int, owner: str | None = None
    ) -> tuple[Chat, list[Entry]]:
        """The chat of ``app`` and its entries after ``after``; with ``owner`` (the
        caller's ``gms_user``) only if it is that phone's chat."""
        async with self.core.db.read() as conn:
            row = await store.get_chat(conn, service_id)
            if row is None or row.app_id != app.id or (owner is not None and row.gms_user != owner):
                raise NotFound(f"no chat {service_id}", code="unknown_service")
            entries = await store.list_entries(conn, service_id, max(0, after))
        return _chat(row), [_entry(e) for e in entries]

    async def find_by_session(self, chat_session_id: str) -> Chat | None:
        async with self.core.db.read() as conn:
            row = await store.get_chat_by_session(conn, chat_session_id)
        return _chat(row) if row is not None else None

    async def find_by_secure_key(
        self, app: App, secure_key: str, owner: str | None = None
    ) -> Chat | None:
        """Chat v2 over CometD resumes a chat on a new session by its ``secureKey`` (§9)."""
        if not secure_key:
            return None
        async with self.core.db.read() as conn:
            row = await store.get_chat_by_secure_key(conn, app.id, secure_key)
        if row is None or (owner is not None and row.gms_user != owner):
            return None
        return _chat(row)

    async def changed_since(
        self, app_id: int, gms_users: list[str], since_ms: int
    ) -> list[tuple[Chat, list[Entry]]]:
        """The chats of these phones with entries created from ``since_ms`` on, and those
        entries: what a node that lost the bus may not have pushed to its Comet sessions."""
        if not gms_users:
            return []
        async with self.core.db.read() as conn:
            chats = await store.list_chats_of_users(conn, app_id, gms_users)
            rows = await store.list_entries_since(conn, [c.service_id for c in chats], since_ms)
        entries: dict[str, list[Entry]] = {}
        for row in rows:
            entries.setdefault(row.service_id, []).append(_entry(row))
        return [(_chat(c), entries[c.service_id]) for c in chats if c.service_id in entries]

    async def client_send(self, app: App, service_id: str, text: str) -> None:
        chat, _ = await self.transcript(app, service_id, 1 << 30)
        if chat.state != "TRANSCRIPT":
            return
        if not text.strip():
            raise InvalidInput("message is empty", field="message")
        async with self.core.db.read() as conn:
            row = await store.get_chat(conn, service_id)
        assert row is not None  # found by transcript() above
        ident = DeskIdentity(app=app, kind="gms", key=chat.gms_user, user_id=row.user_id)
        await self.core.tickets.create_comment(
            ident, NewComment(text=text, ticket_id=chat.ticket_id)
        )
        await self._append(service_id, "Message.Text", chat.nickname, "CLIENT", text)

    async def client_typing(self, app: App, service_id: str, typing: bool) -> None:
        chat, _ = await self.transcript(app, service_id, 1 << 30)
        if chat.state == "TRANSCRIPT":
            kind = "Notice.TypingStarted" if typing else "Notice.TypingStopped"
            await self._append(service_id, kind, chat.nickname, "CLIENT")

    async def client_disconnect(self, app: App, service_id: str) -> None:
        """The phone leaves: the chat ends, its ticket says the customer ended it, and
        its callback completes (``SUCCESS`` if an agent took part, else ``ABANDONED``)."""
        chat, entries = await self.transcript(app, service_id, 0)
        if chat.state != "TRANSCRIPT":
            return
        await self._append(service_id, "Notice.Left", chat.nickname, "CLIENT", end=True)
        answered = any(e.party == "AGENT" for e in entries)
        await self.core.callbacks.chat_ended(service_id, answered=answered)
        await self._mark_ended(chat, "customer")

    async def service_deleted(self, app: App, service_id: str) -> None:
        """The service (or its callback) was deleted (gms §2.2, §3.2) while its chat may
        still run: the chat ends as if the phone had left, so the agent sees it end and
        the phone's next refresh says ``chatEnded``."""
        async with self.core.db.read() as conn:
            row = await store.get_chat(conn, service_id)
        if row is not None and row.app_id == app.id:
            await self.client_disconnect(app, service_id)

    async def _mark_ended(self, chat: Chat, by: str) -> None:
        async with self.core.db.transaction() as conn:
            row = await tickets_store.get_ticket(conn, chat.app_id, chat.ticket_id, lock=True)
            if row is None:
                return
            fields = dict(row.extra_fields or {})
            fields["gms_ended_by"] = by
            await tickets_store.update_ticket(
                conn, chat.ticket_id, extra_fields=fields, last_activity_ms=self.core.now_ms()
            )
        await self.core.publish(
            TicketChanged(
                app_id=chat.app_id,
                ticket_id=chat.ticket_id,
                dialog_id=row.dialog_id,
                change="gms_ended",
            )
        )

    # -- agent side (console) ---------------------------------------------------------

    async def of_ticket(self, actor: Actor, ticket_id: int) -> Chat | None:
        async with self.core.db.read() as conn:
            row = await store.get_chat_by_ticket(conn, ticket_id)
        return _chat(row) if row is not None and row.app_id == actor.app_id else None

    async def _agent(self, actor: Actor, ticket_id: int) -> tuple[Chat, str]:
        if actor.role not in ("agent", "admin"):
            raise Forbidden("only support agents may do this", code="not_an_agent")
        chat = await self.of_ticket(actor, ticket_id)
        if chat is None:
            raise NotFound(f"ticket {ticket_id} is not a GMS chat", code="not_gms")
        async with self.core.db.read() as conn:
            agent = await users_store.get_user(conn, actor.app_id, actor.user_id)
        name = (agent.full_name or agent.login) if agent else "Agent"
        return chat, name

    async def agent_join(self, actor: Actor, ticket_id: int) -> None:
        chat, name = await self._agent(actor, ticket_id)
        await self._append(chat.service_id, "Notice.Joined", name, "AGENT")

    async def agent_reply(self, actor: Actor, ticket_id: int, text: str) -> None:
        """The reply, then ``Notice.TypingStopped`` if the agent was typing: the phone
        clears its "is typing" as GMS agent desktops make it do."""
        chat, name = await self._agent(actor, ticket_id)
        await self.core.desk.reply(actor, ticket_id, text)
        await self._append(chat.service_id, "Message.Text", name, "AGENT", text)
        if await self._agent_typing(chat.service_id):
            await self._append(chat.service_id, "Notice.TypingStopped", name, "AGENT")

    async def _agent_typing(self, service_id: str) -> bool:
        """Whether the agent side's last typing notice is a start."""
        async with self.core.db.read() as conn:
            rows = await store.list_entries(conn, service_id, 0)
        typing = ("Notice.TypingStarted", "Notice.TypingStopped")
        for row in reversed(rows):
            if row.party == "AGENT" and row.kind in typing:
                return row.kind == "Notice.TypingStarted"
        return False

    async def agent_typing(self, actor: Actor, ticket_id: int, typing: bool) -> None:
        """Typing started or stopped; a repeat of the current state adds nothing (the
        composer reports on every pause)."""
        chat, name = await self._agent(actor, ticket_id)
        if await self._agent_typing(chat.service_id) == typing:
            return
        kind = "Notice.TypingStarted" if typing else "Notice.TypingStopped"
        await self._append(chat.service_id, kind, name, "AGENT")

    async def agent_leave(self, actor: Actor, ticket_id: int) -> None:
        """The agent leaves: the customer may still write (the ticket stays), but the
        callback is done (``SUCCESS``)."""
        chat, name = await self._agent(actor, ticket_id)
        await self._append(chat.service_id, "Notice.Left", name, "AGENT")
        await self.core.callbacks.chat_ended(chat.service_id, answered=True)

    async def entries_of_ticket(self, actor: Actor, ticket_id: int) -> tuple[Chat, list[Entry]]:
        """The transcript of a ticket's chat, for the console's thread (joins, leaves and
        typing notices next to the messages)."""
        chat, _ = await self._agent(actor, ticket_id)
        async with self.core.db.read() as conn:
            rows = await store.list_entries(conn, chat.service_id, 0)
        return chat, [_entry(r) for r in rows]

    # -- the transcript ---------------------------------------------------------------

    async def _append(
        self,
        service_id: str,
        kind: str,
        nickname: str,
        party: str,
        text: str | None = None,
        *,
        end: bool = False,
    ) -> None:
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            chat = await self._locked(conn, service_id)
            if chat.state != "TRANSCRIPT":
                return
            position = chat.last_position + 1
            await store.insert_entry(
                conn,
                service_id=service_id,
                position=position,
                kind=kind,
                nickname=nickname,
                text=text if text is not None else TEXTS[kind],
                party=party,
                created_ms=now,
            )
            values: ChatChanges = {"last_position": position}
            if end:
                values["state"] = "DISCONNECTED"
            await store.update_chat(conn, service_id, **values)
            row = await store.get_chat(conn, service_id)
        assert row is not None  # updated just above
        chat = _chat(row)
        entry = [position, kind, nickname, text if text is not None else TEXTS[kind], party, now]
        await self.core.publish(
            GmsChatChanged(
                app_id=chat.app_id,
                service_id=service_id,
                gms_user=chat.gms_user,
                chat={
                    "chat_session_id": chat.chat_session_id,
                    "state": chat.state,
                    "started_ms": chat.started_ms,
                    "last_position": chat.last_position,
                },
                entries=[entry],
            )
        )

    @staticmethod
    async def _locked(conn: AsyncConnection, service_id: str) -> Chat:
        row = await store.get_chat(conn, service_id, lock=True)
        if row is None:
            raise NotFound(f"no chat {service_id}", code="unknown_service")
        return _chat(row)
