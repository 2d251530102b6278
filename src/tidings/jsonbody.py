"""The one reader for JSON bodies and frames: a size limit, a depth limit, clear errors.

Every gateway that takes JSON from a client (REST bodies, ConnectyCube and GMS
parameters, service-desk requests, Bayeux messages, native WebSocket frames)
parses it here, so hostile input fails the same way everywhere:

- ``json.loads`` recurses once per nesting level and raises ``RecursionError``
  (not a ``ValueError``) near Python's recursion limit, so 100,000 ``[`` used to
  escape every ``except ValueError`` and answer 500. Here it is :class:`TooDeep`.
- Below that, anything nested deeper than :data:`MAX_DEPTH` is refused as well:
  no client of a chat API needs more, and every consumer downstream (storage,
  fan-out, other protocols' encoders) then only ever sees shallow values.
- ``NaN`` and ``Infinity`` are not JSON (RFC 8259 §6) and no database stores them
  in a JSON column: refused as malformed.

Errors are ``ValueError`` subclasses carrying a stable ``code``, a message and the
HTTP ``status`` that fits (400, or 413 for size), which each gateway puts into
its own error shape. Pure standard library: sans-I/O protocol modules use it.
"""

from __future__ import annotations

import json
from typing import Any

#: Deepest nesting of arrays and objects accepted (the top-level value is depth 1).
MAX_DEPTH = 64
#: Size limit when the caller names none; HTTP bodies are also capped by the server.
MAX_BYTES = 1 << 20

__all__ = ["MAX_BYTES", "MAX_DEPTH", "JsonError", "MalformedJson", "TooDeep", "TooLarge", "loads"]


class JsonError(ValueError):
    """Input that is not acceptable JSON; ``code`` and ``status`` say why."""

    code = "malformed_json"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedJson(JsonError):
    code = "malformed_json"


class TooDeep(JsonError):
    code = "too_deep"


class TooLarge(JsonError):
    code = "too_large"
    status = 413


def loads(
    data: bytes | bytearray | str,
    *,
    max_bytes: int | None = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """The value ``data`` holds, or a :class:`JsonError`.

    ``max_bytes=None`` skips the size check where the transport has already
    capped the input (the HTTP body limit, the WebSocket frame limit).
    """
    if max_bytes is not None and _size_over(data, max_bytes):
        raise TooLarge(f"JSON input is at most {max_bytes} bytes")
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise TooDeep(f"JSON may nest at most {max_depth} levels") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError, bad UTF-8, huge integers
        raise MalformedJson("the input is not valid JSON") from exc
    if _deeper_than(value, max_depth):
        raise TooDeep(f"JSON may nest at most {max_depth} levels")
    return value


def _size_over(data: bytes | bytearray | str, limit: int) -> bool:
    if len(data) > limit:
        return True
    # A str has at most 4 UTF-8 bytes per character: encode only when it could matter.
    if isinstance(data, str) and len(data) * 4 > limit:
        return len(data.encode("utf-8", "surrogatepass")) > limit
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _deeper_than(value: Any, limit: int) -> bool:
    """True if arrays and objects nest more than ``limit`` levels; no recursion."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False
