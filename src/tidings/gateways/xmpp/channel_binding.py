"""TLS channel-binding data for SCRAM-*-PLUS (RFC 5802 §6, RFC 5929), from our side.

- ``tls-server-end-point`` (RFC 5929 §4.1): the hash of our DER certificate, with
  the hash its signature uses, SHA-256 when that is MD5 or SHA-1. One value for
  every connection, computed once from the certificate file; undefined (so not
  offered) for signatures without one hash, such as Ed25519.
- ``tls-unique`` (RFC 5929 §3): the connection's first Finished message, from
  ``ssl``; only below TLS 1.3 (RFC 9266 §3).

XEP-0440 (``scram.SASL_CB``) lists the types a stream has, so a client does not
pick one we cannot check.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding


def server_end_point(cert_pem: bytes) -> bytes | None:
    """``tls-server-end-point`` data for the first certificate of a PEM chain."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    algorithm = cert.signature_hash_algorithm
    if algorithm is None:
        return None
    if isinstance(algorithm, hashes.MD5 | hashes.SHA1):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(Encoding.DER))
    return digest.finalize()


def server_end_point_of_file(path: str | Path) -> bytes | None:
    """:func:`server_end_point` of a PEM file (blocking: call it in a thread)."""
    return server_end_point(Path(path).read_bytes())
