"""Delivered markers from live delivery, written in batches (group commit).

A member's delivered marker moves when one of their clients confirms it has a
message (ARCHITECTURE: "Delivered means the client has it"): an XEP-0198 ack, a
ping answered after the message, a receipt. Done one transaction per recipient,
a message to a 1,000-member room held 1,000 write transactions (seconds on
SQLite's single writer) and every 1-1 message paid a second transaction.

Here a gateway only *notes* the confirmation. One writer task takes everything
noted so far and writes it in a single transaction: per dialog and message, one
``UPDATE … WHERE user_id IN (…)``. While that transaction runs, new notes pile up
for the next one, so the batch grows with the load and costs nothing extra when
idle (the classic group commit).

Markers only move forward, so keeping the newest noted message per member is
enough, and a batch that fails (a member left, the database blipped) loses
nothing a later delivery or read would not restore: a marker is a summary, the
messages themselves are already stored. The events (``MessagesDelivered``) are
published after the commit, as for a marker set through the API.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.receipts import ANNOUNCE_TO_ALL
from tidings.domain.events import MessagesDelivered
from tidings.store import dialogs as dialogs_store

if TYPE_CHECKING:
    from tidings.core.hub import Core

log = logging.getLogger("tidings.core.receipts")


class _LookUp:
    """The audience of a delivery the gateway could not name (a message read back
    from the store has no recipient list): looked up when the batch is written."""

    def __repr__(self) -> str:
        return "LOOK_UP"


#: Pass as ``audience`` to have the writer find it as :func:`audience_for` would.
LOOK_UP = _LookUp()

Audience = tuple[int, ...] | None | _LookUp


@dataclass(frozen=True, slots=True)
class _Noted:
    seq: int
    message_id: str
    sender_id: int
    #: Who hears about the delivery; None: nobody (recorded only); LOOK_UP: find out.
    audience: Audience


class DeliveredMarks:
    """Notes deliveries without waiting and writes them in batches, oldest first."""

    def __init__(self, core: Core) -> None:
        self.core = core
        # (app_id, dialog_id) -> user_id -> newest message noted for that member
        self._pending: dict[tuple[int, str], dict[int, _Noted]] = {}
        self._writer: asyncio.Task[None] | None = None
        # Notes taken so far, and how many of them committed batches cover: a flush
        # waits for its own notes, not for a writer that busy traffic keeps running.
        self._noted = 0
        self._written = 0
        self._waiters: list[asyncio.Future[None]] = []

    def note(
        self,
        app_id: int,
        user_id: int,
        message: dict[str, Any],
        audience: Audience = None,
    ) -> None:
        """A client of ``user_id`` has ``message`` (a ``Message.to_dict()`` snapshot).

        ``audience``: who is told about the delivery, the recipients of the message
        in a small dialog (:func:`audience_for`); None records it without telling;
        :data:`LOOK_UP` has the writer work it out from the dialog's members.
        """
        seq = message.get("seq")
        if not seq:
            return  # self-destroying messages are never stored, so there is no marker
        self._noted += 1
        per_dialog = self._pending.setdefault((app_id, message["dialog_id"]), {})
        known = per_dialog.get(user_id)
        if known is None or known.seq < seq:
            per_dialog[user_id] = _Noted(seq, message["id"], message["sender_id"], audience)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())

    async def flush(self) -> None:
        """Wait until everything noted so far is written (offline delivery, shutdown)."""
        target = self._noted
        while self._writer is not None and self._written < target:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    async def _write_all(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                covered = self._noted
                try:
                    await self.core.publish(*await self._write(batch))
                except Exception:
                    log.exception("could not write %d delivered markers", len(batch))
                self._written = covered
                self._wake()
        finally:
            self._writer = None
            self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _write(
        self, batch: dict[tuple[int, str], dict[int, _Noted]]
    ) -> list[MessagesDelivered]:
        events: list[MessagesDelivered] = []
        async with self.core.db.transaction() as conn:
            for (app_id, dialog_id), members in batch.items():
                by_message: dict[_Noted, list[int]] = defaultdict(list)
                for user_id, noted in members.items():
                    by_message[noted].append(user_id)
                moved: list[tuple[int, _Noted]] = []
                for noted, user_ids in by_message.items():
                    for user_id in await dialogs_store.advance_delivered(
                        conn, dialog_id, user_ids, noted.seq
                    ):
                        moved.append((user_id, noted))
                looked_up: tuple[int, ...] | None = None
                if any(noted.audience is LOOK_UP for _, noted in moved):
                    looked_up = await _members_audience(conn, app_id, dialog_id)
                for user_id, noted in moved:
                    audience = looked_up if noted.audience is LOOK_UP else noted.audience
                    if audience is None or isinstance(audience, _LookUp):
                        continue  # a big dialog: recorded, not announced (see audience_for)
                    events.append(
                        MessagesDelivered(
                            app_id=app_id,
                            recipients=audience,
                            dialog_id=dialog_id,
                            user_id=user_id,
                            seq=noted.seq,
                            message_id=noted.message_id,
                        )
                    )
        return events


async def _members_audience(
    conn: AsyncConnection, app_id: int, dialog_id: str
) -> tuple[int, ...] | None:
    """:func:`audience_for` with the dialog's members as the recipients."""
    dialog = await dialogs_store.get_dialog(conn, app_id, dialog_id)
    if dialog is None or dialog.type not in ("private", "group"):
        return None
    if await dialogs_store.count_members(conn, dialog_id) > ANNOUNCE_TO_ALL:
        return None
    return tuple(await dialogs_store.list_member_ids(conn, dialog_id))


def audience_for(dialog_type: str, recipients: tuple[int, ...]) -> tuple[int, ...] | None:
    """Who hears that a message of a ``dialog_type`` dialog was delivered: everyone it
    went to in a small private or group dialog, as for markers set through the API.

    In bigger dialogs (and public or broadcast ones) automatic delivery is recorded
    (``delivered_ids``, unread counts) but not announced: a message to a 1,000-member
    room would otherwise send its author 1,000 marker stanzas. Markers a client sets
    itself are still announced (``ReceiptService``)."""
    if dialog_type in ("private", "group") and len(recipients) <= ANNOUNCE_TO_ALL:
        return recipients
    return None
