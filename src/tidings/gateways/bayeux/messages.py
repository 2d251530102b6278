"""Bayeux messages on the wire: parse a request body, serialize replies (bayeux-server §2.2, §3).

A request body is a JSON array of message objects or one bare object (GFaye
sends bare objects); form bodies carry the same JSON in ``message`` fields.
Anything else is a transport-level error (HTTP 400), never a Bayeux reply.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from tidings.jsonbody import JsonError, loads

Message = dict[str, Any]

#: Request bounds (spec §2.2, §8).
MAX_MESSAGES = 100
MAX_BODY = 1 << 20

# Error strings (spec §3.6): ``NNN:args:text``; aiocometd parses the three digits.
BAD_MESSAGE = "400::Bad message"
UNAUTHORIZED = "401::Unauthorized"
UNKNOWN_CLIENT = "402::Unknown client"
HANDSHAKE_DENIED = "403::Handshake denied"
UNSUPPORTED_TRANSPORT = "406::Unsupported connection type"


def subscription_denied(channel: str) -> str:
    return f"403:{channel}:Subscription denied"


def publish_denied(channel: str) -> str:
    return f"403:{channel}:Publish denied"


def unknown_service(channel: str) -> str:
    return f"404:{channel}:Unknown service"


class BadRequest(ValueError):
    """The body is not a list of Bayeux messages: the transport answers 400, empty body."""


def parse_json(data: str | bytes) -> list[Message]:
    try:
        value = loads(data, max_bytes=MAX_BODY)
    except JsonError as exc:
        raise BadRequest(exc.message) from exc
    return validate(value)


def parse_form(data: bytes) -> list[Message]:
    """``application/x-www-form-urlencoded`` with one or more ``message`` fields (spec §2.2)."""
    if len(data) > MAX_BODY:
        raise BadRequest("body too large")
    try:
        fields = parse_qs(data.decode("utf-8"), strict_parsing=False).get("message", [])
    except UnicodeDecodeError as exc:
        raise BadRequest("not UTF-8") from exc
    out: list[Message] = []
    for text in fields:
        out.extend(parse_json(text))
    if not out:
        raise BadRequest("no message field")
    return out


def validate(value: Any) -> list[Message]:
    """An array (or one object) of objects that each name a channel."""
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_MESSAGES:
        raise BadRequest("empty or too many messages")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("channel"), str):
            raise BadRequest("a message without a channel")
    return items


def encode(messages: list[Message]) -> bytes:
    """Compact UTF-8 JSON, no NaN (spec §10)."""
    return json.dumps(messages, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def reply_to(message: Message, **fields: Any) -> Message:
    """A reply carries the request's channel and its ``id`` verbatim, same JSON type (§3.1)."""
    out: Message = {}
    if "id" in message:
        out["id"] = message["id"]
    out["channel"] = message["channel"]
    out.update(fields)
    return out


def delivery(channel: str, data: Any) -> Message:
    """Server to client: never ``id``, ``clientId`` or ``successful`` (§3.3, §6.2)."""
    return {"channel": channel, "data": data}
