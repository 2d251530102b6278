"""Queries on dialogs, their members and per-member state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Unpack

from sqlalchemy import BigInteger, and_, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.selectable import Join

from tidings.domain.list_queries import ListQuery
from tidings.store.list_sql import condition_sql, order_sql
from tidings.store.rows import (
    BehindRow,
    DialogChanges,
    DialogListRow,
    DialogRow,
    MemberChanges,
    MemberRow,
    NewDialog,
)
from tidings.store.tables import blocks, dialog_members, dialogs, messages, pinned_messages, users


async def insert_dialog(conn: AsyncConnection, **values: Unpack[NewDialog]) -> None:
    await conn.execute(insert(dialogs).values(**values))


async def get_dialog(conn: AsyncConnection, app_id: int, dialog_id: str) -> DialogRow | None:
    query = select(dialogs).where(dialogs.c.id == dialog_id, dialogs.c.app_id == app_id)
    return (await conn.execute(query)).first()


_MEMBER_COLUMNS = ("role", "read_seq", "delivered_seq", "cleared_seq", "hidden", "muted")


def _dialog_with_member_query() -> Any:
    member_columns = [dialog_members.c[c].label(f"member_{c}") for c in _MEMBER_COLUMNS]
    return (
        select(dialogs, dialog_members.c.user_id.label("member_user_id"), *member_columns)
        .outerjoin(
            dialog_members,
            and_(
                dialog_members.c.dialog_id == dialogs.c.id,
                dialog_members.c.user_id == bindparam("user_id"),
            ),
        )
        .where(dialogs.c.id == bindparam("dialog_id"), dialogs.c.app_id == bindparam("app_id"))
    )


# Built once: hot statements built per call spend more time in SQLAlchemy (clause
# construction, cache keys) than SQLite spends running them.
_DIALOG_WITH_MEMBER = _dialog_with_member_query()
_DIALOG_WITH_MEMBER_LOCKED = _DIALOG_WITH_MEMBER.with_for_update(of=dialogs)


async def get_dialog_with_member(
    conn: AsyncConnection, app_id: int, dialog_id: str, user_id: int, *, lock: bool = False
) -> tuple[DialogRow | None, Member | None]:
    """The dialog and one user's membership (None if not a member), in one query.

    With ``lock`` the dialog row is locked on PostgreSQL so concurrent changes queue.
    """
    query = (
        _DIALOG_WITH_MEMBER_LOCKED
        if lock and conn.dialect.name != "sqlite"
        else _DIALOG_WITH_MEMBER
    )
    params = {"app_id": app_id, "dialog_id": dialog_id, "user_id": user_id}
    row = (await conn.execute(query, params)).first()
    if row is None:
        return None, None
    if row.member_user_id is None:
        return row, None
    member = Member(row.member_user_id, *(getattr(row, f"member_{c}") for c in _MEMBER_COLUMNS))
    return row, member


@dataclass(frozen=True, slots=True)
class Member:
    """One user's membership of a dialog."""

    user_id: int
    role: str
    read_seq: int
    delivered_seq: int
    cleared_seq: int
    hidden: bool
    muted: bool


@dataclass(frozen=True, slots=True)
class Recipient:
    """A member as a message's sender sees them: hidden, and blocking either way."""

    user_id: int
    hidden: bool
    blocks_sender: bool
    blocked_by_sender: bool


async def find_private_dialog(
    conn: AsyncConnection, app_id: int, private_key: str
) -> DialogRow | None:
    query = select(dialogs).where(dialogs.c.app_id == app_id, dialogs.c.private_key == private_key)
    return (await conn.execute(query)).first()


async def update_dialog(
    conn: AsyncConnection, dialog_id: str, **values: Unpack[DialogChanges]
) -> None:
    await conn.execute(update(dialogs).where(dialogs.c.id == dialog_id).values(**values))


async def delete_dialog(conn: AsyncConnection, dialog_id: str) -> None:
    await conn.execute(delete(messages).where(messages.c.dialog_id == dialog_id))
    await conn.execute(delete(dialogs).where(dialogs.c.id == dialog_id))


