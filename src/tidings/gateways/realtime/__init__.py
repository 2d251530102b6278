"""The native real-time gateway: JSON frames over a WebSocket at ``/api/v1/ws``.

``server.py`` needs only :class:`RealtimeMount`; the wire format is described
in :mod:`tidings.gateways.realtime.protocol` and ``docs/realtime.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from tidings.gateways import CoreOf, Running
from tidings.gateways.realtime.transport import RealtimeGateway

PATH = "/api/v1/ws"


class RealtimeMount(Running[RealtimeGateway]):
    """The real-time gateway for the server (a :class:`~tidings.gateways.Gateway`):
    ``start`` makes the :class:`RealtimeGateway` that follows the bus."""

    name = "realtime"

    def __init__(self, core_of: CoreOf) -> None:
        self.core_of = core_of

    def routes(self) -> Sequence[BaseRoute]:
        return [WebSocketRoute(PATH, self._socket)]

    async def _socket(self, websocket: WebSocket) -> None:
        if self.gateway is None:  # not started yet, or stopping: try again later
            await websocket.close(code=1013)
            return
        await self.gateway.handle(websocket)

    async def build(self) -> RealtimeGateway:
        return RealtimeGateway(self.core_of())


__all__ = ["RealtimeGateway", "RealtimeMount"]
