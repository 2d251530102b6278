"""Delivery metrics, on tidings' own registry (see ``tidings.observability``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from tidings.core.push import QUEUED
from tidings.observability import REGISTRY

__all__ = [
    "QUEUED",
    "DELIVERED",
    "RETRIED",
    "DEAD",
    "PENDING",
    "PENDING_STATES",
    "ATTEMPT_SECONDS",
    "LATENCY_SECONDS",
]

DELIVERED = Counter(
    "tidings_deliveries_delivered",
    "Deliveries the receiver accepted, by kind.",
    ["kind"],
    registry=REGISTRY,
)
RETRIED = Counter(
    "tidings_deliveries_retried",
    "Failed attempts scheduled for another try, by kind.",
    ["kind"],
    registry=REGISTRY,
)
DEAD = Counter(
    "tidings_deliveries_dead",
    "Deliveries given up (permanent failure or out of attempts), by kind.",
    ["kind"],
    registry=REGISTRY,
)
#: States of ``tidings_outbox_pending``: waiting, in flight, and given up (replayable).
PENDING_STATES = ("queued", "sending", "dead")
PENDING = Gauge(
    "tidings_outbox_pending",
    "Outbox rows not delivered, by state (queued, sending, dead), as last seen by a worker.",
    ["state"],
    registry=REGISTRY,
)
ATTEMPT_SECONDS = Histogram(
    "tidings_delivery_attempt_seconds",
    "Time of one delivery attempt (one HTTP request), by kind.",
    ["kind"],
    registry=REGISTRY,
)
LATENCY_SECONDS = Histogram(
    "tidings_delivery_latency_seconds",
    "From enqueue to accepted delivery, retries included, by kind.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600),
    registry=REGISTRY,
)
