"""Delivered markers from live delivery, written in batches (group commit).

When a gateway hands a message to a connected client it moves that member's
delivered marker. Done one transaction per recipient before the stanza goes out,
a message to a 1,000-member room held 1,000 write transactions (seconds on
SQLite's single writer) and every 1-1 message paid a second transaction.

Here a gateway only *notes* the delivery and writes the stanza at once. One
writer task takes everything noted so far and writes it in a single
transaction: per dialog and message, one ``UPDATE … WHERE user_id IN (…)``.
While that transaction runs, new notes pile up for the next one, so the batch
grows with the load and costs nothing extra when idle (the classic group commit).

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

from tidings.core.events import MessagesDelivered
from tidings.core.receipts import ANNOUNCE_TO_ALL
from tidings.store import dialogs as dialogs_store

if TYPE_CHECKING:
    from tidings.core.hub import Core

log = logging.getLogger("tidings.core.receipts")


@dataclass(frozen=True, slots=True)
class _Noted:
    seq: int
    message_id: str
    sender_id: int
    #: Who hears about the delivery; None: nobody (recorded only).
    audience: tuple[int, ...] | None


class DeliveredMarks:
    """Notes deliveries without waiting and writes them in batches, oldest first."""

    def __init__(self, core: Core) -> None:
        self.core = core
        # (app_id, dialog_id) -> user_id -> newest message noted for that member
        self._pending: dict[tuple[int, str], dict[int, _Noted]] = {}
        self._writer: asyncio.Task[None] | None = None

    def note(
        self,
        app_id: int,
        user_id: int,
        message: dict[str, Any],
        audience: tuple[int, ...] | None = None,
    ) -> None:
        """``user_id`` was handed ``message`` (a ``Message.to_dict()`` snapshot).

        ``audience``: who is told about the delivery, the recipients of the message
        in a small dialog (:func:`audience_for`); None records it without telling.
        """
        seq = message.get("seq")
        if not seq:
            return  # self-destroying messages are never stored, so there is no marker
        per_dialog = self._pending.setdefault((app_id, message["dialog_id"]), {})
        known = per_dialog.get(user_id)
        if known is None or known.seq < seq:
            per_dialog[user_id] = _Noted(seq, message["id"], message["sender_id"], audience)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())

    async def flush(self) -> None:
        """Wait until everything noted so far is written (shutdown, tests)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write_all(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    events = await self._write(batch)
                except Exception:
                    log.exception("could not write %d delivered markers", len(batch))
                    continue
                await self.core.publish(*events)
        finally:
            self._writer = None

    async def _write(self, batch: dict[tuple[int, str], dict[int, _Noted]]) -> list[Any]:
        events: list[Any] = []
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
                for user_id, noted in moved:
                    if noted.audience is None:
                        continue  # a big dialog: recorded, not announced (see audience_for)
                    events.append(
                        MessagesDelivered(
                            app_id=app_id,
                            recipients=noted.audience,
                            dialog_id=dialog_id,
                            user_id=user_id,
                            seq=noted.seq,
                            message_id=noted.message_id,
                        )
                    )
        return events


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
