"""Webhooks: a signed JSON POST per outbox row of kind ``webhook``.

Outbox payload: ``{"event": "<name>", "body": {...}}``; the destination is the
URL. Headers: ``X-Tidings-Event``, ``Idempotency-Key`` (the outbox key, the same
on every attempt so the receiver can drop repeats), ``X-Tidings-Timestamp`` and
``X-Tidings-Signature`` (see ``signing.py``; keyed with the app's ``webhook_secret``
when it has one, else its ``auth_secret``). A 2xx answer is delivered; 410
Gone means the receiver wants no more; anything else is retried.
"""

from __future__ import annotations

import time

import httpx

from tidings.delivery.base import Delivery, Outcome, Provider, retry_after_ms
from tidings.delivery.signing import sign, webhook_body
from tidings.domain.models import App
from tidings.outbound.ssrf import DestinationRefused, check_destination
from tidings.settings import Settings

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class WebhookProvider(Provider):
    kind = "webhook"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # No redirects: a redirect could lead past the SSRF guard.
        self.client = httpx.AsyncClient(
            timeout=TIMEOUT,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def send(self, delivery: Delivery, app: App) -> Outcome:
        allow_private = self.settings.webhook_allow_private or bool(
            app.config.get("allow_private_destinations")
        )
        try:
            await check_destination(delivery.destination, allow_private=allow_private)
        except DestinationRefused as exc:
            return Outcome.misconfiguration(f"destination refused: {exc}")
        event = str(delivery.payload.get("event", "event"))
        body = webhook_body(delivery.payload.get("body", {}))
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "tidings-webhooks",
            "X-Tidings-Event": event,
            "Idempotency-Key": delivery.idempotency_key,
            "X-Tidings-Timestamp": str(timestamp),
            "X-Tidings-Signature": sign(_signing_secret(app), timestamp, body),
        }
        try:
            response = await self.client.post(delivery.destination, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome.retry(f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return Outcome.ok()
        if response.status_code == 410:
            return Outcome.failed("410 Gone: the receiver refuses this webhook")
        return Outcome.retry(
            f"HTTP {response.status_code}", retry_after_ms(response.headers.get("retry-after"))
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def _signing_secret(app: App) -> str:
    """The app's own webhook secret (``tidings app update --webhook-secret``), if it has
    one, so a receiver never holds the app's API secret; else the app's ``auth_secret``."""
    secret = app.config.get("webhook_secret")
    return secret if isinstance(secret, str) and secret else app.auth_secret
