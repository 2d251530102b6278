"""SASL PLAIN (RFC 4616) as XMPP uses it (RFC 6120 §6; connectycube-wire §9.3).

Only PLAIN is offered. SCRAM-SHA-1/256 need a salted key derived from the
plaintext password, and tidings stores argon2id hashes only, so a SCRAM
exchange could not be verified; offering it would also make the Node SDK pick it.
The password may be the user's password or a live session token.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

MECHANISMS = ("PLAIN",)


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
