"""The outbox worker: claim due rows, attempt them, record what happened.

Each loop claims at most ``TIDINGS_DELIVERY_BATCH`` rows (the only deliveries
it holds in memory, so a storm of a million queued pushes drains at constant
memory), attempts them concurrently with at most
``TIDINGS_DELIVERY_PER_DESTINATION`` requests to one destination at a time, and
writes every outcome in one transaction:

- accepted: ``delivered``;
- failed for now: ``queued`` again, due after an exponential backoff with full
  jitter (``random(0, min(max, base * 2**(attempt-1)))``, at least the
  receiver's ``Retry-After``), or ``dead`` once ``TIDINGS_DELIVERY_MAX_ATTEMPTS``
  attempts were made;
- failed for good: ``dead``; a device token the provider calls dead is removed
  from the registry in the same transaction.

A worker wakes right after a transaction of this process that queued a delivery
commits (:func:`tidings.core.outbox.enqueue` marks it), or when
:meth:`DeliveryWorkers.wake` is called, and otherwise every
``TIDINGS_DELIVERY_POLL_MS`` (due retries, rows queued by other nodes). It does
not wake for every message: most queue nothing, and an empty claim is still a
write transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tidings.core import outbox
from tidings.delivery import metrics
from tidings.delivery.base import Delivery, Outcome, Provider
from tidings.domain.errors import NotFound
from tidings.domain.models import App
from tidings.store import devices as devices_store
from tidings.store import outbox_claims as claims

if TYPE_CHECKING:
    from tidings.core.hub import Core

log = logging.getLogger("tidings.delivery")

#: How long a looked-up app (secret, provider config) is reused by a worker.
APP_CACHE_S = 5.0
GAUGE_EVERY_S = 5.0


def default_providers(core: Core) -> dict[str, Provider]:
    from tidings.delivery.apns import APNsProvider
    from tidings.delivery.fcm import FCMProvider
    from tidings.delivery.webhooks import WebhookProvider

    providers: list[Provider] = [
        WebhookProvider(core.settings),
        APNsProvider(core.settings),
        FCMProvider(core.settings),
    ]
    return {p.kind: p for p in providers}


def backoff_ms(attempts: int, base_ms: int, max_ms: int, rng: Callable[[], float]) -> int:
    """Full jitter (AWS architecture blog): spreads retries of a failed burst evenly."""
    ceiling = min(max_ms, base_ms * 2 ** max(0, min(attempts - 1, 40)))
    return int(rng() * ceiling)


class DeliveryWorkers:
    """The delivery workers of one process (``TIDINGS_DELIVERY_WORKERS`` loops)."""

    def __init__(
        self,
        core: Core,
        providers: dict[str, Provider] | None = None,
        *,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.core = core
        self.settings = core.settings
        self.providers = providers if providers is not None else default_providers(core)
        self.rng = rng
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._destinations: dict[str, tuple[asyncio.Semaphore, int]] = {}
        self._apps: dict[int, tuple[float, App | None]] = {}
        self._gauge_at = 0.0
        #: Claimed rows held in memory now, and the most ever (the storm test reads it).
        self.in_memory = 0
        self.peak_in_memory = 0

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        if self.settings.delivery_workers <= 0:
            return
        self._unsubscribe = self.core.db.on_commit(outbox.TOPIC, self.wake)
        for n in range(self.settings.delivery_workers):
            self._tasks.append(asyncio.create_task(self._loop(), name=f"delivery-{n}"))

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for provider in self.providers.values():
            await provider.aclose()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def _loop(self) -> None:
        poll = self.settings.delivery_poll_ms / 1000
        while True:
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end the worker
                log.exception("delivery loop failed; retrying")
                handled = 0
            if handled < self.settings.delivery_batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), poll)
                self._wake.clear()

    # -- one batch ---------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch, attempt it, record the outcomes. Returns the batch size."""
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            rows = await claims.claim_due(
                conn,
                now_ms=now,
                lease_ms=self.settings.delivery_lease_ms,
                limit=self.settings.delivery_batch,
            )
        await self._refresh_gauge()
        if not rows:
            return 0
        batch = [_delivery(row) for row in rows]
        self.in_memory += len(batch)
        self.peak_in_memory = max(self.peak_in_memory, self.in_memory)
        try:
            attempts = asyncio.gather(*(self._attempt(d) for d in batch))
            # If we are cancelled mid-batch, nobody awaits the gather's own result.
            attempts.add_done_callback(lambda f: f.cancelled() or f.exception())
            outcomes = await attempts
            await self._record(batch, outcomes)
        except asyncio.CancelledError:
            # Stopping: hand the rows back now instead of after the lease.
            await asyncio.shield(self._release(batch))
            raise
        finally:
            self.in_memory -= len(batch)
        return len(batch)

    async def _attempt(self, delivery: Delivery) -> Outcome:
        provider = self.providers.get(delivery.kind)
        if provider is None:
            return Outcome.failed(f"no provider for kind {delivery.kind!r}")
        app = await self._app(delivery.app_id)
        if app is None:
            return Outcome.failed("the app no longer exists")
        key = _destination_key(delivery)
        semaphore = self._acquire_destination(key)
        started = time.perf_counter()
        try:
            async with semaphore:
                outcome = await provider.send(delivery, app)
                if outcome.misconfigured:
                    # The operator may have just fixed it (and replayed): never declare a
                    # row dead on an app config up to APP_CACHE_S old.
                    fresh = await self._app(delivery.app_id, fresh=True)
                    if fresh is not None and fresh != app:
                        outcome = await provider.send(delivery, fresh)
                return outcome
        except Exception as exc:  # a provider bug is one failed attempt, not a dead worker
            log.exception("delivery %s raised", delivery.id)
            return Outcome.retry(f"{type(exc).__name__}: {exc}")
        finally:
            metrics.ATTEMPT_SECONDS.labels(delivery.kind).observe(time.perf_counter() - started)
            self._release_destination(key)

    def _acquire_destination(self, key: str) -> asyncio.Semaphore:
        semaphore, users = self._destinations.get(key) or (
            asyncio.Semaphore(max(1, self.settings.delivery_per_destination)),
            0,
        )
        self._destinations[key] = (semaphore, users + 1)
        return semaphore

    def _release_destination(self, key: str) -> None:
        semaphore, users = self._destinations[key]
        if users <= 1:
            del self._destinations[key]  # bounded: only destinations in flight are kept
        else:
            self._destinations[key] = (semaphore, users - 1)

    async def _app(self, app_id: int, *, fresh: bool = False) -> App | None:
        cached = self._apps.get(app_id)
        if cached and not fresh and time.monotonic() - cached[0] < APP_CACHE_S:
            return cached[1]
        try:
            app: App | None = await self.core.apps.get_app(app_id)
        except NotFound:
            app = None
        if len(self._apps) > 10_000:
            self._apps.clear()
        self._apps[app_id] = (time.monotonic(), app)
        return app

    async def _record(self, batch: list[Delivery], outcomes: list[Outcome]) -> None:
        now = self.core.now_ms()
        s = self.settings
        counted: list[tuple[Delivery, str, Outcome]] = []
        async with self.core.db.transaction() as conn:
            for delivery, outcome in zip(batch, outcomes, strict=True):
                lease = delivery.locked_until_ms
                if outcome.status == "delivered":
                    if await claims.mark_delivered(conn, delivery.id, lease, now):
                        counted.append((delivery, "delivered", outcome))
                    continue
                error = outcome.error or outcome.status
                if outcome.status == "retry" and delivery.attempts < s.delivery_max_attempts:
                    delay = backoff_ms(
                        delivery.attempts,
                        s.delivery_retry_base_ms,
                        s.delivery_retry_max_ms,
                        self.rng,
                    )
                    delay = max(delay, outcome.retry_after_ms or 0)
                    if await claims.mark_retry(
                        conn, delivery.id, lease, next_ms=now + delay, error=error, now_ms=now
                    ):
                        counted.append((delivery, "retried", outcome))
                    continue
                if await claims.mark_dead(conn, delivery.id, lease, error, now):
                    counted.append((delivery, "dead", outcome))
                if outcome.forget_token:
                    await devices_store.delete_token(
                        conn, delivery.app_id, delivery.kind, delivery.destination
                    )
        for delivery, what, outcome in counted:
            if what == "delivered":
                metrics.DELIVERED.labels(delivery.kind).inc()
                metrics.LATENCY_SECONDS.labels(delivery.kind).observe(
                    max(0, now - delivery.created_ms) / 1000
                )
            elif what == "retried":
                metrics.RETRIED.labels(delivery.kind).inc()
            else:
                metrics.DEAD.labels(delivery.kind).inc()
                _log_dead(delivery, outcome)
        if any(what == "dead" for _d, what, _o in counted):
            self._gauge_at = 0.0  # the dead count changed: show it at the next look
        await self._tell_core([(d, w, o) for d, w, o in counted if w != "retried"])

    async def _tell_core(self, settled: list[tuple[Delivery, str, Outcome]]) -> None:
        """The core learns what became of a delivery it cares about (a GMS callback's
        push moves its callback on); the rows are recorded whatever happens here."""
        for delivery, what, outcome in settled:
            try:
                await self.core.callbacks.push_settled(
                    delivery.idempotency_key, what == "delivered", outcome.error or ""
                )
            except Exception:
                log.exception("settling delivery %s in the core failed", delivery.id)

    async def _release(self, batch: list[Delivery]) -> None:
        now = self.core.now_ms()
        try:
            async with self.core.db.transaction() as conn:
                for d in batch:
                    await claims.mark_retry(
                        conn,
                        d.id,
                        d.locked_until_ms,
                        next_ms=now,
                        error="worker stopped",
                        now_ms=now,
                    )
        except Exception:  # the lease brings them back anyway
            log.warning("could not release %d claimed deliveries", len(batch))

    async def _refresh_gauge(self) -> None:
        if time.monotonic() - self._gauge_at < GAUGE_EVERY_S:
            return
        self._gauge_at = time.monotonic()
        async with self.core.db.read() as conn:
            counts = await claims.pending_count(conn)
        for state in metrics.PENDING_STATES:
            metrics.PENDING.labels(state).set(counts.get(state, 0))


