"""Queries on messages: insert with a per-dialog sequence, history pages, search."""

from __future__ import annotations

from typing import Unpack

from sqlalchemy import (
    ColumnElement,
    Table,
    TextClause,
    and_,
    bindparam,
    exists,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from tidings.domain.models import HistoryFilter, Message
from tidings.store.rows import MessageChanges, MessageRow, NewMessage
from tidings.store.tables import dialog_members, dialogs, file_grants, hidden_messages, messages


def message_from_row(row: MessageRow) -> Message:
    return Message(
        id=row.id,
        app_id=row.app_id,
        dialog_id=row.dialog_id,
        seq=row.seq,
        sender_id=row.sender_id,
        body=row.body,
        attachments=list(row.attachments or []),
        params=dict(row.params or {}),
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
        edited=row.edited,
        deleted=row.deleted,
        client_id=row.client_id,
        extensions=row.extensions,
    )


_NEXT_SEQ = (
    update(dialogs)
    .where(dialogs.c.id == bindparam("b_dialog_id"))
    .values(
        last_seq=dialogs.c.last_seq + 1,
        last_message_id=bindparam("b_message_id"),
        last_message_text=bindparam("b_preview"),
        last_message_user_id=bindparam("b_sender_id"),
        last_message_ms=bindparam("b_now_ms"),
        updated_ms=bindparam("b_now_ms"),
    )
    .returning(dialogs.c.last_seq)
)
_INSERT_MESSAGE = insert(messages)


async def next_seq(
    conn: AsyncConnection,
    dialog_id: str,
    *,
    message_id: str,
    preview: str,
    sender_id: int,
    now_ms: int,
) -> int:
    """Take the dialog's next sequence number and make this message its last one.

    One UPDATE ... RETURNING: on PostgreSQL the row lock orders concurrent senders
    of one dialog, so sequence numbers never repeat or skip. (Statements on the send
    path are built once, at import: building them per call cost more than running them.)
    """
    params = {
        "b_dialog_id": dialog_id,
        "b_message_id": message_id,
        "b_preview": preview,
        "b_sender_id": sender_id,
        "b_now_ms": now_ms,
    }
    return int((await conn.execute(_NEXT_SEQ, params)).scalar_one())


async def insert_message(conn: AsyncConnection, **values: Unpack[NewMessage]) -> None:
    await conn.execute(_INSERT_MESSAGE, values)


async def get_message(conn: AsyncConnection, message_id: str) -> Message | None:
    row = (await conn.execute(select(messages).where(messages.c.id == message_id))).first()
    return message_from_row(row) if row else None


#: On every send that carries a client id (each standard XMPP client's): built once.
_BY_CLIENT_ID = (
    select(messages)
    .where(
        messages.c.dialog_id == bindparam("b_dialog_id"),
        messages.c.client_id == bindparam("b_client_id"),
    )
    .order_by(messages.c.seq)
    .limit(1)
)


async def find_by_client_id(
    conn: AsyncConnection, dialog_id: str, client_id: str
) -> Message | None:
    """The oldest message of the dialog its sender sent under ``client_id``."""
    params = {"b_dialog_id": dialog_id, "b_client_id": client_id}
    row = (await conn.execute(_BY_CLIENT_ID, params)).first()
    return message_from_row(row) if row else None


async def get_messages(conn: AsyncConnection, dialog_id: str, ids: list[str]) -> list[Message]:
    query = select(messages).where(messages.c.dialog_id == dialog_id, messages.c.id.in_(ids))
    return [message_from_row(r) for r in await conn.execute(query)]


async def get_message_by_seq(conn: AsyncConnection, dialog_id: str, seq: int) -> Message | None:
    query = select(messages).where(messages.c.dialog_id == dialog_id, messages.c.seq == seq)
    row = (await conn.execute(query)).first()
    return message_from_row(row) if row else None


async def update_message(
    conn: AsyncConnection, message_id: str, **values: Unpack[MessageChanges]
) -> None:
    await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


async def hide_message(conn: AsyncConnection, user_id: int, message_id: str) -> None:
    stmt = _insert_ignore(conn, hidden_messages).values(user_id=user_id, message_id=message_id)
    await conn.execute(stmt)


async def is_hidden(conn: AsyncConnection, user_id: int, message_id: str) -> bool:
    query = select(hidden_messages.c.message_id).where(
        hidden_messages.c.user_id == user_id, hidden_messages.c.message_id == message_id
    )
    return (await conn.execute(query)).first() is not None


async def grant_files(conn: AsyncConnection, dialog_id: str, file_ids: list[int]) -> None:
    for file_id in dict.fromkeys(file_ids):
        stmt = _insert_ignore(conn, file_grants).values(file_id=file_id, dialog_id=dialog_id)
        await conn.execute(stmt)


def _insert_ignore(conn: AsyncConnection, table: Table) -> Insert:
    if conn.dialect.name == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing()
    return pg_insert(table).on_conflict_do_nothing()


async def list_history(
    conn: AsyncConnection, dialog_id: str, viewer_id: int, floor_seq: int, f: HistoryFilter
) -> tuple[list[Message], bool]:
    """One page of history as ``viewer_id`` sees it, and whether more follow.

    Always bounded by the (dialog_id, seq) or (dialog_id, created_ms) index, so a
    page costs the same at a thousand or ten million messages.
    """
    conditions = [
        messages.c.dialog_id == dialog_id,
        messages.c.deleted.is_(False),
        # One lower bound, not two: SQLite's planner ranges on only one of them.
        messages.c.seq > max(floor_seq, f.after_seq or 0),
        ~exists().where(
            and_(
                hidden_messages.c.user_id == viewer_id,
                hidden_messages.c.message_id == messages.c.id,
            )
        ),
    ]
    if f.before_seq is not None:
        conditions.append(messages.c.seq < f.before_seq)
    if f.since_ms is not None:
        conditions.append(messages.c.created_ms >= f.since_ms)
    if f.until_ms is not None:
        conditions.append(messages.c.created_ms <= f.until_ms)
    if f.sender_id is not None:
        conditions.append(messages.c.sender_id == f.sender_id)
    order = messages.c.seq.desc() if f.descending else messages.c.seq.asc()
    query = select(messages).where(*conditions).order_by(order).limit(f.limit + 1).offset(f.skip)
    rows = [message_from_row(r) for r in await conn.execute(query)]
    return rows[: f.limit], len(rows) > f.limit


async def list_since(
    conn: AsyncConnection, dialog_id: str, after_seq: int, limit: int
) -> list[Message]:
    """Everything after a cursor, deletions included (as tombstones), for resync."""
    query = (
        select(messages)
        .where(messages.c.dialog_id == dialog_id, messages.c.seq > after_seq)
        .order_by(messages.c.seq)
        .limit(limit)
    )
    return [message_from_row(r) for r in await conn.execute(query)]


async def search_messages(
    conn: AsyncConnection,
    app_id: int,
    user_id: int,
    query_text: str,
    *,
    dialog_ids: list[str] | None,
    since_ms: int | None,
    until_ms: int | None,
    limit: int,
) -> list[Message]:
    """Full-text search restricted to dialogs the user belongs to."""
    dm = dialog_members
    membership = exists().where(
        and_(
            dm.c.dialog_id == messages.c.dialog_id,
            dm.c.user_id == user_id,
            messages.c.seq > dm.c.cleared_seq,
        )
    )
    conditions: list[ColumnElement[bool] | TextClause] = [
        messages.c.app_id == app_id,
        messages.c.deleted.is_(False),
        membership,
    ]
    if dialog_ids:
        conditions.append(messages.c.dialog_id.in_(dialog_ids))
    if since_ms is not None:
        conditions.append(messages.c.created_ms >= since_ms)
    if until_ms is not None:
        conditions.append(messages.c.created_ms <= until_ms)
    if conn.dialect.name == "sqlite":
        match = _fts5_query(query_text)
        if not match:
            return []
        conditions.append(
            text(
                "messages.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q)"
            ).bindparams(q=match)
        )
    else:
        conditions.append(
            text(
                "to_tsvector('simple', messages.body) @@ plainto_tsquery('simple', :q)"
            ).bindparams(q=query_text)
        )
    query = select(messages).where(*conditions).order_by(messages.c.created_ms.desc()).limit(limit)
    return [message_from_row(r) for r in await conn.execute(query)]


def _fts5_query(raw: str) -> str:
    """Quote every word so user input is never parsed as FTS5 syntax."""
    words = [w.replace('"', '""') for w in raw.split() if w.strip('"')]
    return " ".join(f'"{w}"' for w in words)
