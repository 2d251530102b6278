"""Tickets as their requester and the agents see them: rows of the store joined into
:class:`~tidings.core.desk_models.DeskTicket` values (comments, names, read state)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.desk_models import DeskAttachment, DeskComment, DeskConfig, DeskTicket
from tidings.domain.models import App
from tidings.store import apps as users_store
from tidings.store import tickets as store

AVATAR_COLORS = ("#4A90E2", "#7B61FF", "#00A389", "#E86A33", "#D64570", "#2F7D95", "#8A6D3B")


def avatar_color(user_id: int) -> str:
    """A stable colour per agent, for clients that draw initials instead of an avatar."""
    return AVATAR_COLORS[user_id % len(AVATAR_COLORS)]


async def build_tickets(
    conn: AsyncConnection, app: App, rows: list[Any], *, after: int, requester: bool
) -> list[DeskTicket]:
    """The tickets of ``rows`` with their comments newer than comment id ``after``.

    ``requester``: as their requester sees them (read state); otherwise as agents
    do (client comments support has not seen)."""
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
            comment_of(c, tickets[c.ticket_id], people, config)
        )
    last_by = {c.ticket_id: comment_of(c, tickets[c.ticket_id], people, config) for c in lasts}
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


def comment_of(c: Any, ticket: Any, people: dict[int, Any], config: DeskConfig) -> DeskComment:
    """One comment row as a value: the requester's comments carry the ticket's author
    name, agents' their own name (or the app's agent name) and avatar."""
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
