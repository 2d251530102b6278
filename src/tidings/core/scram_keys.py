"""SCRAM credentials (RFC 5802 §3): what a server keeps so it never keeps the password.

From the password, a random salt and an iteration count:

    SaltedPassword = Hi(Normalize(password), salt, i)      # PBKDF2 with HMAC-H
    ClientKey      = HMAC(SaltedPassword, "Client Key")
    StoredKey      = H(ClientKey)
    ServerKey      = HMAC(SaltedPassword, "Server Key")

Only ``salt``, ``i``, ``StoredKey`` and ``ServerKey`` are stored, one set per hash
(SHA-1 for RFC 5802, SHA-256 for RFC 7677). They verify a client's proof without
being able to produce one: a copy of the database does not log anybody in
(RFC 5802 §9), though it allows an offline guess as an argon2 hash does, only
cheaper per guess — hence the iteration setting.

``Normalize`` is SASLprep (RFC 4013, a profile of stringprep, RFC 3454) with the
rules for stored strings (unassigned code points refused). A password SASLprep
refuses gets no SCRAM keys at all: the account can still log in with PLAIN.

Pure functions, no I/O: hashing a password here takes milliseconds per hash, so
callers run :func:`derive_all` in a thread (``core/passwords.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import stringprep
import unicodedata
from dataclasses import dataclass

#: RFC 5802 §5.1: the hash names that follow ``SCRAM-`` in the mechanism names.
SCRAM_HASHES: dict[str, str] = {"SHA-1": "sha1", "SHA-256": "sha256"}
#: RFC 5802 §5.1 and RFC 7677 §4: at least 4096 iterations.
MIN_ITERATIONS = 4096
SALT_BYTES = 16


@dataclass(frozen=True, slots=True)
class ScramKeys:
    """One hash's stored credential (RFC 5802 §3)."""

    hash_name: str
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


class SaslPrepError(ValueError):
    """RFC 4013 §2.3-§2.5: the string holds a prohibited or unassigned character."""


def _prohibited(char: str) -> bool:
    """RFC 4013 §2.3: the tables of RFC 3454 SASLprep prohibits (C.1.2 and C.2.1-C.9)."""
    return (
        stringprep.in_table_c12(char)
        or stringprep.in_table_c21_c22(char)
        or stringprep.in_table_c3(char)
        or stringprep.in_table_c4(char)
        or stringprep.in_table_c5(char)
        or stringprep.in_table_c6(char)
        or stringprep.in_table_c7(char)
        or stringprep.in_table_c8(char)
        or stringprep.in_table_c9(char)
    )


def saslprep(text: str) -> str:
    """RFC 4013 for stored strings: map, NFKC, refuse prohibited, check bidi, refuse unassigned."""
    # §2.1: non-ASCII spaces become SPACE; "commonly mapped to nothing" (B.1) goes.
    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in text if not stringprep.in_table_b1(c)
    )
    normal = unicodedata.normalize("NFKC", mapped)  # §2.2
    for char in normal:
        if _prohibited(char):
            raise SaslPrepError(f"prohibited character U+{ord(char):04X}")
        if stringprep.in_table_a1(char):  # §2.5, stored strings
            raise SaslPrepError(f"unassigned code point U+{ord(char):04X}")
    # §2.4 and RFC 3454 §6: a string with right-to-left characters has no
    # left-to-right ones, and starts and ends with a right-to-left character.
    if any(stringprep.in_table_d1(c) for c in normal):
        if any(stringprep.in_table_d2(c) for c in normal):
            raise SaslPrepError("mixes right-to-left and left-to-right characters")
        if not (stringprep.in_table_d1(normal[0]) and stringprep.in_table_d1(normal[-1])):
            raise SaslPrepError("right-to-left text must start and end right-to-left")
    return normal


def digest(hash_name: str, data: bytes) -> bytes:
    """``H`` of RFC 5802 §2.2."""
    return hashlib.new(SCRAM_HASHES[hash_name], data).digest()


def mac(hash_name: str, key: bytes, data: bytes) -> bytes:
    """``HMAC`` of RFC 5802 §2.2 (RFC 2104 with ``H``)."""
    return hmac.new(key, data, SCRAM_HASHES[hash_name]).digest()


def salted_password(hash_name: str, password: str, salt: bytes, iterations: int) -> bytes:
    """``Hi(Normalize(password), salt, i)``: PBKDF2 (RFC 8018) with HMAC-H."""
    normal = saslprep(password).encode("utf-8")
    return hashlib.pbkdf2_hmac(SCRAM_HASHES[hash_name], normal, salt, iterations)


def derive(hash_name: str, password: str, salt: bytes, iterations: int) -> ScramKeys:
    """The stored credential for ``password`` under one hash (slow: ``iterations`` HMACs)."""
    salted = salted_password(hash_name, password, salt, iterations)
    client_key = mac(hash_name, salted, b"Client Key")
    return ScramKeys(
        hash_name=hash_name,
        salt=salt,
        iterations=iterations,
        stored_key=digest(hash_name, client_key),
        server_key=mac(hash_name, salted, b"Server Key"),
    )


def derive_all(password: str, iterations: int) -> tuple[ScramKeys, ...]:
    """Keys for every supported hash, each with its own fresh salt; none when SASLprep
    refuses the password (it then works with PLAIN only)."""
    try:
        saslprep(password)
    except SaslPrepError:
        return ()
    return tuple(
        derive(name, password, secrets.token_bytes(SALT_BYTES), iterations) for name in SCRAM_HASHES
    )
