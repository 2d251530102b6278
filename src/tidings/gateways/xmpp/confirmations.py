"""Which messages a client has confirmed reading (XEP-0198 §4, XEP-0199 §4.2); pure.

A stanza written to a socket is not a stanza the client has: when the connection
is already dead the write still succeeds, into a kernel buffer nobody will read.
So a message counts as delivered only once the client answers a request that was
written *after* it, in the same stream:

* with stream management on, ``<r/>`` and the client's ``<a h='N'/>``: it has
  handled the first N stanzas since ``<enable/>``;
* without it, a ping ``<iq type='get'>``: a client answers iqs in stream order, so
  its answer (a result or an error, either will do: RFC 6120 §8.2.3 obliges one)
  says it has read everything written before the ping.

By default the session writes the request together with each message (one
write, one TLS record), so the client's answer confirms exactly what it read;
``TIDINGS_XMPP_ACK_DELAY_MS`` lets one request cover a while of messages instead.
This class only keeps the books: what was written, under which XEP-0198 count,
what a request already covers and which pings are out; the items are whatever the
session needs to move the delivered marker.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

#: XEP-0198 counters wrap at 2**32.
MOD = 2**32
#: Messages kept unconfirmed per session; the oldest beyond this are forgotten (they
#: stay undelivered in the store, so the user's next session gets them again).
MAX_PENDING = 5000
#: Pings whose answer is awaited; an answer to a later one confirms as much.
MAX_PINGS = 64
#: Ping ids start with this, so answers to other iqs the server sent are told apart.
PING_PREFIX = "dlv-"


def _covered(position: int, h: int) -> bool:
    """Whether ``h`` acknowledges the stanza counted ``position`` (mod 2**32)."""
    return (h - position) % MOD < MOD // 2


class Confirmations(Generic[T]):
    """Messages written to one session and not yet confirmed, oldest first."""

    __slots__ = ("_pending", "_pinged", "_pings", "_requested", "_written", "forgotten")

    def __init__(self) -> None:
        # (number of the message, its XEP-0198 count or None before <enable/>, item)
        self._pending: deque[tuple[int, int | None, T]] = deque()
        self._pings: dict[str, int] = {}  # ping id -> messages written before it
        self._written = 0
        self._requested = 0  # messages a request already went out after
        self._pinged = 0
        #: Items dropped unconfirmed because too many were pending (for the logs).
        self.forgotten = 0

    def __len__(self) -> int:
        return len(self._pending)

    def wrote(self, item: T, sm_count: int | None = None) -> None:
        """A message went out; ``sm_count`` is its XEP-0198 number when SM is on."""
        self._written += 1
        self._pending.append((self._written, sm_count, item))
        if len(self._pending) > MAX_PENDING:
            self._pending.popleft()
            self.forgotten += 1

    @property
    def unrequested(self) -> bool:
        """Whether messages went out after the last request for confirmation."""
        return self._written > self._requested

    def requested(self) -> None:
        """An XEP-0198 ``<r/>`` went out after everything written so far."""
        self._requested = self._written

    def ping(self) -> str:
        """The id of a ping that, once answered, confirms everything written so far."""
        self._requested = self._written
        self._pinged += 1
        ping_id = f"{PING_PREFIX}{self._pinged}"
        self._pings[ping_id] = self._written
        while len(self._pings) > MAX_PINGS:
            del self._pings[next(iter(self._pings))]
        return ping_id

    def answered(self, iq_id: str) -> list[T]:
        """The client answered iq ``iq_id``: what that confirms (nothing if not our ping)."""
        upto = self._pings.pop(iq_id, None)
        if upto is None:
            return []
        for older in [i for i, n in self._pings.items() if n <= upto]:
            del self._pings[older]
        out: list[T] = []
        while self._pending and self._pending[0][0] <= upto:
            out.append(self._pending.popleft()[2])
        return out

    def acked(self, h: int) -> list[T]:
        """XEP-0198 ``<a h='h'/>``: what it confirms.

        Messages written before ``<enable/>`` have no count; they preceded every
        counted stanza in the stream, so any ``<a/>`` confirms them.
        """
        out: list[T] = []
        while self._pending:
            _number, sm_count, item = self._pending[0]
            if sm_count is not None and not _covered(sm_count, h):
                break
            self._pending.popleft()
            out.append(item)
        return out

    def rest(self) -> list[T]:
        """Everything still unconfirmed, which is now forgotten."""
        out = [item for _n, _c, item in self._pending]
        self._pending.clear()
        self._pings.clear()
        return out
