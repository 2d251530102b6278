"""Real local servers standing in for APNs, FCM and a webhook receiver.

Each speaks its service's protocol over real sockets on 127.0.0.1 (APNs: HTTP/2
over TLS with a certificate made here), checks what a real one checks (the
provider JWT's signature and claims, the required headers, the webhook
signature) and records what it accepted, so tests assert on what a phone or a
receiver would have got.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.helpers import wait_until
from tidings.delivery.signing import verify

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


# -- plumbing ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(app: ASGIApp, *, tls: tuple[Path, Path] | None = None) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (HTTP/1.1, and HTTP/2 when ``tls``); yields the root URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1
    if tls:
        config.certfile, config.keyfile = str(tls[0]), str(tls[1])
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        stop.set()
        # Clients (the server's pooled HTTP/2 connection) may keep it open: don't wait long.
        done, _ = await asyncio.wait([task], timeout=2)
        if not done:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        sock.close()


async def read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":  # the sender died mid-request
            raise ConnectionAbortedError
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def answer(
    send: Any, status: int, body: Any = None, headers: dict[str, str] | None = None
) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    raw = [(b"content-type", b"application/json")]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


def headers_of(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode().lower(): v.decode() for k, v in scope["headers"]}


def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it: (ca file, cert file, key file)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tidings test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_text(pem(key))
    return ca_file, cert_file, key_file


def pem(key: Any) -> str:
    """A private key as unencrypted PKCS#8 PEM, the form APNs .p8 and FCM JSON use."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# -- APNs ----------------------------------------------------------------------


@dataclass
class FakeAPNs:
    """Apple's provider API: HTTP/2 only, ES256 provider tokens, required headers."""

    team_id: str = "TEAM123456"
    key_id: str = "KEY1234567"
    topic: str = "com.example.chat"
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    #: Accepted notifications: {"token", "headers", "payload"}.
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    unregistered: set[str] = field(default_factory=set)
    #: token -> statuses to answer before accepting (e.g. [503, 429]).
    failures: dict[str, list[int]] = field(default_factory=dict)
    #: Where it serves and the CA that signed its certificate (set once it runs).
    url: str = ""
    ca_file: str = ""

    @property
    def key_pem(self) -> str:
        return pem(self.key)

    def app_config(self) -> dict[str, str]:
        """An app's ``apns`` settings that send here (production and sandbox alike)."""
        return {
            "url": self.url,
            "sandbox_url": self.url,
            "key_id": self.key_id,
            "team_id": self.team_id,
            "key": self.key_pem,
            "topic": self.topic,
            "ca_file": self.ca_file,
        }

    def for_token(self, token: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["token"] == token]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            body = await read_body(receive)
        except ConnectionAbortedError:
            return
        status, reason = self._check(scope, body)
        if status != 200:
            self.rejected.append((status, reason))
            await answer(send, status, {"reason": reason})
            return
        await answer(send, 200, None, {"apns-id": headers_of(scope)["apns-id"]})

    def _check(self, scope: dict[str, Any], body: bytes) -> tuple[int, str]:
        if scope.get("http_version") != "2":
            return 405, "HTTP2Required"
        headers = headers_of(scope)
        path = scope["path"]
        if scope["method"] != "POST" or not path.startswith("/3/device/"):
            return 404, "BadPath"
        token = path.rsplit("/", 1)[1]
        auth = headers.get("authorization", "")
        if not auth.startswith("bearer "):
            return 403, "MissingProviderToken"
        try:
            header = jwt.get_unverified_header(auth[7:])
            claims = jwt.decode(auth[7:], self.key.public_key(), algorithms=["ES256"])
        except jwt.PyJWTError:
            return 403, "InvalidProviderToken"
        if header.get("kid") != self.key_id or claims.get("iss") != self.team_id:
            return 403, "InvalidProviderToken"
        if abs(time.time() - claims.get("iat", 0)) > 3600:
            return 403, "ExpiredProviderToken"
        if headers.get("apns-topic") != self.topic:
            return 400, "DeviceTokenNotForTopic" if headers.get("apns-topic") else "MissingTopic"
        if headers.get("apns-push-type") not in ("alert", "background", "voip"):
            return 400, "InvalidPushType"
        if headers.get("apns-priority") not in ("5", "10"):
            return 400, "BadPriority"
        if not headers.get("apns-expiration", "").isdigit():
            return 400, "BadExpirationDate"
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            return 400, "BadCollapseId"
        if not all(c in "0123456789abcdef" for c in token) or len(token) < 32:
            return 400, "BadDeviceToken"
        if token in self.unregistered:
            return 410, "Unregistered"
        pending = self.failures.get(token)
        if pending:
            status = pending.pop(0)
            return status, "TooManyRequests" if status == 429 else "ServiceUnavailable"
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, "PayloadEmpty"
        self.received.append({"token": token, "headers": headers, "payload": payload})
        return 200, ""


