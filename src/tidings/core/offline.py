"""Offline delivery: every stored message a user's clients have not confirmed yet.

A client that comes online (an XMPP client sending its initial presence, RFC 6121
§8.5.2.2) is handed the messages of its dialogs after the member's markers: what
arrived while the user was away, and what a session that died had been sent but
never acknowledged (the marker moves only on a client's confirmation, see
``core.delivered_marks``). However many there are: each dialog is read a page at
a time along its ``(dialog_id, seq)`` index, and the pages are merged by creation
time, so the batches come oldest first across dialogs and in ``seq`` order within
each. Messages from someone the user blocks are left out, as live delivery
leaves them out (privacy lists). Nothing here moves a marker; the client's
confirmations will.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tidings.domain.models import Actor, Message
from tidings.store import dialogs as dialogs_store
from tidings.store import messages as messages_store
from tidings.store.catch_up import blocks_by

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: Messages read per dialog and query.
PAGE = 200


@dataclass(slots=True)
class _Cursor:
    """One dialog's unread tail: the last seq read and what is left of the page."""

    dialog_id: str
    after: int
    rows: deque[Message] = field(default_factory=deque)
    done: bool = False


async def undelivered(
    core: Core, actor: Actor, *, page: int = PAGE
) -> AsyncIterator[list[Message]]:
    """Messages from others after the actor's markers, not deleted, in batches.

    A batch ends where a dialog needs its next page (the merge cannot go on
    without it), so a consumer may send each batch before the next is read.
    """
    async with core.db.read() as conn:
        behind = await dialogs_store.list_behind(conn, actor.app_id, actor.user_id)
        blocked = {them for _me, them in await blocks_by(conn, [actor.user_id])}
    cursors = [_Cursor(row.dialog_id, row.floor) for row in behind]
    heap: list[tuple[int, str, int]] = []  # (created_ms, id, cursor index)
    skip = {actor.user_id, *blocked}
    await _refill(core, skip, cursors, range(len(cursors)), heap, page)
    while heap:
        batch: list[Message] = []
        starved: list[int] = []
        while heap and not starved:
            _created, _id, index = heapq.heappop(heap)
            cursor = cursors[index]
            batch.append(cursor.rows.popleft())
            if cursor.rows:
                heapq.heappush(heap, _key(cursor.rows[0], index))
            elif not cursor.done:
                starved.append(index)  # its next message may be older than anyone's
        yield batch
        await _refill(core, skip, cursors, starved, heap, page)


async def _refill(
    core: Core,
    skip: set[int],
    cursors: list[_Cursor],
    indexes: range | list[int],
    heap: list[tuple[int, str, int]],
    page: int,
) -> None:
    """Read the next page of each cursor in ``indexes`` until it has a message to offer;
    messages from ``skip`` (the user, whoever they block) and deleted ones are passed over."""
    if not indexes:
        return
    async with core.db.read() as conn:
        for index in indexes:
            cursor = cursors[index]
            while not cursor.rows and not cursor.done:
                rows = await messages_store.list_since(conn, cursor.dialog_id, cursor.after, page)
                cursor.done = len(rows) < page
                if rows:
                    cursor.after = rows[-1].seq or cursor.after
                cursor.rows.extend(m for m in rows if m.sender_id not in skip and not m.deleted)
            if cursor.rows:
                heapq.heappush(heap, _key(cursor.rows[0], index))


def _key(message: Message, index: int) -> tuple[int, str, int]:
    return (message.created_ms, message.id, index)