async def insert_members(
    conn: AsyncConnection,
    app_id: int,
    dialog_id: str,
    members: Iterable[tuple[int, str]],
    now_ms: int,
    *,
    start_seq: int = 0,
) -> None:
    """Add members; ``start_seq`` makes earlier messages count as read for newcomers."""
    rows = [
        {
            "dialog_id": dialog_id,
            "user_id": user_id,
            "app_id": app_id,
            "role": role,
            "joined_ms": now_ms,
            "read_seq": start_seq,
            "delivered_seq": start_seq,
            "cleared_seq": 0,
            "hidden": False,
            "muted": False,
        }
        for user_id, role in members
    ]
    if rows:
        await conn.execute(insert(dialog_members), rows)


async def get_member(conn: AsyncConnection, dialog_id: str, user_id: int) -> Member | None:
    query = select(dialog_members).where(
        dialog_members.c.dialog_id == dialog_id, dialog_members.c.user_id == user_id
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return Member(row.user_id, *(getattr(row, c) for c in _MEMBER_COLUMNS))


def _recipients_query() -> Any:
    theirs = blocks.alias("theirs")
    mine = blocks.alias("mine")
    sender_id: BindParameter[int] = bindparam("sender_id")
    return (
        select(
            dialog_members.c.user_id,
            dialog_members.c.hidden,
            theirs.c.blocker_id.is_not(None).label("blocks_sender"),
            mine.c.blocked_id.is_not(None).label("blocked_by_sender"),
        )
        .select_from(
            dialog_members.outerjoin(
                theirs,
                and_(
                    theirs.c.blocker_id == dialog_members.c.user_id,
                    theirs.c.blocked_id == sender_id,
                ),
            ).outerjoin(
                mine,
                and_(
                    mine.c.blocker_id == sender_id,
                    mine.c.blocked_id == dialog_members.c.user_id,
                    mine.c.mutual.is_(True),
                ),
            )
        )
        .where(dialog_members.c.dialog_id == bindparam("dialog_id"))
    )


_RECIPIENTS = _recipients_query()


async def list_recipients(conn: AsyncConnection, dialog_id: str, sender_id: int) -> list[Recipient]:
    """Every member with the block flags a send needs, in one indexed query.

    ``blocks_sender``: their active privacy list denies the sender.
    ``blocked_by_sender``: the sender mutually blocks them.
    """
    params = {"dialog_id": dialog_id, "sender_id": sender_id}
    return [
        Recipient(r.user_id, bool(r.hidden), bool(r.blocks_sender), bool(r.blocked_by_sender))
        for r in await conn.execute(_RECIPIENTS, params)
    ]


def _record_sent_statement(unhide: bool) -> Update:
    is_sender = dialog_members.c.user_id == bindparam("b_sender_id")
    condition = or_(is_sender, dialog_members.c.hidden.is_(True)) if unhide else is_sender
    seq = bindparam("b_seq", type_=BigInteger)
    values: dict[str, Any] = {
        "read_seq": case((is_sender, seq), else_=dialog_members.c.read_seq),
        "delivered_seq": case((is_sender, seq), else_=dialog_members.c.delivered_seq),
    }
    if unhide:
        values["hidden"] = False
    return (
        update(dialog_members)
        .where(dialog_members.c.dialog_id == bindparam("b_dialog_id"), condition)
        .values(**values)
    )


_RECORD_SENT = {unhide: _record_sent_statement(unhide) for unhide in (False, True)}


async def record_sent(
    conn: AsyncConnection, dialog_id: str, sender_id: int, seq: int, *, unhide: bool
) -> None:
    """After a send: the sender has read and received up to ``seq``; with ``unhide`` a
    dialog that members had hidden comes back for them. One statement."""
    params = {"b_dialog_id": dialog_id, "b_sender_id": sender_id, "b_seq": seq}
    await conn.execute(_RECORD_SENT[unhide], params)


async def list_members(conn: AsyncConnection, dialog_id: str) -> list[MemberRow]:
    query = select(dialog_members).where(dialog_members.c.dialog_id == dialog_id)
    return list(await conn.execute(query.order_by(dialog_members.c.joined_ms)))


async def list_member_ids(conn: AsyncConnection, dialog_id: str) -> list[int]:
    query = select(dialog_members.c.user_id).where(dialog_members.c.dialog_id == dialog_id)
    return [r[0] for r in await conn.execute(query)]


async def count_members(conn: AsyncConnection, dialog_id: str) -> int:
    query = select(func.count()).where(dialog_members.c.dialog_id == dialog_id)
    return int((await conn.execute(query)).scalar_one())


#: Ids per ``IN (…)``: well under the bound-parameter limits of SQLite and asyncpg.
_IN_CHUNK = 500

# Built once: statements built per call spend more time in SQLAlchemy's compiler
# cache keys than SQLite spends running them.
_ADVANCE_DELIVERED = (
    update(dialog_members)
    .where(
        dialog_members.c.dialog_id == bindparam("b_dialog_id"),
        dialog_members.c.user_id.in_(bindparam("b_user_ids", expanding=True)),
        dialog_members.c.delivered_seq < bindparam("b_seq"),
    )
    .values(delivered_seq=bindparam("b_seq"))
    .returning(dialog_members.c.user_id)
)


async def advance_delivered(
    conn: AsyncConnection, dialog_id: str, user_ids: list[int], seq: int
) -> list[int]:
    """Move several members' delivered markers forward to ``seq``; who actually moved."""
    moved: list[int] = []
    for start in range(0, len(user_ids), _IN_CHUNK):
        chunk = user_ids[start : start + _IN_CHUNK]
        params = {"b_dialog_id": dialog_id, "b_user_ids": chunk, "b_seq": seq}
        moved += [r[0] for r in await conn.execute(_ADVANCE_DELIVERED, params)]
    return moved


async def update_member(
    conn: AsyncConnection, dialog_id: str, user_id: int, **values: Unpack[MemberChanges]
) -> None:
    await conn.execute(
        update(dialog_members)
        .where(dialog_members.c.dialog_id == dialog_id, dialog_members.c.user_id == user_id)
        .values(**values)
    )


async def advance_marker(
    conn: AsyncConnection, dialog_id: str, user_id: int, column: str, seq: int
) -> bool:
    """Move ``read_seq`` or ``delivered_seq`` forward (never back); True if it moved."""
    col = dialog_members.c[column]
    values: dict[str, Any] = {column: seq}
    if column == "read_seq":
        # Reading implies having received.
        values["delivered_seq"] = (
            func.max(dialog_members.c.delivered_seq, seq)
            if (conn.dialect.name == "sqlite")
            else func.greatest(dialog_members.c.delivered_seq, seq)
        )
    result = await conn.execute(
        update(dialog_members)
        .where(
            dialog_members.c.dialog_id == dialog_id,
            dialog_members.c.user_id == user_id,
            col < seq,
        )
        .values(**values)
    )
    return bool(result.rowcount)


async def delete_members(conn: AsyncConnection, dialog_id: str, user_ids: Iterable[int]) -> None:
    await conn.execute(
        delete(dialog_members).where(
            dialog_members.c.dialog_id == dialog_id,
            dialog_members.c.user_id.in_(list(user_ids)),
        )
    )


async def list_user_dialogs(
    conn: AsyncConnection,
    app_id: int,
    user_id: int,
    *,
    types: list[str] | None = None,
    updated_after_ms: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[DialogListRow]]:
    """The user's visible dialogs, most recent activity first, and how many there are."""
    joined = dialogs.join(
        dialog_members,
        and_(dialog_members.c.dialog_id == dialogs.c.id, dialog_members.c.user_id == user_id),
    )
    conditions = [dialogs.c.app_id == app_id, dialog_members.c.hidden.is_(False)]
    if types:
        conditions.append(dialogs.c.type.in_(types))
    if updated_after_ms is not None:
        conditions.append(dialogs.c.updated_ms > updated_after_ms)
    total = (
        await conn.execute(select(func.count()).select_from(joined).where(*conditions))
    ).scalar_one()
    activity = func.coalesce(dialogs.c.last_message_ms, dialogs.c.created_ms)
    query = (
        select(
            dialogs,
            dialog_members.c.read_seq,
            dialog_members.c.cleared_seq,
            dialog_members.c.muted,
        )
        .select_from(joined)
        .where(*conditions)
        .order_by(activity.desc(), dialogs.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return int(total), list(await conn.execute(query))


async def member_map(
    conn: AsyncConnection, dialog_ids: list[str]
) -> dict[str, list[tuple[int, str]]]:
    """dialog id -> [(user id, role)] in joining order."""
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    if not dialog_ids:
        return out
    query = (
        select(dialog_members.c.dialog_id, dialog_members.c.user_id, dialog_members.c.role)
        .where(dialog_members.c.dialog_id.in_(dialog_ids))
        .order_by(dialog_members.c.joined_ms, dialog_members.c.user_id)
    )
    for row in await conn.execute(query):
        out[row.dialog_id].append((row.user_id, row.role))
    return out


async def pinned_map(conn: AsyncConnection, dialog_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    if not dialog_ids:
        return out
    query = (
        select(pinned_messages.c.dialog_id, pinned_messages.c.message_id)
        .where(pinned_messages.c.dialog_id.in_(dialog_ids))
        .order_by(pinned_messages.c.pinned_ms)
    )
    for row in await conn.execute(query):
        out[row.dialog_id].append(row.message_id)
    return out


async def pin_messages(
    conn: AsyncConnection, dialog_id: str, message_ids: list[str], user_id: int, now_ms: int
) -> None:
    existing = set((await pinned_map(conn, [dialog_id]))[dialog_id])
    rows = [
        {"dialog_id": dialog_id, "message_id": m, "pinned_ms": now_ms, "pinned_by": user_id}
        for m in dict.fromkeys(message_ids)
        if m not in existing
    ]
    if rows:
        await conn.execute(insert(pinned_messages), rows)


async def unpin_messages(conn: AsyncConnection, dialog_id: str, message_ids: list[str]) -> None:
    await conn.execute(
        delete(pinned_messages).where(
            pinned_messages.c.dialog_id == dialog_id,
            pinned_messages.c.message_id.in_(message_ids),
        )
    )


#: Unread counts saturate here per dialog: past it, a client shows "10000+".
UNREAD_CAP = 10_000


async def unread_counts(
    conn: AsyncConnection, user_id: int, dialog_ids: list[str] | None = None
) -> dict[str, int]:
    """Unread messages per dialog for one user: others' messages after the read marker.

    Uses the (dialog_id, seq) index: each dialog costs a range scan of its unread
    tail, not of its history.
    """
    dm = dialog_members
    # A correlated, capped count per dialog, walking (dialog_id, seq) upwards from the
    # member's own marker: ORDER BY + LIMIT keeps every planner on that index (without
    # them PostgreSQL may scan a big dialog whole). read_seq >= cleared_seq always
    # holds (hiding a dialog also reads it), so one bound suffices.
    tail = (
        select(messages.c.seq)
        .where(
            messages.c.dialog_id == dm.c.dialog_id,
            messages.c.seq > dm.c.read_seq,
            messages.c.sender_id != user_id,
            messages.c.deleted.is_(False),
        )
        .order_by(messages.c.seq)
        .limit(UNREAD_CAP)
        .correlate(dm)
        .subquery()
    )
    unread = select(func.count()).select_from(tail).scalar_subquery()
    conditions = [dm.c.user_id == user_id, dm.c.hidden.is_(False)]
    if dialog_ids is not None:
        if not dialog_ids:
            return {}
        conditions.append(dm.c.dialog_id.in_(dialog_ids))
    query = select(dm.c.dialog_id, unread).where(*conditions)
    return {row[0]: int(row[1]) for row in await conn.execute(query) if row[1]}


async def app_user_ids(conn: AsyncConnection, app_id: int) -> list[int]:
    return [r[0] for r in await conn.execute(select(users.c.id).where(users.c.app_id == app_id))]


async def broadcast_dialog_ids(conn: AsyncConnection, app_id: int) -> list[str]:
    query = select(dialogs.c.id, dialogs.c.last_seq).where(
        dialogs.c.app_id == app_id, dialogs.c.type == "broadcast"
    )
    return [r[0] for r in await conn.execute(query)]


async def list_behind(conn: AsyncConnection, app_id: int, user_id: int) -> list[BehindRow]:
    """The user's dialogs with messages after every one of the member's markers.

    Rows of ``dialog_id``, ``type``, ``last_seq`` and ``floor``, the highest of the
    delivered, read and cleared markers: what the user's clients have not been
    handed starts after it. One pass over the user's memberships
    (``ix_dialog_members_user``), each joined to its dialog by key.
    """
    dm = dialog_members
    floor = case(
        (
            and_(dm.c.delivered_seq >= dm.c.read_seq, dm.c.delivered_seq >= dm.c.cleared_seq),
            dm.c.delivered_seq,
        ),
        (dm.c.read_seq >= dm.c.cleared_seq, dm.c.read_seq),
        else_=dm.c.cleared_seq,
    )
    query = (
        select(dm.c.dialog_id, dialogs.c.type, dialogs.c.last_seq, floor.label("floor"))
        .join(dialogs, dialogs.c.id == dm.c.dialog_id)
        .where(
            dm.c.user_id == user_id,
            dm.c.app_id == app_id,
            dialogs.c.last_seq > dm.c.delivered_seq,
            dialogs.c.last_seq > dm.c.read_seq,
            dialogs.c.last_seq > dm.c.cleared_seq,
        )
    )
    return list(await conn.execute(query))


# -- list queries ----------------------------------------------------------------

#: The fields a dialog list may filter and sort on, by their domain names.
DIALOG_LIST_FIELDS = {
    "id": dialogs.c.id,
    "type": dialogs.c.type,
    "name": dialogs.c.name,
    "owner_id": dialogs.c.owner_id,
    "last_message_ms": dialogs.c.last_message_ms,
    "created_ms": dialogs.c.created_ms,
    "updated_ms": dialogs.c.updated_ms,
}


def _user_dialogs_where(
    app_id: int, user_id: int, query: ListQuery
) -> tuple[Join, list[ColumnElement[bool]]]:
    joined = dialogs.join(
        dialog_members,
        and_(dialog_members.c.dialog_id == dialogs.c.id, dialog_members.c.user_id == user_id),
    )
    conditions = [dialogs.c.app_id == app_id, dialog_members.c.hidden.is_(False)]
    for cond in query.conditions:
        assert isinstance(cond.field, str), "dialogs have no extra fields"
        conditions.append(condition_sql(DIALOG_LIST_FIELDS[cond.field], cond))
    return joined, conditions


async def count_user_dialogs(
    conn: AsyncConnection, app_id: int, user_id: int, query: ListQuery
) -> int:
    """How many of the user's visible dialogs meet every condition (the page is ignored)."""
    joined, conditions = _user_dialogs_where(app_id, user_id, query)
    count = select(func.count()).select_from(joined).where(*conditions)
    return int((await conn.execute(count)).scalar_one())


async def find_user_dialogs(
    conn: AsyncConnection, app_id: int, user_id: int, query: ListQuery
) -> list[DialogListRow]:
    """One page of the user's visible dialogs that meet every condition, sorted in SQL
    (most recent activity first without a sort), with the member's own columns."""
    joined, conditions = _user_dialogs_where(app_id, user_id, query)
    if query.sort is None:
        activity = func.coalesce(dialogs.c.last_message_ms, dialogs.c.created_ms)
        order: list[ColumnElement[Any]] = [activity.desc(), dialogs.c.id.desc()]
    else:
        order = order_sql(DIALOG_LIST_FIELDS[query.sort.field], query.sort, dialogs.c.id)
    page = (
        select(
            dialogs,
            dialog_members.c.read_seq,
            dialog_members.c.cleared_seq,
            dialog_members.c.muted,
        )
        .select_from(joined)
        .where(*conditions)
        .order_by(*order)
        .limit(query.limit)
        .offset(query.offset)
    )
    return list(await conn.execute(page))
