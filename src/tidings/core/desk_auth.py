"""External authorization of service-desk users (Pyrus "authorization web service").

The app's ``auth_url`` is asked ``POST {app_id, user_id, security_key}``:
200 grants, 400 and 403 refuse (the SDK then gets 403 and closes the chat). A
slow or failing service is a temporary failure (503, the SDK retries later),
never a hang or a 500: each call has a short deadline. Positive answers are
cached per (app, user, key) for a short while because SDKs poll every few
seconds. Refusals are not cached, so a user who fixes their key gets in at once.

The HTTP client is a few lines of asyncio streams rather than a library: the
core imports no HTTP framework, and this call needs nothing but one POST.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tidings.core.errors import DomainError, Forbidden

if TYPE_CHECKING:
    from tidings.core.hub import Core
    from tidings.core.models import App

#: Seconds to wait for the auth service; app config ``desk_auth_timeout``.
DEFAULT_TIMEOUT = 3.0
#: Seconds a positive answer is reused; app config ``desk_auth_cache_seconds``.
DEFAULT_CACHE_SECONDS = 60.0
MAX_CACHED = 50_000


class AuthUnavailable(DomainError):
    """The authorization service did not answer in time or failed: try again later."""

    status = 503
    code = "auth_unavailable"


@dataclass(frozen=True, slots=True)
class AuthAnswer:
    status: int


async def post_json(url: str, payload: dict[str, str], timeout: float) -> int:  # noqa: ASYNC109
    """POST ``payload`` as JSON and return the HTTP status, within ``timeout`` seconds."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = json.dumps(payload, separators=(",", ":")).encode()
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        f"User-Agent: tidings-desk-auth\r\n\r\n"
    ).encode() + body
    async with asyncio.timeout(timeout):
        context = ssl.create_default_context() if parts.scheme == "https" else None
        reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=context)
        try:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
    fields = status_line.decode("latin-1").split()
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise ValueError("not an HTTP response")
    return int(fields[1])


class DeskAuthService:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._granted: dict[str, float] = {}

    async def verify(self, app: App, user_id: str, security_key: str) -> None:
        """Return if the app's auth service grants access; raise otherwise.

        :class:`Forbidden` for a refusal (400/403, or no auth URL configured);
        :class:`AuthUnavailable` when the service is slow, unreachable or answers
        anything else.
        """
        if not app.auth_url:
            raise Forbidden("this app has no external authorization", code="auth_refused")
        key = hashlib.sha256(
            f"{app.id}\0{app.auth_url}\0{user_id}\0{security_key}".encode()
        ).hexdigest()
        now = time.monotonic()
        if self._granted.get(key, 0) > now:
            return
        timeout = float(app.config.get("desk_auth_timeout", DEFAULT_TIMEOUT))
        payload = {"app_id": app.desk_app_id, "user_id": user_id, "security_key": security_key}
        try:
            status = await post_json(app.auth_url, payload, timeout)
        except (TimeoutError, OSError, ValueError) as exc:
            raise AuthUnavailable(f"the authorization service failed: {exc!r}") from exc
        if status == 200:
            if len(self._granted) >= MAX_CACHED:
                self._granted = {k: v for k, v in self._granted.items() if v > now}
                if len(self._granted) >= MAX_CACHED:
                    self._granted.clear()
            ttl = float(app.config.get("desk_auth_cache_seconds", DEFAULT_CACHE_SECONDS))
            self._granted[key] = now + ttl
            return
        if status in (400, 403):
            raise Forbidden("the authorization service refused this user", code="auth_refused")
        raise AuthUnavailable(f"the authorization service answered {status}")
