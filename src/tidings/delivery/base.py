"""What a delivery is, what a provider answers, and the one-method provider base.

A provider (webhooks, APNs, FCM) turns one claimed outbox row into one request
and classifies the answer; the worker owns retries, leases and bookkeeping, so a
provider never touches the database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

from tidings.domain.models import App


@dataclass(frozen=True, slots=True)
class Delivery:
    """One claimed outbox row."""

    id: int
    app_id: int
    kind: str
    destination: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int
    #: The lease this worker holds; writing the outcome checks it (a fencing token).
    locked_until_ms: int
    created_ms: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """``delivered``; ``retry`` later (``retry_after_ms`` is the server's wish, if
    any); or ``failed`` for good (``forget_token``: the device token is dead;
    ``misconfigured``: no retry can succeed until an operator fixes the setup, so
    the row goes dead at once, with a warning, instead of retrying in silence)."""

    status: Literal["delivered", "retry", "failed"]
    error: str | None = None
    retry_after_ms: int | None = None
    forget_token: bool = False
    misconfigured: bool = False

    @classmethod
    def ok(cls) -> Outcome:
        return cls("delivered")

    @classmethod
    def retry(cls, error: str, retry_after_ms: int | None = None) -> Outcome:
        return cls("retry", error[:500], retry_after_ms)

    @classmethod
    def failed(cls, error: str, *, forget_token: bool = False) -> Outcome:
        return cls("failed", error[:500], forget_token=forget_token)

    @classmethod
    def misconfiguration(cls, error: str) -> Outcome:
        """Missing credentials or a refused destination: dead now; replay once fixed."""
        return cls("failed", error[:500], misconfigured=True)


class Provider(ABC):
    """Sends one delivery of its ``kind``."""

    kind: str

    @abstractmethod
    async def send(self, delivery: Delivery, app: App) -> Outcome:
        """Make one attempt; never raise for a network or HTTP failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release connections."""


def retry_after_ms(value: str | None) -> int | None:
    """A ``Retry-After`` header in seconds, as milliseconds (HTTP dates are ignored)."""
    if not value:
        return None
    try:
        return max(0, min(int(float(value) * 1000), 86_400_000))
    except ValueError:
        return None
