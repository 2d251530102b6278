"""Queries for the service desk: tickets, numbered comments, SDK bookkeeping.

Like every store module, functions take a connection and never commit.
"""

from __future__ import annotations

from typing import Any, Unpack

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.desk_rows import (
    AgentRow,
    CommandResult,
    CommentRow,
    CommentWithMessageRow,
    InboxTicketRow,
    NewComment,
    NewTicket,
    NewUpload,
    Placeholder,
    PushCall,
    PushTokenRow,
    PushTokenValues,
    RequesterTicketRow,
    TicketChanges,
    TicketRow,
    UploadChanges,
    UploadRow,
)
from tidings.store.rows import FileRow
from tidings.store.tables import dialog_members, files, messages, users
from tidings.store.tables_servicedesk import (
    desk_commands,
    desk_comments,
    desk_notes,
    desk_placeholders,
    desk_push_calls,
    desk_push_tokens,
    desk_ticket_tags,
    desk_tickets,
    desk_uploads,
)

# -- tickets --------------------------------------------------------------------------


async def insert_ticket(conn: AsyncConnection, **values: Unpack[NewTicket]) -> int:
    result = await conn.execute(insert(desk_tickets).values(**values).returning(desk_tickets.c.id))
    return int(result.scalar_one())


async def get_ticket(
    conn: AsyncConnection, app_id: int, ticket_id: int, *, lock: bool = False
) -> TicketRow | None:
    query = select(desk_tickets).where(
        desk_tickets.c.id == ticket_id, desk_tickets.c.app_id == app_id
    )
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def update_ticket(
    conn: AsyncConnection, ticket_id: int, **values: Unpack[TicketChanges]
) -> None:
    await conn.execute(update(desk_tickets).where(desk_tickets.c.id == ticket_id).values(**values))


async def list_requester_tickets(
    conn: AsyncConnection, requester_id: int
) -> list[RequesterTicketRow]:
    """Every ticket of one identity with the requester's read marker."""
    query = (
        select(desk_tickets, dialog_members.c.read_seq)
        .outerjoin(
            dialog_members,
            and_(
                dialog_members.c.dialog_id == desk_tickets.c.dialog_id,
                dialog_members.c.user_id == desk_tickets.c.requester_id,
            ),
        )
        .where(desk_tickets.c.requester_id == requester_id)
        .order_by(desk_tickets.c.id)
    )
    return list(await conn.execute(query))


async def newest_open_ticket(conn: AsyncConnection, requester_id: int) -> TicketRow | None:
    query = (
        select(desk_tickets)
        .where(desk_tickets.c.requester_id == requester_id, desk_tickets.c.status == "open")
        .order_by(desk_tickets.c.id.desc())
        .limit(1)
    )
    return (await conn.execute(query)).first()


#: ``(last_activity_ms, id)`` of the last ticket a page showed: the next page starts
#: after it. A cursor, not an offset, so tickets moving to the top meanwhile neither
#: repeat nor hide the ones below.
InboxCursor = tuple[int, int]


def _after(cursor: InboxCursor | None) -> list[ColumnElement[bool]]:
    if cursor is None:
        return []
    ms, ticket_id = cursor
    activity = desk_tickets.c.last_activity_ms
    return [or_(activity < ms, and_(activity == ms, desk_tickets.c.id < ticket_id))]


def _inbox_page(conditions: list[ColumnElement[bool]], limit: int) -> Select[Any]:
    return (
        select(
            desk_tickets,
            users.c.full_name.label("requester_name"),
            users.c.login.label("requester_login"),
        )
        .join(users, users.c.id == desk_tickets.c.requester_id)
        .where(*conditions)
        .order_by(desk_tickets.c.last_activity_ms.desc(), desk_tickets.c.id.desc())
        .limit(limit)
    )


