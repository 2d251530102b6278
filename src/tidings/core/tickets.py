"""Service-desk tickets: support dialogs of the core, numbered for the Pyrus SDKs.

A ticket is a dialog of type ``support`` whose members are the requester (a
core user standing for a device or an external user) and the agents who have
answered. A comment is a core message; ``desk_comments`` gives it the integer,
ever-increasing ``comment_id`` SDK cursors need. So search, unread counts, the
native API and webhooks see tickets like any other conversation.

The SDK side (identify, comment, mark read, push token, snapshot) lives here;
the agent side (inbox, reply, assign, close) in :mod:`tidings.core.desk_agents`.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.desk_models import (
    CommandOutcome,
    DeskAttachment,
    DeskComment,
    DeskConfig,
    DeskIdentity,
    DeskTicket,
    TicketChanged,
)
from tidings.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unavailable,
)
from tidings.domain.ids import new_id
from tidings.domain.models import App, Message
from tidings.store import apps as users_store
from tidings.store import dialogs as dialogs_store
from tidings.store import tickets as store

if TYPE_CHECKING:
    from tidings.core.hub import Core

log = logging.getLogger("tidings.tickets")

MAX_ID_TEXT = 100
PUSH_WINDOW_MS = 5 * 60_000
AVATAR_COLORS = ("#4A90E2", "#7B61FF", "#00A389", "#E86A33", "#D64570", "#2F7D95", "#8A6D3B")


def avatar_color(user_id: int) -> str:
    return AVATAR_COLORS[user_id % len(AVATAR_COLORS)]


def subject_of(text: str, names: list[str]) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = re.sub(r"<[^>]+>", "", first).strip()
    return (first or (names[0] if names else "") or "New request")[:200]


class TicketService:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- identity ---------------------------------------------------------------------

    async def find_app(self, desk_app_id: Any) -> App:
        if not isinstance(desk_app_id, str) or not desk_app_id or len(desk_app_id) > 64:
            raise Forbidden("unknown app_id", code="unknown_app")
        app = await self.core.apps.find_by_desk_app_id(desk_app_id)
        if app is None:
            raise Forbidden("unknown app_id", code="unknown_app")
        return app

    async def identify(
        self,
        desk_app_id: Any,
        *,
        user_id: Any = None,
        security_key: Any = None,
        instance_id: Any = None,
        author_name: Any = None,
    ) -> DeskIdentity:
        """Resolve the caller (wire spec §3.5). Refusals are :class:`Forbidden`, which
        the SDKs treat as "authorization failed"; a failing auth service is
        :class:`~tidings.core.desk_auth.AuthUnavailable`."""
        app = await self.find_app(desk_app_id)
        for value, name in ((user_id, "user_id"), (security_key, "security_key")):
            if value is not None and (not isinstance(value, str) or len(value) > MAX_ID_TEXT):
                raise Forbidden(f"{name} must be text of at most {MAX_ID_TEXT} characters")
        if instance_id is not None and (not isinstance(instance_id, str) or len(instance_id) > 200):
            raise Forbidden("instance_id must be text of at most 200 characters")
        external_mode = bool(app.auth_url)
        if security_key:
            if not user_id:
                raise Forbidden("security_key without user_id", code="auth_refused")
            await self.core.desk_auth.verify(app, user_id, security_key)
            kind, key = "ext", user_id
        elif user_id and not instance_id:
            kind, key = "anon", user_id  # legacy protocol: user_id is the device id
        elif not user_id:
            if not instance_id:
                raise Forbidden("instance_id is required", code="auth_refused")
            kind, key = "anon", instance_id
        elif app.config.get("desk_allow_unverified"):
            kind, key = "ext", user_id
        else:
            raise Forbidden("user_id needs a security_key", code="auth_refused")
        if kind == "anon" and external_mode:
            # The seed: once an app uses external authorization, anonymous chats vanish.
            raise Forbidden("this app requires external authorization", code="auth_refused")
        name = author_name if isinstance(author_name, str) and author_name.strip() else None
        uid = await self._user_for(
            app, f"desk:{key}" if kind == "anon" else f"desk-ext:{key}", name
        )
        return DeskIdentity(app=app, kind=kind, key=key, user_id=uid, instance_id=instance_id or "")

    async def _user_for(self, app: App, login: str, name: str | None) -> int:
        async with self.core.db.read() as conn:
            found = await users_store.get_user_by_login(conn, app.id, login)
        if found is not None:
            user = found[0]
            if name and user.full_name != name[:200]:
                async with self.core.db.transaction() as conn:
                    await users_store.update_user(conn, user.id, full_name=name[:200])
            return user.id
        try:
            user = await self.core.users.create_user(
                app.id,
                login=login,
                password=secrets.token_urlsafe(24),
                full_name=(name or "Guest")[:200],
            )
            return user.id
        except Conflict:
            async with self.core.db.read() as conn:
                found = await users_store.get_user_by_login(conn, app.id, login)
            assert found is not None
            return found[0].id

    # -- commands -----------------------------------------------------------------------

    async def run_command(
        self, ident: DeskIdentity, command_id: str, action: Any
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
            outcome: CommandOutcome = await action()
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
        *,
        ticket_id: Any = None,
        request_new_ticket: bool = False,
        text: Any = None,
        attachments: Any = None,
        rating: Any = None,
        rating_comment: Any = None,
        extra_fields: Any = None,
        author_name: Any = None,
        batch: dict[str, int] | None = None,
    ) -> CommandOutcome:
        """A client comment (text, files or rating), on the ticket the wire spec's §5.1
        selects. ``batch`` collects tickets opened during one request, so a burst of
        ``request_new_ticket`` commands lands in one new ticket."""
        batch = batch if batch is not None else {}
        text = text if isinstance(text, str) else ""
        if len(text) > self.core.settings.max_message_length:
            raise InvalidInput("comment is too long", field="comment")
        items = attachments if isinstance(attachments, list) else []
        if any(not isinstance(a, dict) or not isinstance(a.get("guid"), str) for a in items):
            raise InvalidInput("each attachment needs a guid", field="attachments")
        if rating is not None and (
            not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5
        ):
            raise InvalidInput("rating is 1 to 5", field="rating")
        rating_text = rating_comment if isinstance(rating_comment, str) else None
        if rating is not None:
            text = ""  # iOS drops the text of a rating; so do we
        if not text.strip() and not items and rating is None:
            raise InvalidInput("a comment needs text, files or a rating", field="comment")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            ticket_id = 0
        fields = (
            {str(k)[:100]: str(v)[:1000] for k, v in extra_fields.items()}
            if isinstance(extra_fields, dict)
            else {}
        )
        names = [str(a.get("name") or "file") for a in items]
        ticket = await self._select_ticket(
            ident,
            ticket_id,
            bool(request_new_ticket),
            batch,
            subject=subject_of(text, names) if rating is None else "Rating",
            author_name=author_name if isinstance(author_name, str) else None,
            extra_fields=fields,
        )
        files = await self._claim_uploads(ident, items)
        body = text if text.strip() else ""
        if rating is not None:
            body = rating_text or f"Rated {rating} of 5"
        elif not body:
            body = ""
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
                    rating=rating,
                    rating_comment=rating_text,
                    created_ms=message.created_ms,
                )
            )
            values: dict[str, Any] = {"last_activity_ms": message.created_ms}
            if reopened:
                values.update(status="open", closed_ms=None)
            if rating is not None:
                values.update(rating=rating, show_rating=False)
            await store.update_ticket(conn, ticket.id, **values)

        await self.core.messages.send_message(
            ident.actor,
            ticket.dialog_id,
            body,
            attachments=[{"file_id": uid, "desk_id": fid} for uid, fid in files] or None,
            params={"desk": "inbound", **({"rating": rating} if rating is not None else {})},
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

    async def _claim_uploads(
        self, ident: DeskIdentity, items: list[dict[str, Any]]
    ) -> list[tuple[str, int]]:
        """Turn staged uploads into core files owned by the identity: (uid, file id)."""
        out: list[tuple[str, int]] = []
        if not items:
            return out
        from tidings.store import files as files_store

        async with self.core.db.transaction() as conn:
            for item in items:
                upload = await store.get_upload(conn, item["guid"])
                if upload is None:
                    raise NotFound(f"no upload {item['guid']}", code="upload_not_found")
                if upload.file_id is not None:
                    info = await files_store.get_file(conn, ident.app.id, upload.guid)
                    if info is None or info.owner_id != ident.user_id:
                        raise NotFound(f"no upload {item['guid']}", code="upload_not_found")
                    out.append((info.uid, info.id))
                    continue
                name = str(item.get("name") or upload.name)[:255].replace("/", "_") or "file"
                info = await files_store.insert_file(
                    conn,
                    uid=upload.guid,
                    app_id=ident.app.id,
                    owner_id=ident.user_id,
                    name=name,
                    content_type=upload.content_type,
                    size=upload.size,
                    public=False,
                    created_ms=self.core.now_ms(),
                )
                await store.update_upload(conn, upload.guid, file_id=info.id)
                out.append((info.uid, info.id))
        return out

    async def stage_upload(self, chunks: Any, *, name: str, content_type: str) -> tuple[str, str]:
        """Store an ``UploadFile`` blob (no identity yet): returns (guid, md5)."""
        import hashlib

        digest = hashlib.md5(usedforsecurity=False)

        async def hashed() -> Any:
            async for chunk in chunks:
                digest.update(chunk)
                yield chunk

        guid = secrets.token_hex(16)
        size = await self.core.storage.save(
            guid, hashed(), max_bytes=self.core.settings.max_upload_bytes
        )
        name = (name or "file").replace("/", "_")[:255] or "file"
        try:
            async with self.core.db.transaction() as conn:
                await store.insert_upload(
                    conn,
                    guid=guid,
                    name=name,
                    content_type=(content_type or "application/octet-stream")[:255],
                    size=size,
                    md5=digest.hexdigest(),
                    created_ms=self.core.now_ms(),
                )
        except BaseException:
            await self.core.storage.delete(guid)
            raise
        return guid, digest.hexdigest()

    async def mark_read(self, ident: DeskIdentity, ticket_id: Any, comment_id: Any = None) -> None:
        """Move the identity's read pointer: every device of an external user sees it."""
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            raise InvalidInput("ticket_id is required", field="ticket_id")
        async with self.core.db.read() as conn:
            if ticket_id < 0:
                ticket_id = await store.get_placeholder(conn, ident.user_id, ticket_id) or 0
            ticket = await store.get_ticket(conn, ident.app.id, ticket_id)
            if ticket is None or ticket.requester_id != ident.user_id:
                raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
            message_id = None
            if isinstance(comment_id, int) and not isinstance(comment_id, bool) and comment_id > 0:
                comment = await store.get_comment(conn, ticket_id, comment_id)
                if comment is None:
                    raise NotFound(f"no comment {comment_id}", code="comment_not_found")
                message_id = comment.message_id
        await self.core.receipts.mark_read(ident.actor, ticket.dialog_id, message_id)

    async def set_push_token(self, ident: DeskIdentity, token: Any, kind: Any) -> None:
        """Register (or, with no token, remove) this device's push token, within the
        seed's limits: once per 5 minutes per user, 5 times per 5 minutes per app."""
        if token is not None and (not isinstance(token, str) or len(token) > 4096):
            raise InvalidInput("token must be text", field="token")
        kind = kind if isinstance(kind, str) and kind else "android"
        per_user = int(ident.app.config.get("desk_push_limit_user", 1))
        per_app = int(ident.app.config.get("desk_push_limit_app", 5))
        now = self.core.now_ms()
        since = now - PUSH_WINDOW_MS
        async with self.core.db.transaction() as conn:
            if (
                await store.count_push_calls(conn, since_ms=since, user_id=ident.user_id)
                >= per_user
            ):
                raise RateLimited(
                    "SetPushToken is allowed once per 5 minutes per user",
                    retry_after=PUSH_WINDOW_MS / 1000,
                )
            if await store.count_push_calls(conn, since_ms=since, app_id=ident.app.id) >= per_app:
                raise RateLimited(
                    "SetPushToken is allowed 5 times per 5 minutes in total",
                    retry_after=PUSH_WINDOW_MS / 1000,
                )
            await store.prune_push_calls(conn, since - PUSH_WINDOW_MS)
            await store.insert_push_call(
                conn, app_id=ident.app.id, user_id=ident.user_id, at_ms=now
            )
            await store.set_push_token(
                conn,
                user_id=ident.user_id,
                instance_id=ident.instance_id or ident.key,
                app_id=ident.app.id,
                token=token or "",
                type=kind[:64],
                updated_ms=now,
            )
        await self._register_device(ident, token, kind)

    async def _register_device(self, ident: DeskIdentity, token: str | None, kind: str) -> None:
        """Mirror the token into the core's device registry, when there is one."""
        devices = getattr(self.core, "devices", None)
        platform = {"android": "fcm", "ios": "apns"}.get(kind.lower())
        if devices is None or platform is None:
            return
        device_id = f"desk:{ident.instance_id or ident.key}"[:200]
        try:
            if token:
                await devices.register(
                    ident.actor, platform=platform, token=token, device_id=device_id
                )
            else:
                await devices.unregister(ident.actor, device_id)
        except Exception:  # the desk's own table already holds the token
            log.exception("could not mirror a desk push token into core.devices")

    # -- reading ----------------------------------------------------------------------

    async def snapshot(self, ident: DeskIdentity, last_note_id: Any = 0) -> list[DeskTicket]:
        """Every ticket of the identity, comments newer than ``last_note_id`` (§4.2)."""
        after = last_note_id if isinstance(last_note_id, int) and last_note_id > 0 else 0
        async with self.core.db.read() as conn:
            rows = await store.list_requester_tickets(conn, ident.user_id)
            return await self._build(conn, ident.app, rows, after=after, requester=True)

    async def _build(
        self, conn: AsyncConnection, app: App, rows: list[Any], *, after: int, requester: bool
    ) -> list[DeskTicket]:
        ids = [r.id for r in rows]
        comments = await store.list_comments(conn, ids, after_id=after)
        lasts = await store.last_comments(conn, ids)
        senders = {c.sender_id for c in [*comments, *lasts]}
        senders |= {r.assignee_id for r in rows if r.assignee_id}
        people = (
            {
                u.id: u
                for u in await users_store.list_users(
                    conn, app.id, ids=sorted(senders), limit=max(len(senders), 1)
                )
            }
            if senders
            else {}
        )
        config = DeskConfig.of(app)
        by_ticket: dict[int, list[DeskComment]] = {}
        tickets = {r.id: r for r in rows}
        for c in comments:
            by_ticket.setdefault(c.ticket_id, []).append(
                self._comment(c, tickets[c.ticket_id], people, config)
            )
        last_by = {
            c.ticket_id: self._comment(c, tickets[c.ticket_id], people, config) for c in lasts
        }
        unread = {} if requester else await store.unread_inbound(conn, rows)
        out = []
        for r in rows:
            is_read, last_read = True, 0
            if requester:
                is_read, last_read = await store.read_state(conn, r.id, r.read_seq or 0)
            assignee = people.get(r.assignee_id) if r.assignee_id else None
            out.append(
                DeskTicket(
                    ticket_id=r.id,
                    dialog_id=r.dialog_id,
                    subject=r.subject or "",
                    author_name=r.author_name or "Guest",
                    status=r.status,
                    created_ms=r.created_ms,
                    last_activity_ms=r.last_activity_ms,
                    requester_id=r.requester_id,
                    assignee_id=r.assignee_id,
                    assignee_name=(assignee.full_name or assignee.login) if assignee else None,
                    is_read=is_read,
                    last_read_comment_id=last_read,
                    show_rating=bool(r.show_rating),
                    rating=r.rating,
                    extra_fields=dict(r.extra_fields or {}),
                    last_comment=last_by.get(r.id),
                    comments=by_ticket.get(r.id, []),
                    unread_for_support=unread.get(r.id, 0),
                    identity_kind=r.identity_kind,
                )
            )
        return out

    @staticmethod
    def _comment(c: Any, ticket: Any, people: dict[int, Any], config: DeskConfig) -> DeskComment:
        sender = people.get(c.sender_id)
        if c.is_inbound:
            name = ticket.author_name or (sender.full_name if sender else None) or "Guest"
        else:
            name = (sender.full_name if sender else None) or config.agent_name
        attachments = [
            DeskAttachment(
                id=int(a.get("desk_id") or 0),
                name=str(a.get("name") or "file"),
                size=int(a.get("size") or 0),
                content_type=str(a.get("content_type") or "application/octet-stream"),
                file_uid=str(a.get("file_id") or ""),
            )
            for a in (c.attachments or [])
            if isinstance(a, dict)
        ]
        body = "" if c.deleted else (c.body or "")
        if c.rating is not None:
            body = c.rating_comment or ""
        return DeskComment(
            comment_id=c.id,
            ticket_id=c.ticket_id,
            body=body,
            is_inbound=bool(c.is_inbound),
            created_ms=c.created_ms,
            author_name=name,
            sender_id=c.sender_id,
            attachments=attachments,
            rating=c.rating,
            rating_comment=c.rating_comment,
            avatar_id=None if c.is_inbound else config.agent_avatar_id,
            avatar_color=avatar_color(c.sender_id),
        )

    async def open_attachment(self, ident: DeskIdentity, file_id: int) -> tuple[Any, Any]:
        """(file info, byte stream) of an attachment of one of the identity's tickets."""
        async with self.core.db.read() as conn:
            ticket = await store.ticket_of_file(conn, file_id)
            row = await store.get_file_by_id(conn, file_id)
        if ticket is None or row is None or ticket.requester_id != ident.user_id:
            raise NotFound(f"no file {file_id}", code="file_not_found")
        return row, await self.core.storage.open(row.uid)

    async def open_avatar(self, file_id: int) -> tuple[Any, Any]:
        """The public file its app names as the agents' avatar (``agent_avatar_id``).

        Avatars are fetched without credentials and by number, so serving any public
        file here would let anyone walk every app's public files by counting.
        """
        async with self.core.db.read() as conn:
            row = await store.get_file_by_id(conn, file_id)
            app = await users_store.get_app(conn, row.app_id) if row is not None else None
        if (
            row is None
            or not row.public
            or app is None
            or DeskConfig.of(app).agent_avatar_id != file_id
        ):
            raise NotFound(f"no avatar {file_id}", code="file_not_found")
        return row, await self.core.storage.open(row.uid)

    async def _changed(self, app_id: int, ticket_id: int, dialog_id: str, change: str) -> None:
        await self.core.publish(
            TicketChanged(app_id=app_id, ticket_id=ticket_id, dialog_id=dialog_id, change=change)
        )
