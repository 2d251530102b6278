"""Lenient GMS request bodies and the wire's value formats (gms-callback-chat-wire §1.2, §1.4).

Pure: query string and body bytes in, a flat ``{str: str}`` out. JSON is parsed
when the content type says so *or* the body starts with ``{`` (jQuery posts
JSON with a form content type); nulls are dropped and scalars stringified.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

from tidings import jsonbody

ALIASES = {
    "firstname": "first_name",
    "first_name": "first_name",
    "lastname": "last_name",
    "last_name": "last_name",
    "email": "email",
    "emailaddress": "email",
    "userdisplayname": "nickname",
    "nickname": "nickname",
}


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return (
        json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else str(value)
    )


def parse_params(query: str, body: bytes, content_type: str) -> dict[str, str]:
    params: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return params
    if "json" in content_type or text.startswith("{"):
        try:
            value = jsonbody.loads(text, max_bytes=None)  # the server caps bodies
        except jsonbody.TooDeep:
            raise  # hostile, not form data: the route answers 400
        except ValueError:
            value = None
        if isinstance(value, dict):
            params.update({str(k): _stringify(v) for k, v in value.items() if v is not None})
            return params
    if "multipart" in content_type:
        return params  # multipart is parsed by the transport
    params.update(dict(parse_qsl(text, keep_blank_values=True)))
    return params


def profile_of(params: dict[str, str]) -> dict[str, str]:
    """User-profile fields under their canonical names, matched case-insensitively."""
    out: dict[str, str] = {}
    for key, value in params.items():
        canonical = ALIASES.get(key.lower())
        if canonical and value:
            out.setdefault(canonical, value)
        elif key == "subject" and value:
            out["subject"] = value
    return out


def user_data(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if not k.startswith("_")}


def iso_ms(ms: int) -> str:
    """Callback date-times: ``2025-06-02T14:30:00.000Z`` (§1.4, hard)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def iso_s(ms: int) -> str:
    """Chat v1 ``startedAt``: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))
