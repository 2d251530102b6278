"""Canned replies: an app's ready answers, offered in the reply composer.

They are the app's ``canned_replies`` config key (``tidings app update`` merges it):
a list of ``{"title": ..., "body": ...}`` objects (a bare string is its own title).
``{name}`` in a body becomes the customer's name; nothing else is a placeholder, so
other braces stay as written. Malformed entries are skipped, not fatal: the config
is typed by people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The most canned replies the composer offers, and the longest title it shows.
MAX_CANNED = 50
MAX_TITLE = 80


@dataclass(frozen=True, slots=True)
class CannedReply:
    title: str
    body: str


def canned_replies(
    config: dict[str, Any] | None, customer: str, max_length: int
) -> list[CannedReply]:
    """The app's canned replies with ``{name}`` filled in for ``customer``."""
    entries = (config or {}).get("canned_replies")
    if not isinstance(entries, list):
        return []
    out = []
    for entry in entries[:MAX_CANNED]:
        if isinstance(entry, str):
            title, body = entry, entry
        elif isinstance(entry, dict) and isinstance(entry.get("body"), str):
            body = entry["body"]
            named = entry.get("title")
            title = named if isinstance(named, str) else body
        else:
            continue
        body = body.replace("{name}", customer)[:max_length]
        title = " ".join(str(title).split())[:MAX_TITLE]
        if body.strip() and title:
            out.append(CannedReply(title=title, body=body))
    return out
