"""The outbox: how a core service asks for a push or a webhook without losing it.

Call :func:`enqueue` inside the service's own transaction: the delivery is
stored if and only if the change that causes it is, and this process's delivery
workers are woken once it commits (other nodes find it at their next poll). Delivery workers
(``tidings.delivery``) take rows from there, with retries and backoff; the
idempotency key makes a retried enqueue, and every delivery attempt, safe.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store import outbox as store
from tidings.store.database import notify_after_commit

#: Commit topic: delivery workers of this process look at the outbox once it commits.
TOPIC = "outbox"

#: Kinds of delivery; each has a provider in ``tidings.delivery``.
KINDS = ("webhook", "apns", "fcm")


async def enqueue(
    conn: AsyncConnection,
    *,
    app_id: int,
    kind: str,
    destination: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now_ms: int,
) -> bool:
    """Queue one delivery in the caller's transaction. False if the key was queued before."""
    if kind not in KINDS:
        raise ValueError(f"unknown delivery kind {kind!r}")
    notify_after_commit(conn, TOPIC)
    return await store.insert_delivery(
        conn,
        app_id=app_id,
        kind=kind,
        destination=destination,
        payload=payload,
        idempotency_key=idempotency_key[:64],
        state="queued",
        attempts=0,
        next_attempt_ms=now_ms,
        created_ms=now_ms,
        updated_ms=now_ms,
    )
