"""Time-ordered 24-hex ids, the ObjectId shape every gateway can use unchanged.

Layout (12 bytes): 4-byte big-endian unix seconds, 5 random bytes chosen once per
process, 3-byte counter. Sorting ids as strings sorts them by creation second.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

_PROCESS_RANDOM = os.urandom(5)
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_lock = threading.Lock()
_ID_RE = re.compile(r"^[0-9a-f]{24}$")


def new_id(now: float | None = None) -> str:
    """A fresh id; ``now`` (unix seconds) lets tests pin the timestamp."""
    seconds = int(time.time() if now is None else now) & 0xFFFFFFFF
    with _lock:
        count = next(_counter) & 0xFFFFFF
    raw = seconds.to_bytes(4, "big") + _PROCESS_RANDOM + count.to_bytes(3, "big")
    return raw.hex()


def is_valid_id(value: object) -> bool:
    """True for 24 lowercase hex characters."""
    return isinstance(value, str) and bool(_ID_RE.match(value))


def id_timestamp(value: str) -> int:
    """Unix seconds encoded in an id."""
    return int(value[:8], 16)
