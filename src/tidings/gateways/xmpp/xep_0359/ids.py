"""The ids a client gave its messages, for the receipts and markers that come back.

A standard client names a message with its own ``id`` (and ``origin-id``); the
recipient sees that id, and its receipts (XEP-0184) and markers (XEP-0333) name
it. The core stores the client's id with the message (``client_id``) and maps it
back on the way in; on the way out, a delivered/read event names the core's id,
and this small per-node memory turns it into what the sender's client knows,
without a database read per event. What it does not remember (the sender wrote
from another node, or long ago) falls back to the core's id and no receipt.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

#: Messages remembered per node; the oldest are forgotten first.
CAPACITY = 50_000


@dataclass(frozen=True, slots=True)
class Sent:
    """What the sender's client knows about a message it sent."""

    sender_id: int
    client_id: str | None
    receipt_requested: bool
    standard: bool
    group: bool


class SentIds:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, Sent] = OrderedDict()

    def remember(self, message_id: str, sent: Sent) -> None:
        self._items[message_id] = sent
        self._items.move_to_end(message_id)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def get(self, message_id: str) -> Sent | None:
        return self._items.get(message_id)