async def list_inbox(
    conn: AsyncConnection,
    app_id: int,
    *,
    view: str,
    agent_id: int,
    limit: int,
    after: InboxCursor | None = None,
    priority: str | None = None,
    tag: str | None = None,
) -> list[InboxTicketRow]:
    """A page of the console inbox, newest activity first, with requester names;
    only tickets of ``priority`` and with ``tag`` when given."""
    conditions = [desk_tickets.c.app_id == app_id, *_after(after)]
    if priority is not None:
        conditions.append(desk_tickets.c.priority == priority)
    if tag is not None:
        tagged = select(desk_ticket_tags.c.ticket_id).where(
            desk_ticket_tags.c.ticket_id == desk_tickets.c.id, desk_ticket_tags.c.tag == tag
        )
        conditions.append(tagged.exists())
    if view == "closed":
        conditions.append(desk_tickets.c.status == "closed")
    else:
        conditions.append(desk_tickets.c.status == "open")
    if view == "mine":
        conditions.append(desk_tickets.c.assignee_id == agent_id)
    elif view == "unassigned":
        conditions.append(desk_tickets.c.assignee_id.is_(None))
    return list(await conn.execute(_inbox_page(conditions, limit)))


def _like(term: str) -> str:
    """A LIKE pattern matching ``term`` anywhere, its own ``%``, ``_`` and ``\\`` literal."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_tickets(
    conn: AsyncConnection,
    app_id: int,
    term: str,
    *,
    limit: int,
    after: InboxCursor | None = None,
) -> list[InboxTicketRow]:
    """One app's tickets (any status) matching ``term``, newest activity first.

    A ticket matches on its number (``42`` or ``#42``), subject, customer name, the
    requester's id (the login's key), or the text of one of its comments or notes.
    Case-insensitive substring match (``ILIKE``; ``lower() LIKE`` on SQLite)."""
    pattern = _like(term)
    number = term.removeprefix("#")
    text_comment = (
        select(desk_comments.c.id)
        .join(messages, messages.c.id == desk_comments.c.message_id)
        .where(
            desk_comments.c.ticket_id == desk_tickets.c.id,
            messages.c.deleted.is_(False),
            messages.c.body.ilike(pattern, escape="\\"),
        )
        .exists()
    )
    text_note = (
        select(desk_notes.c.id)
        .where(
            desk_notes.c.ticket_id == desk_tickets.c.id,
            desk_notes.c.body.ilike(pattern, escape="\\"),
        )
        .exists()
    )
    matches: list[ColumnElement[bool]] = [
        desk_tickets.c.subject.ilike(pattern, escape="\\"),
        desk_tickets.c.author_name.ilike(pattern, escape="\\"),
        users.c.full_name.ilike(pattern, escape="\\"),
        users.c.login.ilike(pattern, escape="\\"),
        text_comment,
        text_note,
    ]
    if number.isdigit() and len(number) <= 9:
        matches.append(desk_tickets.c.id == int(number))
    conditions = [desk_tickets.c.app_id == app_id, *_after(after), or_(*matches)]
    return list(await conn.execute(_inbox_page(conditions, limit)))


async def unread_inbound(conn: AsyncConnection, tickets: list[TicketRow]) -> dict[int, int]:
    """Client comments newer than what support has seen, per ticket."""
    if not tickets:
        return {}
    conditions = [
        and_(desk_comments.c.ticket_id == t.id, desk_comments.c.id > t.support_read_id)
        for t in tickets
    ]
    query = (
        select(desk_comments.c.ticket_id, func.count())
        .where(desk_comments.c.is_inbound.is_(True), or_(*conditions))
        .group_by(desk_comments.c.ticket_id)
    )
    return {row[0]: int(row[1]) for row in await conn.execute(query)}


async def count_by_view(conn: AsyncConnection, app_id: int, agent_id: int) -> dict[str, int]:
    """Tickets in each inbox view, and ``unread``: open tickets with client comments
    support has not seen (the console's tab title)."""
    base = select(func.count()).select_from(desk_tickets).where(desk_tickets.c.app_id == app_id)
    is_open = desk_tickets.c.status == "open"
    views: dict[str, ColumnElement[bool]] = {
        "open": is_open,
        "mine": and_(is_open, desk_tickets.c.assignee_id == agent_id),
        "unassigned": and_(is_open, desk_tickets.c.assignee_id.is_(None)),
        "closed": desk_tickets.c.status == "closed",
    }
    counts = {
        name: int((await conn.execute(base.where(condition))).scalar_one())
        for name, condition in views.items()
    }
    unseen = (
        select(desk_comments.c.id)
        .where(
            desk_comments.c.ticket_id == desk_tickets.c.id,
            desk_comments.c.is_inbound.is_(True),
            desk_comments.c.id > desk_tickets.c.support_read_id,
        )
        .exists()
    )
    counts["unread"] = int((await conn.execute(base.where(is_open, unseen))).scalar_one())
    return counts


# -- comments ---------------------------------------------------------------------------


async def insert_comment(conn: AsyncConnection, **values: Unpack[NewComment]) -> int:
    result = await conn.execute(
        insert(desk_comments).values(**values).returning(desk_comments.c.id)
    )
    return int(result.scalar_one())


async def list_comments(
    conn: AsyncConnection, ticket_ids: list[int], *, after_id: int = 0
) -> list[CommentWithMessageRow]:
    """Comments with their message, ascending by comment id."""
    if not ticket_ids:
        return []
    query = (
        select(
            desk_comments,
            messages.c.body,
            messages.c.attachments,
            messages.c.sender_id,
            messages.c.deleted,
        )
        .join(messages, messages.c.id == desk_comments.c.message_id)
        .where(desk_comments.c.ticket_id.in_(ticket_ids), desk_comments.c.id > after_id)
        .order_by(desk_comments.c.id)
    )
    return list(await conn.execute(query))


async def last_comments(
    conn: AsyncConnection, ticket_ids: list[int]
) -> list[CommentWithMessageRow]:
    """The newest comment of each ticket, with its message."""
    if not ticket_ids:
        return []
    newest = (
        select(func.max(desk_comments.c.id))
        .where(desk_comments.c.ticket_id.in_(ticket_ids))
        .group_by(desk_comments.c.ticket_id)
    )
    query = (
        select(
            desk_comments,
            messages.c.body,
            messages.c.attachments,
            messages.c.sender_id,
            messages.c.deleted,
        )
        .join(messages, messages.c.id == desk_comments.c.message_id)
        .where(desk_comments.c.id.in_(newest))
    )
    return list(await conn.execute(query))


async def read_state(conn: AsyncConnection, ticket_id: int, read_seq: int) -> tuple[bool, int]:
    """(no support comment after ``read_seq``, the highest comment id at or before it)."""
    unread = (
        await conn.execute(
            select(func.count()).where(
                desk_comments.c.ticket_id == ticket_id,
                desk_comments.c.is_inbound.is_(False),
                desk_comments.c.seq > read_seq,
            )
        )
    ).scalar_one()
    last_read = (
        await conn.execute(
            select(func.max(desk_comments.c.id)).where(
                desk_comments.c.ticket_id == ticket_id, desk_comments.c.seq <= read_seq
            )
        )
    ).scalar_one()
    return int(unread) == 0, int(last_read or 0)


async def get_comment(conn: AsyncConnection, ticket_id: int, comment_id: int) -> CommentRow | None:
    query = select(desk_comments).where(
        desk_comments.c.ticket_id == ticket_id, desk_comments.c.id == comment_id
    )
    return (await conn.execute(query)).first()


async def max_comment_id(conn: AsyncConnection, ticket_id: int) -> int:
    query = select(func.max(desk_comments.c.id)).where(desk_comments.c.ticket_id == ticket_id)
    return int((await conn.execute(query)).scalar_one() or 0)


async def ticket_of_file(conn: AsyncConnection, file_id: int) -> TicketRow | None:
    """The ticket whose dialog the file was attached in (via the core's grants)."""
    from tidings.store.tables import file_grants

    query = (
        select(desk_tickets)
        .join(file_grants, file_grants.c.dialog_id == desk_tickets.c.dialog_id)
        .where(file_grants.c.file_id == file_id)
        .limit(1)
    )
    return (await conn.execute(query)).first()


async def get_file_by_id(conn: AsyncConnection, file_id: int) -> FileRow | None:
    return (await conn.execute(select(files).where(files.c.id == file_id))).first()


# -- SDK bookkeeping ----------------------------------------------------------------------


async def get_command_result(
    conn: AsyncConnection, user_id: int, command_id: str
) -> dict[str, Any] | None:
    query = select(desk_commands.c.result).where(
        desk_commands.c.user_id == user_id, desk_commands.c.command_id == command_id
    )
    row = (await conn.execute(query)).first()
    return row.result if row else None


async def insert_command_result(conn: AsyncConnection, **values: Unpack[CommandResult]) -> None:
    await conn.execute(insert(desk_commands).values(**values))


async def get_placeholder(conn: AsyncConnection, user_id: int, local_id: int) -> int | None:
    query = select(desk_placeholders.c.ticket_id).where(
        desk_placeholders.c.user_id == user_id, desk_placeholders.c.local_id == local_id
    )
    row = (await conn.execute(query)).first()
    return int(row[0]) if row else None


async def insert_placeholder(conn: AsyncConnection, **values: Unpack[Placeholder]) -> None:
    await conn.execute(insert(desk_placeholders).values(**values))


async def insert_upload(conn: AsyncConnection, **values: Unpack[NewUpload]) -> None:
    await conn.execute(insert(desk_uploads).values(**values))


async def get_upload(conn: AsyncConnection, guid: str) -> UploadRow | None:
    return (await conn.execute(select(desk_uploads).where(desk_uploads.c.guid == guid))).first()


async def update_upload(conn: AsyncConnection, guid: str, **values: Unpack[UploadChanges]) -> None:
    await conn.execute(update(desk_uploads).where(desk_uploads.c.guid == guid).values(**values))


async def count_push_calls(
    conn: AsyncConnection, *, since_ms: int, app_id: int | None = None, user_id: int | None = None
) -> int:
    query = (
        select(func.count()).select_from(desk_push_calls).where(desk_push_calls.c.at_ms > since_ms)
    )
    if app_id is not None:
        query = query.where(desk_push_calls.c.app_id == app_id)
    if user_id is not None:
        query = query.where(desk_push_calls.c.user_id == user_id)
    return int((await conn.execute(query)).scalar_one())


async def insert_push_call(conn: AsyncConnection, **values: Unpack[PushCall]) -> None:
    await conn.execute(insert(desk_push_calls).values(**values))


async def prune_push_calls(conn: AsyncConnection, before_ms: int) -> None:
    await conn.execute(delete(desk_push_calls).where(desk_push_calls.c.at_ms <= before_ms))


async def set_push_token(
    conn: AsyncConnection, *, user_id: int, instance_id: str, **values: Unpack[PushTokenValues]
) -> None:
    await conn.execute(
        delete(desk_push_tokens).where(
            desk_push_tokens.c.user_id == user_id, desk_push_tokens.c.instance_id == instance_id
        )
    )
    if values.get("token"):
        await conn.execute(
            insert(desk_push_tokens).values(user_id=user_id, instance_id=instance_id, **values)
        )


async def list_push_tokens(conn: AsyncConnection, user_id: int) -> list[PushTokenRow]:
    query = (
        select(desk_push_tokens)
        .where(desk_push_tokens.c.user_id == user_id)
        .order_by(desk_push_tokens.c.instance_id)
    )
    return list(await conn.execute(query))


async def list_agent_logins(conn: AsyncConnection, email: str) -> list[tuple[int, int]]:
    """(app id, user id) of every agent or admin account with this email login."""
    query = select(users.c.app_id, users.c.id).where(
        users.c.login == email, users.c.role.in_(("agent", "admin"))
    )
    return [(r[0], r[1]) for r in await conn.execute(query)]


async def list_agents(conn: AsyncConnection, app_id: int) -> list[AgentRow]:
    query = (
        select(users.c.id, users.c.full_name, users.c.email)
        .where(users.c.app_id == app_id, users.c.role.in_(("agent", "admin")))
        .order_by(users.c.full_name)
    )
    return list(await conn.execute(query))
