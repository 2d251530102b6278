"""What live sessions missed while the bus was away, read back from the store.

The bus carries events; the store has every committed message with its
per-dialog ``seq``. When a node's bus connection drops and comes back (or a
publisher had to drop events), the bus reports from when events may be missing
(``Bus.on_resume``). Gateways then call :func:`missed_messages` for the users
they hold connections of, and hand each connection the ``MessageCreated``
events it has not had, remembering seqs already handed over
(``tidings.fanout.SentSeqs``) so that nothing arrives twice.

Recipients are rebuilt as a send computes them (members, minus those who block
the sender, and everyone of the app for a broadcast dialog), but only among the
users asked about. Edits, deletions, markers and typing are not replayed: a
client sees them in history or through a ``resync``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tidings.domain.events import MessageCreated
from tidings.store import catch_up as store

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: Messages created this long before the reported gap are read back too: a
#: message's ``created_ms`` is taken before its transaction commits and its
#: event is published, and nodes' clocks differ a little.
MARGIN_MS = 15_000


@dataclass(frozen=True, slots=True)
class Missed:
    """``MessageCreated`` events by dialog and seq; ``complete`` is False when more
    than the limit was found (the caller should tell its clients to resync)."""

    events: list[MessageCreated]
    complete: bool


async def missed_messages(
    core: Core, users: Iterable[tuple[int, int]], since_ms: int, *, limit: int
) -> Missed:
    """Events for every stored message created from ``since_ms - MARGIN_MS`` on in
    a dialog of one of ``users`` (``(app_id, user_id)`` pairs), at most ``limit``."""
    pairs = set(users)
    if not pairs:
        return Missed([], True)
    user_ids = {user_id for _, user_id in pairs}
    floor = since_ms - MARGIN_MS
    async with core.db.read() as conn:
        members: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for row in await store.active_memberships(conn, user_ids, floor):
            members[row.dialog_id].append((row.user_id, row.cleared_seq))
        broadcasts = set(
            await store.active_broadcasts(conn, {app_id for app_id, _ in pairs}, floor)
        )
        found = await store.messages_created_since(conn, [*members, *broadcasts], floor, limit + 1)
        blocked = await store.blocks_by(conn, user_ids) if found else set()
    events = []
    for message in found[:limit]:
        data = message.to_dict()
        # As the live event has it: the sender has read and received their own message.
        data["read_ids"] = data["delivered_ids"] = [message.sender_id]
        if message.dialog_id in broadcasts:
            recipients: tuple[int, ...] = ()
        else:
            recipients = tuple(
                user_id
                for user_id, cleared_seq in members[message.dialog_id]
                if (message.seq or 0) > cleared_seq and (user_id, message.sender_id) not in blocked
            )
            if not recipients:
                continue
        events.append(
            MessageCreated(
                app_id=message.app_id,
                recipients=recipients,
                everyone=message.dialog_id in broadcasts,
                dialog_id=message.dialog_id,
                message=data,
            )
        )
    return Missed(events, len(found) <= limit)
