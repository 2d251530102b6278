"""The rules for an app's canned replies, the ``canned_replies`` config key, where they
are written: the admin panel's editor and ``tidings app update --canned-replies``.

The console reads the key leniently (it skips malformed entries, since the key may
have been typed by hand); writers are strict, so what they save is what the
composer offers. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from tidings.domain.errors import InvalidInput

#: The most canned replies an app keeps, the longest title the composer's menu shows,
#: and the longest body (agents edit it before sending, within the message limit).
MAX_CANNED = 50
MAX_TITLE = 80
MAX_BODY = 2000


def check_canned_replies(entries: Any, numbers: list[int] | None = None) -> list[dict[str, str]]:
    """``entries`` as the config key stores them, ``[{"title", "body"}, ...]``, or
    :class:`InvalidInput` naming the first bad entry: by its place counted from 1, or
    by ``numbers[i]`` when the writer shows entries under other numbers."""
    if not isinstance(entries, list):
        raise InvalidInput(
            'canned replies are a list of {"title": ..., "body": ...}', field="canned_replies"
        )
    if len(entries) > MAX_CANNED:
        raise InvalidInput(
            f"at most {MAX_CANNED} canned replies (got {len(entries)})", field="canned_replies"
        )
    out: list[dict[str, str]] = []
    for i, entry in enumerate(entries):
        n = numbers[i] if numbers is not None and i < len(numbers) else i + 1
        if not isinstance(entry, dict):
            raise InvalidInput(
                f'canned reply {n} is not a {{"title": ..., "body": ...}} object',
                field="canned_replies",
            )
        title, body = entry.get("title"), entry.get("body")
        if not isinstance(title, str) or not " ".join(title.split()):
            raise InvalidInput(f"canned reply {n} needs a title", field="canned_replies")
        if not isinstance(body, str) or not body.strip():
            raise InvalidInput(f"canned reply {n} needs a text", field="canned_replies")
        title = " ".join(title.split())
        if len(title) > MAX_TITLE:
            raise InvalidInput(
                f"canned reply {n}: the title is at most {MAX_TITLE} characters",
                field="canned_replies",
            )
        body = body.strip()
        if len(body) > MAX_BODY:
            raise InvalidInput(
                f"canned reply {n}: the text is at most {MAX_BODY} characters",
                field="canned_replies",
            )
        out.append({"title": title, "body": body})
    return out
