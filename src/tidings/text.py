"""Text that no database will store: NUL characters and lone surrogates.

PostgreSQL refuses NUL in text and neither database can encode a lone UTF-16
surrogate as UTF-8. Gateways refuse such input up front with a clear 400-style
error instead of letting it reach the store as a server error. Pure stdlib.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MAX_DEPTH = 32


def has_unstorable_text(value: Any, _depth: int = 0) -> bool:
    """True if any string in ``value`` (nested lists/dicts, keys too) cannot be stored."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if _depth > _MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return any(
            has_unstorable_text(k, _depth + 1) or has_unstorable_text(v, _depth + 1)
            for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return any(has_unstorable_text(v, _depth + 1) for v in value)
    return False