# -- FCM -----------------------------------------------------------------------


@dataclass
class FakeFCM:
    """Google's OAuth2 token endpoint (JWT bearer grant) and FCM HTTP v1 send."""

    project_id: str = "tidings-test"
    client_email: str = "push@tidings-test.iam.gserviceaccount.com"
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    root: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    unregistered: set[str] = field(default_factory=set)
    _access: set[str] = field(default_factory=set)

    def credentials(self) -> dict[str, Any]:
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": "k1",
            "private_key": pem(self.key),
            "client_email": self.client_email,
            "token_uri": f"{self.root}/token",
        }

    def for_token(self, token: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["token"] == token]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            body = await read_body(receive)
        except ConnectionAbortedError:
            return
        if scope["path"] == "/token":
            await self._token(body, send)
        elif scope["path"] == f"/v1/projects/{self.project_id}/messages:send":
            await self._send(scope, body, send)
        else:
            await answer(send, 404, {"error": {"code": 404, "status": "NOT_FOUND"}})

    async def _token(self, body: bytes, send: Any) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            await answer(send, 400, {"error": "unsupported_grant_type"})
            return
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                self.key.public_key(),
                algorithms=["RS256"],
                audience=f"{self.root}/token",
            )
        except jwt.PyJWTError as exc:
            await answer(send, 400, {"error": "invalid_grant", "error_description": str(exc)})
            return
        if claims.get("iss") != self.client_email or "firebase.messaging" not in claims.get(
            "scope", ""
        ):
            await answer(send, 400, {"error": "invalid_scope"})
            return
        self.tokens_issued += 1
        access = f"ya29.test-{self.tokens_issued}"
        self._access.add(access)
        await answer(
            send, 200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}
        )

    async def _send(self, scope: dict[str, Any], body: bytes, send: Any) -> None:
        auth = headers_of(scope).get("authorization", "")
        if auth[7:] not in self._access:
            await answer(send, 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
            return
        message = json.loads(body)["message"]
        token = message.get("token")
        if token in self.unregistered:
            await answer(
                send,
                404,
                {
                    "error": {
                        "code": 404,
                        "status": "NOT_FOUND",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                "errorCode": "UNREGISTERED",
                            }
                        ],
                    }
                },
            )
            return
        self.received.append({"token": token, "message": message})
        await answer(
            send, 200, {"name": f"projects/{self.project_id}/messages/{len(self.received)}"}
        )


# -- webhooks ------------------------------------------------------------------


@dataclass
class WebhookReceiver:
    """A receiver that verifies signatures, fails the first ``fail_first`` attempts of
    each delivery with a 500, and processes each idempotency key once."""

    secret: str
    fail_first: int = 0
    attempts: Counter[str] = field(default_factory=Counter)
    #: Processed events, in order: one per idempotency key.
    processed: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    bad_signatures: int = 0
    _seen: set[str] = field(default_factory=set)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            body = await read_body(receive)
        except ConnectionAbortedError:
            return
        headers = headers_of(scope)
        ok = verify(
            self.secret,
            headers.get("x-tidings-timestamp", ""),
            body,
            headers.get("x-tidings-signature", ""),
            now=time.time(),
        )
        if not ok or headers.get("content-type") != "application/json":
            self.bad_signatures += 1
            await answer(send, 401, {"error": "bad signature"})
            return
        key = headers["idempotency-key"]
        self.attempts[key] += 1
        if self.attempts[key] <= self.fail_first:
            await answer(send, 500, {"error": "try again"})
            return
        if key in self._seen:
            self.duplicates += 1
        else:
            self._seen.add(key)
            self.processed.append(
                {"key": key, "event": headers["x-tidings-event"], "body": json.loads(body)}
            )
        await answer(send, 200, {"ok": True})


async def eventually(check: Callable[[], Any], *, limit: float = 30.0, what: str = "") -> Any:
    """:func:`tests.helpers.wait_until`, under the name the delivery tests use."""
    return await wait_until(check, limit, what=what)
