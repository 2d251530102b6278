"""Comet (Bayeux) broadcasts as domain events, so every node's sessions hear them.

A publish on an application channel goes through the bus (the Redis bus with
several nodes): each node's Bayeux gateway queues it for its own sessions, so a
client long-polling any node receives what was published on another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidings.core.events import Event, _event

if TYPE_CHECKING:
    from tidings.core.hub import Core


@_event("comet.published")
class CometPublished(Event):
    """``data`` published on Bayeux ``channel`` (never ``/meta`` or ``/service``)."""

    channel: str
    data: Any


class CometService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def publish(self, channel: str, data: Any, *, app_id: int = 0) -> None:
        """Broadcast to every node; ``app_id`` 0 = not tied to an app (any CometD client)."""
        await self.core.publish(CometPublished(app_id=app_id, channel=channel, data=data))
