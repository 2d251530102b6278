"""Requests for confirmation sent after a delay, one per session for all it was sent.

With ``TIDINGS_XMPP_ACK_DELAY_MS`` above 0 a message goes out alone and its
session is marked as owing its client a request (``<r/>`` or a ping, see
:mod:`confirmations`); one timer per gateway, not per session, sends the requests
of every such session when the delay is over. In a big room each member then
answers once per delay instead of once per message, at the price of the delivered
marker moving that much later, and of up to that much being sent again to the
user's next session when a connection dies.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Owing(Protocol):
    def request_confirmation(self) -> None:
        """Write a request covering everything sent so far (no-op when gone)."""


class AckTimer:
    """The sessions owing a request, and the one timer that sends them."""

    def __init__(self, delay_ms: int) -> None:
        self.delay = delay_ms / 1000
        self._owing: set[Owing] = set()
        self._handle: asyncio.TimerHandle | None = None

    def owe(self, session: Owing) -> None:
        self._owing.add(session)
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(self.delay, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._owing.clear()

    def _fire(self) -> None:
        self._handle = None
        owing, self._owing = self._owing, set()
        for session in owing:
            session.request_confirmation()
