"""The TLS context for STARTTLS: the configured certificate, or a self-signed one for development.

When ``TIDINGS_XMPP_CERT``/``TIDINGS_XMPP_KEY`` are unset, a key and a
certificate for the XMPP domain are generated once with ``cryptography`` and kept
in the data folder, so clients that pin it keep working across restarts.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import ssl
from pathlib import Path

log = logging.getLogger("tidings.gateways.xmpp")


def dev_certificate(folder: Path, domain: str) -> tuple[Path, Path]:
    """Paths of a self-signed certificate and its key for ``domain``, made if missing."""
    cert_path, key_path = folder / "xmpp-dev-cert.pem", folder / "xmpp-dev-key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [
        x509.DNSName(domain),
        x509.DNSName(f"muc.{domain}"),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.warning("generated a self-signed XMPP certificate for development: %s", cert_path)
    return cert_path, key_path


def server_context(cert: str, key: str, data_dir: Path, domain: str) -> ssl.SSLContext:
    if not cert or not key:
        cert_path, key_path = dev_certificate(data_dir, domain)
        cert, key = str(cert_path), str(key_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
