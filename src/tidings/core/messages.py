"""Messages: send (idempotent by client id), history, edit, delete, self-destroying."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core import access
from tidings.domain.errors import Blocked, Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from tidings.domain.events import MessageCreated, MessageDeleted, MessageUpdated
from tidings.domain.ids import is_valid_id, new_id
from tidings.domain.models import Actor, HistoryFilter, HistoryPage, Message
from tidings.store import dialogs as dialogs_store
from tidings.store import files as files_store
from tidings.store import messages as store
from tidings.store.dialogs import Member
from tidings.store.rows import DialogRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

MAX_PARAMS_BYTES = 8192
MAX_ATTACHMENTS = 10
MAX_PAGE = 100
PREVIEW_CHARS = 200
#: Read/delivered id lists are computed per message only for dialogs this small.
STATUS_LIST_MEMBERS = 200


#: A sender's own message id (an XMPP stanza id) is at most this long.
MAX_CLIENT_ID = 128
#: What a gateway keeps with a message (XMPP extension elements), at most.
MAX_EXTENSIONS_BYTES = 16384


def _check_client_fields(client_id: Any, extensions: Any) -> None:
    if client_id is not None and (
        not isinstance(client_id, str) or not 1 <= len(client_id) <= MAX_CLIENT_ID
    ):
        raise InvalidInput(f"a client id is 1 to {MAX_CLIENT_ID} characters", field="id")
    if extensions is not None and (
        not isinstance(extensions, str) or len(extensions.encode()) > MAX_EXTENSIONS_BYTES
    ):
        raise TooLarge(
            f"extension elements are at most {MAX_EXTENSIONS_BYTES} bytes", field="extensions"
        )


#: A fileless attachment (contact card, location) is at most this much JSON.
MAX_INLINE_ATTACHMENT_BYTES = 2048


def _is_inline(item: object) -> bool:
    """An attachment that names no file: a string ``type`` and only flat scalars."""
    return (
        isinstance(item, dict)
        and "file_id" not in item
        and isinstance(item.get("type"), str)
        and all(
            isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(v, bool)
            for k, v in item.items()
        )
        and len(json.dumps(item)) <= MAX_INLINE_ATTACHMENT_BYTES
    )


class MessageService:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- sending -----------------------------------------------------------------

    async def send_message(
        self,
        actor: Actor,
        dialog_id: str,
        body: str = "",
        *,
        message_id: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        params: dict[str, Any] | None = None,
        self_destroy_after: int | None = None,
        on_stored: Callable[[AsyncConnection, Message], Awaitable[None]] | None = None,
        silent: bool = False,
        client_id: str | None = None,
        extensions: str | None = None,
    ) -> Message:
        """Store and deliver a message. A client-chosen ``message_id`` makes retries
        safe: the same id from the same sender in the same dialog returns the stored
        message and delivers nothing twice. A ``client_id`` (the sender's own id when
        it is not a tidings id) does the same, and is kept with the message with the
        gateway's opaque ``extensions``; with extensions, a message needs no body."""
        _check_client_fields(client_id, extensions)
        body, attachments, params = self._validate(
            body, attachments, params, payload=bool(extensions)
        )
        if message_id is not None and not is_valid_id(message_id):
            raise InvalidInput("a message id is 24 lowercase hex characters", field="id")
        if self_destroy_after is not None and (
            not isinstance(self_destroy_after, int) or not 1 <= self_destroy_after <= 86400
        ):
            raise InvalidInput(
                "self_destroy_after is 1 to 86400 seconds", field="self_destroy_after"
            )
        access.check_dialog_id(dialog_id)
        if message_id is not None:
            existing = await self._existing(actor, dialog_id, message_id)
            if existing is not None:
                return existing
        now = self.core.now_ms()
        retry_key = client_id if message_id is None else None
        message_id = message_id or new_id(now / 1000)
        try:
            async with self.core.db.transaction() as conn:
                if retry_key is not None:
                    # In the write transaction: no read of its own, and no race with a
                    # concurrent retry on this node (writers take turns).
                    existing = await self._by_client_id(conn, actor, dialog_id, retry_key)
                    if existing is not None:
                        return existing
                dialog, member = await access.load_membership(conn, actor, dialog_id)
                recipients, some_hidden = await self._recipients(conn, actor, dialog, member)
                attachments = await self._resolve_attachments(conn, actor, attachments)
                message = Message(
                    id=message_id,
                    app_id=actor.app_id,
                    dialog_id=dialog_id,
                    seq=None,
                    sender_id=actor.user_id,
                    body=body,
                    attachments=attachments,
                    params=params,
                    created_ms=now,
                    updated_ms=now,
                    ephemeral=self_destroy_after is not None,
                    self_destroy_after=self_destroy_after,
                    client_id=client_id,
                    extensions=extensions,
                )
                if not message.ephemeral:
                    message = await self._store(conn, actor, dialog, message, some_hidden)
                    # Pushes for offline recipients: queued iff the message is stored.
                    await self.core.push.on_message(
                        conn, actor, dialog, message, recipients, silent=silent
                    )
                    if on_stored is not None:
                        # Same transaction: a feature's rows (ticket comment, outbox)
                        # exist if and only if the message does.
                        await on_stored(conn, message)
        except IntegrityError:
            # A concurrent retry with the same id stored it first.
            existing = await self._existing(actor, dialog_id, message_id)
            if existing is None:
                raise
            return existing
        from tidings.observability import MESSAGES_SENT

        MESSAGES_SENT.inc()
        await self.core.publish(
            MessageCreated(
                app_id=actor.app_id,
                recipients=tuple(recipients),
                everyone=dialog.type == "broadcast",
                dialog_id=dialog_id,
                message=message.to_dict(),
            )
        )
        return message

    async def _existing(self, actor: Actor, dialog_id: str, message_id: str) -> Message | None:
        async with self.core.db.read() as conn:
            found = await store.get_message(conn, message_id)
        if found is None:
            return None
        if found.dialog_id != dialog_id or found.sender_id != actor.user_id:
            raise Conflict("this message id is already used", code="message_id_taken")
        return found

    async def _by_client_id(
        self, conn: AsyncConnection, actor: Actor, dialog_id: str, client_id: str
    ) -> Message | None:
        """A retry: the message this sender already sent under ``client_id``."""
        found = await store.find_by_client_id(conn, dialog_id, client_id)
        if found is None or found.sender_id != actor.user_id or found.deleted:
            return None
        return found

    async def id_for_client_id(self, actor: Actor, dialog_id: str, client_id: str) -> str | None:
        """The tidings id of the dialog's message sent under ``client_id``, for a member.

        Receipts and markers of one protocol refer to the id its clients saw.
        """
        if is_valid_id(client_id):
            return client_id
        if not client_id or len(client_id) > MAX_CLIENT_ID:
            return None
        async with self.core.db.read() as conn:
            await access.load_membership(conn, actor, dialog_id)
            found = await store.find_by_client_id(conn, dialog_id, client_id)
        return None if found is None else found.id

    def _validate(
        self, body: Any, attachments: Any, params: Any, *, payload: bool = False
    ) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        body = "" if body is None else body
        if not isinstance(body, str):
            raise InvalidInput("body must be text", field="body")
        limit = self.core.settings.max_message_length
        if len(body) > limit:
            raise TooLarge(
                f"a message body is at most {limit} characters", field="body", limit=limit
            )
        attachments = attachments or []
        if not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS:
            raise InvalidInput(
                f"attachments is a list of at most {MAX_ATTACHMENTS}", field="attachments"
            )
        if not body.strip() and not attachments and not payload:
            raise InvalidInput("a message needs a body or an attachment", field="body")
        params = params or {}
        if not isinstance(params, dict):
            raise InvalidInput("params must be an object", field="params")
        if len(json.dumps(params)) > MAX_PARAMS_BYTES:
            raise TooLarge(f"params are at most {MAX_PARAMS_BYTES} bytes of JSON", field="params")
        return body, attachments, params

    async def _recipients(
        self, conn: AsyncConnection, actor: Actor, dialog: DialogRow, member: Member
    ) -> tuple[list[int], bool]:
        """Who hears it live, and whether some member had hidden the dialog. Refuses a
        blocked sender of a 1-1 message; in groups, blockers just do not hear it."""
        if dialog.type == "broadcast" and member.role not in access.MANAGERS:
            raise Forbidden("only the owner or admins post in a broadcast dialog")
        if dialog.type == "broadcast":
            return [], False
        members = await dialogs_store.list_recipients(conn, dialog.id, actor.user_id)
        if dialog.type == "private":
            if any(m.blocks_sender for m in members):
                raise Blocked("the recipient does not accept messages from you")
            if any(m.blocked_by_sender for m in members):
                raise Blocked("you have blocked this user; unblock them to write", by_sender=True)
        recipients = [m.user_id for m in members if not m.blocks_sender]
        return recipients, any(m.hidden for m in members)

    async def _resolve_attachments(
        self, conn: AsyncConnection, actor: Actor, attachments: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Attachments name stored files by ``file_id``; the server fills in the facts.
        One without a file (a contact card or a location: a ``type`` and a few flat
        string/number fields, as ConnectyCube apps send them) is kept as it came."""
        out = []
        for item in attachments:
            if _is_inline(item):
                out.append(dict(item))
                continue
            if not isinstance(item, dict) or not isinstance(item.get("file_id"), str):
                raise InvalidInput("each attachment needs a file_id", field="attachments")
            info = await files_store.get_file(conn, actor.app_id, item["file_id"])
            if info is None or (not info.public and info.owner_id != actor.user_id):
                raise NotFound(f"no file {item['file_id']}", code="file_not_found")
            extra = {k: v for k, v in item.items() if isinstance(v, str | int | float | bool)}
            out.append(
                {
                    **extra,
                    "file_id": info.uid,
                    "name": info.name,
                    "content_type": info.content_type,
                    "size": info.size,
                    "public": info.public,
                }
            )
        return out

    async def _store(
        self,
        conn: AsyncConnection,
        actor: Actor,
        dialog: DialogRow,
        message: Message,
        unhide: bool,
    ) -> Message:
        preview = message.body[:PREVIEW_CHARS] if message.body else "[attachment]"
        seq = await store.next_seq(
            conn,
            dialog.id,
            message_id=message.id,
            preview=preview,
            sender_id=actor.user_id,
            now_ms=message.created_ms,
        )
        await store.insert_message(
            conn,
            id=message.id,
            app_id=message.app_id,
            dialog_id=message.dialog_id,
            seq=seq,
            sender_id=message.sender_id,
            body=message.body,
            attachments=message.attachments or None,
            params=message.params or None,
            created_ms=message.created_ms,
            updated_ms=message.updated_ms,
            edited=False,
            deleted=False,
            client_id=message.client_id,
            extensions=message.extensions,
        )
        # The sender has read what they wrote; a hidden private dialog comes back.
        await dialogs_store.record_sent(
            conn, dialog.id, actor.user_id, seq, unhide=unhide and dialog.type == "private"
        )
        if message.attachments:
            uids = [a["file_id"] for a in message.attachments if "file_id" in a]
            await store.grant_files(conn, dialog.id, await files_store.file_ids(conn, uids))
        return Message(
            **{
                **message.to_dict(),
                "seq": seq,
                "read_ids": [actor.user_id],
                "delivered_ids": [actor.user_id],
            }
        )

    # -- reading -----------------------------------------------------------------

    async def history(
        self,
        actor: Actor,
        dialog_id: str,
        query: HistoryFilter | None = None,
        *,
        after_id: str | None = None,
        before_id: str | None = None,
    ) -> HistoryPage:
        """A page of history. Bounds by id are turned into sequence bounds first, so
        every filter is an index range."""
        query = query or HistoryFilter()
        if not 1 <= query.limit <= MAX_PAGE:
            raise InvalidInput(f"limit is 1 to {MAX_PAGE}", field="limit")
        if query.skip < 0 or query.skip > 100_000:
            raise InvalidInput("skip is 0 to 100000", field="skip")
        async with self.core.db.read() as conn:
            dialog, member = await access.load_membership(conn, actor, dialog_id)
            changes: dict[str, Any] = {}
            for value, key, bound in (
                (after_id, "after_id", "after_seq"),
                (before_id, "before_id", "before_seq"),
            ):
                if value is not None:
                    ref = await self._message_in(conn, dialog_id, value, key)
                    changes[bound] = ref.seq
            if changes:
                query = HistoryFilter(**{**_fields(query), **changes})
            messages, has_more = await store.list_history(
                conn, dialog_id, actor.user_id, member.cleared_seq, query
            )
            messages = await self._with_statuses(conn, dialog_id, messages)
        cursor = messages[-1].seq if messages and has_more else None
        return HistoryPage(messages=messages, has_more=has_more, next_cursor=cursor)

    async def _message_in(
        self, conn: AsyncConnection, dialog_id: str, message_id: Any, field: str
    ) -> Message:
        if not is_valid_id(message_id):
            raise InvalidInput(f"{field} is a message id", field=field)
        found = await store.get_message(conn, message_id)
        if found is None or found.dialog_id != dialog_id:
            raise NotFound(f"no message {message_id} in this dialog", code="message_not_found")
        return found

    async def _with_statuses(
        self, conn: AsyncConnection, dialog_id: str, messages: list[Message]
    ) -> list[Message]:
        """Fill ``read_ids``/``delivered_ids`` from the members' markers."""
        if not messages:
            return messages
        members = await dialogs_store.list_members(conn, dialog_id)
        if len(members) > STATUS_LIST_MEMBERS:
            return messages
        out = []
        for m in messages:
            seq = m.seq or 0
            read = [r.user_id for r in members if r.read_seq >= seq or r.user_id == m.sender_id]
            delivered = [
                r.user_id for r in members if r.delivered_seq >= seq or r.user_id == m.sender_id
            ]
            out.append(Message(**{**m.to_dict(), "read_ids": read, "delivered_ids": delivered}))
        return out

    async def get_message(self, actor: Actor, dialog_id: str, message_id: str) -> Message:
        async with self.core.db.read() as conn:
            _dialog, member = await access.load_membership(conn, actor, dialog_id)
            message = await self._message_in(conn, dialog_id, message_id, "message_id")
            if (
                message.deleted
                or (message.seq or 0) <= member.cleared_seq
                or await store.is_hidden(conn, actor.user_id, message_id)
            ):
                raise NotFound(f"no message {message_id} in this dialog", code="message_not_found")
            return (await self._with_statuses(conn, dialog_id, [message]))[0]

    async def messages_since(
        self, actor: Actor, dialog_id: str, after_seq: int, limit: int
    ) -> tuple[list[Message], int]:
        """For resync: what happened after ``after_seq`` (tombstones included) and the
        dialog's newest sequence number."""
        async with self.core.db.read() as conn:
            dialog, member = await access.load_membership(conn, actor, dialog_id)
            floor = max(after_seq, member.cleared_seq)
            return await store.list_since(conn, dialog_id, floor, limit), dialog.last_seq

    # -- changing ----------------------------------------------------------------

    async def edit_message(
        self, actor: Actor, dialog_id: str, message_id: str, body: str
    ) -> Message:
        body, _, _ = self._validate(body, None, None)
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            dialog, _member = await access.load_membership(conn, actor, dialog_id)
            message = await self._message_in(conn, dialog_id, message_id, "message_id")
            if message.deleted:
                raise NotFound(f"no message {message_id} in this dialog", code="message_not_found")
            if message.sender_id != actor.user_id:
                raise Forbidden("only the sender can edit a message")
            await store.update_message(conn, message_id, body=body, edited=True, updated_ms=now)
            if dialog.last_message_id == message_id:
                await dialogs_store.update_dialog(
                    conn, dialog_id, last_message_text=body[:PREVIEW_CHARS]
                )
            recipients = await self._audience(conn, dialog)
            updated = await store.get_message(conn, message_id)
        assert updated is not None
        await self.core.publish(
            MessageUpdated(
                app_id=actor.app_id,
                recipients=tuple(recipients),
                everyone=dialog.type == "broadcast",
                dialog_id=dialog_id,
                message=updated.to_dict(),
            )
        )
        return updated

    async def delete_message(
        self, actor: Actor, dialog_id: str, message_id: str, *, for_everyone: bool
    ) -> None:
        """For me: hidden from my history only. For everyone: the sender, or the dialog's
        owner or admins, replace it with a tombstone every member is told about."""
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            dialog, member = await access.load_membership(conn, actor, dialog_id)
            message = await self._message_in(conn, dialog_id, message_id, "message_id")
            if message.deleted:
                return
            if for_everyone:
                if message.sender_id != actor.user_id and member.role not in access.MANAGERS:
                    raise Forbidden("only the sender or a dialog admin can delete it for everyone")
                await store.update_message(
                    conn,
                    message_id,
                    deleted=True,
                    body="",
                    attachments=None,
                    params=None,
                    updated_ms=now,
                )
                if dialog.last_message_id == message_id:
                    # The preview must not keep showing what was deleted.
                    await dialogs_store.update_dialog(conn, dialog_id, last_message_text="")
                await dialogs_store.unpin_messages(conn, dialog_id, [message_id])
                recipients = await self._audience(conn, dialog)
            else:
                await store.hide_message(conn, actor.user_id, message_id)
                recipients = [actor.user_id]
        await self.core.publish(
            MessageDeleted(
                app_id=actor.app_id,
                recipients=tuple(recipients),
                everyone=for_everyone and dialog.type == "broadcast",
                dialog_id=dialog_id,
                message_id=message_id,
                seq=message.seq,
                for_everyone=for_everyone,
                by_user_id=actor.user_id,
            )
        )

    async def _audience(self, conn: AsyncConnection, dialog: DialogRow) -> list[int]:
        if dialog.type == "broadcast":
            return []
        return await dialogs_store.list_member_ids(conn, dialog.id)


def _fields(query: HistoryFilter) -> dict[str, Any]:
    return {name: getattr(query, name) for name in query.__slots__}
