"""SASL as XMPP uses it (RFC 6120 §6; connectycube-wire §9.3): the mechanisms, and PLAIN.

PLAIN (RFC 4616) carries the password or a live session token. The SCRAM
mechanisms (RFC 5802, RFC 7677) live in :mod:`scram`; they check stored SCRAM
keys (``core/scram_keys.py``), so they work with passwords only, never with a
session token. A stream offers SCRAM on TLS-protected TCP only: over WebSocket
the ConnectyCube SDK would choose SCRAM-SHA-1 over PLAIN and fail with its token.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

#: Every mechanism, in the order offered (strongest first); each stream offers those its
#: transport allows (``protocol.py``).
MECHANISMS = ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN")


class SaslError(ValueError):
    """``condition`` is the RFC 6120 §6.5 failure condition to send."""

    def __init__(self, condition: str, text: str = "") -> None:
        super().__init__(text or condition)
        self.condition = condition
        self.text = text


@dataclass(frozen=True, slots=True)
class PlainCredentials:
    authzid: str
    authcid: str
    password: str


def parse_plain(payload: str) -> PlainCredentials:
    """Decode ``base64(authzid NUL authcid NUL password)``."""
    payload = payload.strip()
    if not payload or payload == "=":
        raise SaslError("malformed-request", "PLAIN needs an initial response")
    try:
        raw = base64.b64decode(payload, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SaslError("incorrect-encoding", "not base64 of UTF-8") from None
    parts = raw.split("\x00")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise SaslError("malformed-request", "expected authzid NUL authcid NUL password")
    return PlainCredentials(*parts)
