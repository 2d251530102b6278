"""Comet (Bayeux) broadcasts as domain events, so every node's sessions hear them.

A publish on an application channel goes through the bus (the Redis bus with
several nodes): each node's Bayeux gateway queues it for its own sessions of the
publisher's app, so a client long-polling any node receives what was published on
another, and no app hears another's channels.

Sessions themselves move through the bus too: a node asked about a ``clientId``
it does not hold publishes ``CometSessionWanted`` and the holder answers with
``CometSessionMoved`` (the session as JSON), so a client may switch nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidings.domain.events import Event, _event

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

    async def publish(self, channel: str, data: Any, *, app_id: int) -> None:
        """Broadcast to every node, for the sessions of ``app_id`` only (every Bayeux
        session is bound to the app whose key it handshook with)."""
        await self.core.publish(CometPublished(app_id=app_id, channel=channel, data=data))

    async def want_session(self, client_id: str, node: str) -> None:
        """Ask the node holding Bayeux session ``client_id`` to hand it to ``node``."""
        await self.core.publish(CometSessionWanted(app_id=0, client_id=client_id, node=node))

    async def hand_over(self, client_id: str, node: str, session: dict[str, Any]) -> None:
        await self.core.publish(
            CometSessionMoved(app_id=0, client_id=client_id, node=node, session=session)
        )


@_event("comet.session_wanted")
class CometSessionWanted(Event):
    """Node ``node`` got a request for a session it does not hold (bayeux docs: nodes)."""

    client_id: str
    node: str


@_event("comet.session_moved")
class CometSessionMoved(Event):
    """The session's holder gave it (subscriptions, attributes, queue) to ``node``."""

    client_id: str
    node: str
    session: dict[str, Any]
