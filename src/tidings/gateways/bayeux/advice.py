"""Server parameters and the ``advice`` they produce (bayeux-server §3.5, §8).

Every successful handshake and connect reply advises ``retry``; ``handshake`` is
only ever advised on a failed reply (CometD JS throws otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BayeuxConfig:
    timeout_ms: int = 30_000
    hold_margin_ms: int = 1_000
    interval_ms: int = 0
    max_interval_ms: int = 10_000
    max_queue: int = 1_000
    max_queue_bytes: int = 1 << 20
    #: Publishes a client may make per second before its publishes are refused.
    max_publish_rate: int = 200
    transports: tuple[str, ...] = ("websocket", "long-polling")

    def advice(self) -> dict[str, Any]:
        return {"reconnect": "retry", "interval": self.interval_ms, "timeout": self.timeout_ms}

    def hold_ms(self, client_timeout: Any) -> int:
        """How long to hold a connect: min(client, server) timeout less the margin (§4.3)."""
        timeout = self.timeout_ms
        if isinstance(client_timeout, int | float) and not isinstance(client_timeout, bool):
            timeout = min(timeout, max(0, int(client_timeout)))
        if timeout <= 0:
            return 0
        return max(0, timeout - self.hold_margin_ms)


HANDSHAKE_AGAIN: dict[str, Any] = {"reconnect": "handshake", "interval": 0}
STOP: dict[str, Any] = {"reconnect": "none"}
