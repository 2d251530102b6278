"""FCM: Firebase Cloud Messaging's HTTP v1 API with service-account OAuth2.

The server signs a JWT (RS256) with the service account's private key, trades it
at the token endpoint (JWT bearer grant, RFC 7523) for an access token, caches
that until shortly before it expires, and POSTs each message to
``{url}/v1/projects/{project_id}/messages:send``.

Outbox payload of kind ``fcm`` (the destination is the registration token)::

    {"message": {"notification": {...}, "data": {...}, "android": {...}, "apns": {...}}}

Credentials: ``TIDINGS_FCM_CREDENTIALS`` (a service-account JSON file), or per
app ``config["fcm"]`` = ``{"credentials": {...the JSON...}, "url", "token_uri"}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from tidings.delivery.base import Delivery, Outcome, Provider, retry_after_ms
from tidings.domain.models import App
from tidings.settings import Settings

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DROP_CODES = {"UNREGISTERED", "INVALID_ARGUMENT"}
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class FCMProvider(Provider):
    kind = "fcm"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(timeout=TIMEOUT)
        self._file_credentials: dict[str, Any] | None = None
        #: client_email -> (expires at, access token)
        self._tokens: dict[tuple[str, str, str], tuple[float, str]] = {}
        self._token_lock = asyncio.Lock()

    def config(self, app: App) -> dict[str, Any]:
        override = app.config.get("fcm")
        override = override if isinstance(override, dict) else {}
        credentials = override.get("credentials")
        if not isinstance(credentials, dict):
            credentials = self._settings_credentials()
        return {
            "credentials": credentials,
            "url": str(override.get("url") or self.settings.fcm_url).rstrip("/"),
            "token_uri": override.get("token_uri")
            or self.settings.fcm_token_uri
            or (credentials or {}).get("token_uri"),
        }

    def _settings_credentials(self) -> dict[str, Any] | None:
        if not self.settings.fcm_credentials:
            return None
        if self._file_credentials is None:
            self._file_credentials = json.loads(Path(self.settings.fcm_credentials).read_text())
        return self._file_credentials

    async def access_token(self, config: dict[str, Any], *, refresh: bool = False) -> str:
        credentials = config["credentials"]
        email = credentials["client_email"]
        # One access token per account, token endpoint and key: a rotated key or another
        # endpoint never reuses a token it did not earn.
        cache_key = (email, str(config["token_uri"]), str(credentials.get("private_key_id", "")))
        async with self._token_lock:
            cached = self._tokens.get(cache_key)
            if cached and not refresh and cached[0] > time.time() + 60:
                return cached[1]
            now = int(time.time())
            assertion = jwt.encode(
                {
                    "iss": email,
                    "scope": SCOPE,
                    "aud": config["token_uri"],
                    "iat": now,
                    "exp": now + 3600,
                },
                credentials["private_key"],
                algorithm="RS256",
                headers={"kid": credentials.get("private_key_id", "")},
            )
            response = await self.client.post(
                config["token_uri"], data={"grant_type": GRANT_TYPE, "assertion": assertion}
            )
            response.raise_for_status()
            answer = response.json()
            token = str(answer["access_token"])
            self._tokens[cache_key] = (now + int(answer.get("expires_in", 3600)), token)
            return token

    async def send(self, delivery: Delivery, app: App) -> Outcome:
        try:
            config = self.config(app)
        except (OSError, ValueError) as exc:  # an unreadable TIDINGS_FCM_CREDENTIALS file
            return Outcome.misconfiguration(f"FCM not configured: {type(exc).__name__}: {exc}")
        credentials = config["credentials"]
        if not credentials or not config["token_uri"]:
            return Outcome.misconfiguration("FCM not configured: no service account")
        try:
            token = await self.access_token(config)
        except httpx.HTTPError as exc:
            return Outcome.retry(f"FCM token: {type(exc).__name__}: {exc}")
        except (KeyError, ValueError) as exc:  # a service account without its fields
            return Outcome.misconfiguration(
                f"FCM not configured: bad service account: {type(exc).__name__}: {exc}"
            )
        message = dict(delivery.payload.get("message") or {})
        message["token"] = delivery.destination
        url = f"{config['url']}/v1/projects/{credentials['project_id']}/messages:send"
        try:
            response = await self.client.post(
                url, json={"message": message}, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            return Outcome.retry(f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if status == 200:
            return Outcome.ok()
        code = _error_code(response)
        if code in DROP_CODES or (status == 404 and code in ("", "NOT_FOUND")):
            return Outcome.failed(f"FCM {status} {code}", forget_token=True)
        if status == 401:
            # The access token was refused: forget every token of this account.
            for key in [k for k in self._tokens if k[0] == credentials["client_email"]]:
                del self._tokens[key]
            return Outcome.retry(f"FCM {status} {code}")
        if status == 429 or status >= 500:
            return Outcome.retry(
                f"FCM {status} {code}", retry_after_ms(response.headers.get("retry-after"))
            )
        return Outcome.failed(f"FCM {status} {code}")

    async def aclose(self) -> None:
        await self.client.aclose()


def _error_code(response: httpx.Response) -> str:
    """FCM puts the precise code in ``error.details[].errorCode``; fall back to status."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return ""
    for detail in error.get("details", []) or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", ""))
