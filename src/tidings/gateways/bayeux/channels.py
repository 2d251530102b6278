"""Channel names and globbing (bayeux-server §3.2).

Segments are ``A-Z a-z 0-9 - _ ! ~ ( ) $ @`` plus ``.``; a subscription may end
in ``*`` (one segment) or ``**`` (one or more). ``/meta/**`` is the protocol's
own; ``/service/**`` is request/response and never broadcast; ``/_…`` channels
(GMS ``/_genesys``) are the server's: it delivers there to the sessions it picks,
clients may subscribe to one by name but never publish. Those three namespaces are
*reserved*: no wildcard subscription may reach into them, so ``/**`` and ``/*``
are refused rather than quietly matching a channel the caller may not read.
"""

from __future__ import annotations

import re

MAX_LENGTH = 255
_SEGMENT = re.compile(r"^[A-Za-z0-9\-_!~()$@.]+$")


def _segments(name: str) -> list[str] | None:
    if not name.startswith("/") or len(name) > MAX_LENGTH:
        return None
    parts = name[1:].split("/")
    return parts if parts and all(parts) else None


def is_valid(name: str) -> bool:
    """A concrete channel (no wildcard): what a publish may name."""
    parts = _segments(name)
    return parts is not None and all(_SEGMENT.match(p) for p in parts)


def is_valid_pattern(name: str) -> bool:
    """A subscription: a channel, or one ending in a ``*``/``**`` segment."""
    parts = _segments(name)
    if parts is None:
        return False
    head, last = parts[:-1], parts[-1]
    if last in ("*", "**"):
        return all(_SEGMENT.match(p) for p in head)
    return all(_SEGMENT.match(p) for p in parts)


def matches(pattern: str, channel: str) -> bool:
    """``/a/*`` matches ``/a/b`` only; ``/a/**`` matches ``/a/b`` and ``/a/b/c``; neither ``/a``."""
    if pattern == channel:
        return True
    if pattern.endswith("/**"):
        prefix = pattern[:-2]
        return channel.startswith(prefix) and len(channel) > len(prefix)
    if pattern.endswith("/*"):
        prefix = pattern[:-1]
        rest = channel[len(prefix) :]
        return channel.startswith(prefix) and bool(rest) and "/" not in rest
    return False


def is_meta(name: str) -> bool:
    return name == "/meta" or name.startswith("/meta/")


def is_service(name: str) -> bool:
    return name == "/service" or name.startswith("/service/")


def is_server_owned(name: str) -> bool:
    """``/_…``: only the server delivers there (GMS ``/_genesys``)."""
    return name.startswith("/_")


def is_reserved(name: str) -> bool:
    return is_meta(name) or is_service(name) or is_server_owned(name)


def covers_reserved(pattern: str) -> bool:
    """A wildcard that could match a reserved channel: ``/*``, ``/**``, ``/meta/**``,
    ``/service/chatV2/*``, ``/_genesys/**``… (a valid pattern is assumed)."""
    if not pattern.endswith("*"):
        return False
    first = pattern[1:].split("/", 1)
    return len(first) == 1 or is_reserved("/" + first[0])
