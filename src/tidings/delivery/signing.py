"""Webhook signatures: how a receiver knows a POST came from tidings, and is fresh.

Pure functions, shared by the sender (``webhooks.py``) and by receivers (tests,
and any Python service that receives our webhooks). The signed text is
``f"{timestamp}.".encode() + body``: binding the timestamp stops a captured
request from being replayed later with a new timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def webhook_body(body: Any) -> bytes:
    """The exact bytes POSTed for an outbox payload's ``body`` (compact, UTF-8)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Tidings-Signature`` header value: ``sha256=<hex>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: int = 300,
) -> bool:
    """True if ``signature`` is ours for this body and timestamp (within ``tolerance``
    seconds of ``now`` when ``now`` is given). Constant-time comparison."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if now is not None and abs(now - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)
