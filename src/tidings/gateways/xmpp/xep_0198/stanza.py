"""XEP-0198 §4-§5: counters, the unacked queue and the resume decision; pure.

The server counts what it sent after ``<enable/>`` and keeps each stanza until the
client's ``h`` covers it. On ``<resume h=N/>`` everything after N is sent again,
in order, and only that: so nothing is lost and nothing arrives twice.
"""

from __future__ import annotations

import secrets
from collections import deque
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E

NS = "urn:xmpp:sm:3"
MOD = 2**32
#: Stanzas kept for a detached session; beyond this it cannot be resumed safely.
MAX_UNACKED = 5000


class StreamManagement:
    """One bound session's XEP-0198 state, which outlives the socket when resumable."""

    def __init__(self, resumable: bool) -> None:
        self.id = secrets.token_hex(16) if resumable else ""
        self.resumable = resumable
        self.handled = 0  # stanzas received from the client
        self.sent = 0  # stanzas sent to the client
        self.unacked: deque[tuple[int, Element]] = deque()
        self.overflowed = False

    def enabled_element(self, max_seconds: int) -> Element:
        attrs = {"id": self.id, "resume": "true", "max": str(max_seconds)} if self.resumable else {}
        return E(NS, "enabled", attrs)

    def received(self) -> None:
        self.handled = (self.handled + 1) % MOD

    def sending(self, stanza: Element) -> None:
        self.sent = (self.sent + 1) % MOD
        self.unacked.append((self.sent, stanza))
        if len(self.unacked) > MAX_UNACKED:
            self.unacked.popleft()
            self.overflowed = True

    def acked(self, h: int) -> bool:
        """Drop what ``h`` covers; False if ``h`` acknowledges more than was sent."""
        if (self.sent - h) % MOD > len(self.unacked) and h != self.sent:
            return False
        while self.unacked and (h - self.unacked[0][0]) % MOD < MOD // 2:
            self.unacked.popleft()
        return True

    def resend_after(self, h: int) -> list[Element] | None:
        """The stanzas to send again on resume, or None if some were dropped."""
        if not self.acked(h) or self.overflowed:
            return None
        return [stanza for _seq, stanza in self.unacked]

    def ack_element(self) -> Element:
        return E(NS, "a", {"h": str(self.handled)})


def request() -> Element:
    """§4 ``<r/>``: the client answers with ``<a h/>``, the stanzas it has handled."""
    return E(NS, "r")
