"""APNs: Apple's HTTP/2 provider API with token-based (ES256 JWT) authentication.

Outbox payload of kind ``apns`` (the destination is the device token)::

    {"body": {"aps": {...}, ...},          # the notification JSON, sent as is
     "environment": "production" | "development",
     "topic": "com.example.app",           # optional: else the app's or server's topic
     "push_type": "alert", "priority": 10, # optional
     "collapse_id": "...",                 # optional: else the outbox idempotency key
     "expiration": 0}                      # optional unix seconds; 0 = try once

Credentials come from the server settings (``TIDINGS_APNS_*``), overridden per
app by ``config["apns"]`` (``url``, ``sandbox_url``, ``key_id``, ``team_id``,
``key`` (PEM text) or ``key_path``, ``topic``, ``environment``, ``ca_file``), since each app
usually belongs to a different Apple team. ``apns-collapse-id`` defaults to the
idempotency key: if an ambiguous failure makes us send twice, the phone still
shows one notification.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt

from tidings.delivery.base import Delivery, Outcome, Provider, retry_after_ms
from tidings.domain.models import App
from tidings.settings import Settings

#: Apple rejects tokens older than an hour and refreshes more often than every 20 minutes.
TOKEN_LIFETIME_S = 40 * 60
DROP_REASONS = {"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"}
REFRESH_REASONS = {"ExpiredProviderToken", "InvalidProviderToken"}
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class APNsProvider(Provider):
    kind = "apns"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._tokens: dict[tuple[str, str, str], tuple[float, str]] = {}
        self._keys: dict[str, str] = {}

    def config(self, app: App) -> dict[str, Any]:
        s = self.settings
        base: dict[str, Any] = {
            "url": s.apns_url,
            "sandbox_url": s.apns_sandbox_url,
            "key_id": s.apns_key_id,
            "team_id": s.apns_team_id,
            "key_path": s.apns_key_path,
            "topic": s.apns_topic,
        }
        override = app.config.get("apns")
        if isinstance(override, dict):
            base.update({k: v for k, v in override.items() if v not in (None, "")})
        return base

    def _client(self, ca_file: str | None) -> httpx.AsyncClient:
        key = ca_file or ""
        if key not in self._clients:
            verify: ssl.SSLContext | bool = (
                ssl.create_default_context(cafile=ca_file) if ca_file else True
            )
            self._clients[key] = httpx.AsyncClient(http2=True, verify=verify, timeout=TIMEOUT)
        return self._clients[key]

    def _private_key(self, config: dict[str, Any]) -> str:
        if config.get("key"):
            return str(config["key"])
        path = str(config.get("key_path") or "")
        if not path:
            raise LookupError("no APNs key configured")
        if path not in self._keys:
            self._keys[path] = Path(path).read_text()
        return self._keys[path]

    def provider_token(self, config: dict[str, Any], *, refresh: bool = False) -> str:
        """The ES256 JWT, reused for 40 minutes per (team, key) as Apple asks."""
        team_id, key_id = str(config.get("team_id") or ""), str(config.get("key_id") or "")
        if not team_id or not key_id:
            raise LookupError("APNs team_id and key_id are not configured")
        private_key = self._private_key(config)
        # Keyed by the key itself too: a key replaced under the same id gets a new token.
        cache_key = (team_id, key_id, hashlib.sha256(private_key.encode()).hexdigest())
        cached = self._tokens.get(cache_key)
        now = time.time()
        if cached and not refresh and now - cached[0] < TOKEN_LIFETIME_S:
            return cached[1]
        token = jwt.encode(
            {"iss": team_id, "iat": int(now)},
            private_key,
            algorithm="ES256",
            headers={"kid": key_id},
        )
        self._tokens[cache_key] = (now, token)
        return token

    async def send(self, delivery: Delivery, app: App) -> Outcome:
        config = self.config(app)
        payload = delivery.payload
        try:
            token = self.provider_token(config)
        except (LookupError, OSError, ValueError) as exc:
            # No retry can succeed before an operator fixes it: dead now, replay later.
            return Outcome.misconfiguration(f"APNs not configured: {exc}")
        # The app's ``environment`` (``tidings app update --apns-environment``) wins over
        # the device's: one switch for a whole test build.
        sandbox = (config.get("environment") or payload.get("environment")) == "development"
        root = str(config["sandbox_url"] if sandbox else config["url"]).rstrip("/")
        topic = payload.get("topic") or config.get("topic")
        if not topic:
            return Outcome.misconfiguration(
                "APNs not configured: no apns-topic (TIDINGS_APNS_TOPIC or the app's bundle)"
            )
        push_type = str(payload.get("push_type") or "alert")
        headers = {
            "authorization": f"bearer {token}",
            "apns-id": str(uuid.uuid5(uuid.NAMESPACE_URL, delivery.idempotency_key)),
            "apns-topic": str(topic),
            "apns-push-type": push_type,
            "apns-priority": str(
                payload.get("priority") or (5 if push_type == "background" else 10)
            ),
            "apns-expiration": str(int(payload.get("expiration") or 0)),
            "apns-collapse-id": str(payload.get("collapse_id") or delivery.idempotency_key)[:64],
        }
        body = json.dumps(payload.get("body", {}), separators=(",", ":"), ensure_ascii=False)
        url = f"{root}/3/device/{delivery.destination}"
        client = self._client(config.get("ca_file"))
        try:
            response = await client.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return Outcome.retry(f"{type(exc).__name__}: {exc}")
        return self._classify(response, config)

    def _classify(self, response: httpx.Response, config: dict[str, Any]) -> Outcome:
        status = response.status_code
        if status == 200:
            return Outcome.ok()
        reason = _reason(response)
        if status == 410 or reason in DROP_REASONS:
            return Outcome.failed(f"APNs {status} {reason}", forget_token=True)
        if status == 403 and reason in REFRESH_REASONS:
            self.provider_token(config, refresh=True)
            return Outcome.retry(f"APNs {status} {reason}")
        if status == 429 or status >= 500:
            return Outcome.retry(
                f"APNs {status} {reason}", retry_after_ms(response.headers.get("retry-after"))
            )
        return Outcome.failed(f"APNs {status} {reason}")

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json().get("reason", ""))
    except (ValueError, AttributeError):
        return ""
