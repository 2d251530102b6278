"""How events cross Redis: numbered by their publisher, so a retry is heard once.

The sender publishes a batch as one pipeline. When the connection breaks in the
middle, it cannot know how much of the batch Redis executed, so it publishes the
whole batch again; numbering every message per publisher (``origin``, a random
id per process, and ``n``, counting up from 1) lets each receiver drop the copies
it has seen. A notice (``gap_since_ms`` instead of ``event``) tells every node
that the publisher had to drop events from that time on.

A bare event object (no envelope) is still accepted, unnumbered, so a node of an
older version or a script publishing on the channel is heard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tidings.domain.events import Event


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message off the channel: an event, or a notice of dropped events."""

    origin: str | None
    n: int
    event: Event | None = None
    gap_since_ms: int | None = None


def wrap_event(origin: str, n: int, event_json: str) -> str:
    """The wire text of an encoded event (``event_json`` is inserted, not re-encoded)."""
    return f'{{"origin":{json.dumps(origin)},"n":{n},"event":{event_json}}}'


def wrap_gap(origin: str, n: int, since_ms: int) -> str:
    return json.dumps({"origin": origin, "n": n, "gap_since_ms": since_ms}, separators=(",", ":"))


def unwrap(data: str | bytes) -> Envelope:
    """Parse one channel message; raises ``ValueError``/``KeyError``/``TypeError`` if bad."""
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("a bus message is a JSON object")
    if "origin" not in message:
        return Envelope(None, 0, event=Event.from_dict(message))
    origin, n = message["origin"], message["n"]
    if not isinstance(origin, str) or not isinstance(n, int):
        raise ValueError("origin is a string and n an integer")
    if "event" in message:
        return Envelope(origin, n, event=Event.from_dict(message["event"]))
    since = message["gap_since_ms"]
    if not isinstance(since, int):
        raise ValueError("gap_since_ms is an integer")
    return Envelope(origin, n, gap_since_ms=since)


class Numbering:
    """The newest ``n`` heard from each publisher: anything at or below it is a repeat."""

    def __init__(self) -> None:
        self._newest: dict[str, int] = {}

    def is_new(self, envelope: Envelope) -> bool:
        if envelope.origin is None:
            return True  # unnumbered: nothing to compare with
        if envelope.n <= self._newest.get(envelope.origin, 0):
            return False
        self._newest[envelope.origin] = envelope.n
        return True