def _log_dead(delivery: Delivery, outcome: Outcome) -> None:
    """One warning per dead letter, naming where it was going and why it stopped there."""
    cause = "configuration error" if outcome.misconfigured else "gave up"
    log.warning(
        "delivery %s dead (%s): %s to %s: %s; fix it, then `tidings outbox replay %s`",
        delivery.id,
        cause,
        delivery.kind,
        _shown_destination(delivery),
        outcome.error or outcome.status,
        delivery.id,
        extra={
            "outbox_id": delivery.id,
            "kind": delivery.kind,
            "app_id": delivery.app_id,
            "destination": _shown_destination(delivery),
            "reason": outcome.error or outcome.status,
            "misconfigured": outcome.misconfigured,
        },
    )


def _shown_destination(delivery: Delivery) -> str:
    """A webhook URL without its query (it may carry a token); a device token shortened."""
    if delivery.kind == "webhook":
        parts = urlsplit(delivery.destination)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"
    token = delivery.destination
    return token if len(token) <= 16 else f"{token[:8]}…{token[-4:]}"


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        app_id=row.app_id,
        kind=row.kind,
        destination=row.destination,
        payload=dict(row.payload or {}),
        idempotency_key=row.idempotency_key,
        attempts=row.attempts,
        locked_until_ms=row.locked_until_ms,
        created_ms=row.created_ms,
    )


def _destination_key(delivery: Delivery) -> str:
    if delivery.kind == "webhook":
        parts = urlsplit(delivery.destination)
        return f"webhook:{parts.scheme}://{parts.netloc}"
    return f"{delivery.kind}:{delivery.destination}"
