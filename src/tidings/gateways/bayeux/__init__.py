"""Bayeux 1.0 (CometD) server: sans-I/O protocol, long-polling and WebSocket transports.

``server.py`` creates one :class:`BayeuxGateway` and mounts :func:`build_routes`
at a base path (``/genesys/cometd`` for GMS clients; any app channel works).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from tidings.gateways import CoreOf, Running
from tidings.gateways.bayeux.advice import BayeuxConfig
from tidings.gateways.bayeux.mapping import BayeuxGateway
from tidings.gateways.bayeux.transport_http import long_polling, preflight
from tidings.gateways.bayeux.transport_ws import handle_websocket

__all__ = ["BayeuxConfig", "BayeuxGateway", "BayeuxMount", "build_routes"]


def build_routes(base: str, gateway_of: object) -> list[Route | WebSocketRoute]:
    """Routes for ``base``, ``base/`` and ``base/<suffix>`` (§2.1); ``gateway_of()`` is
    called per request because the gateway exists only once the app has started."""

    def gateway() -> BayeuxGateway:
        return gateway_of()  # type: ignore[operator, no-any-return]

    async def post(request: Request) -> Response:
        if request.method == "OPTIONS":
            return await preflight(request)
        return await long_polling(gateway(), request)

    async def socket(websocket: WebSocket) -> None:
        await handle_websocket(gateway(), websocket)

    return [
        Route(base, post, methods=["POST", "OPTIONS"]),
        Route(base + "/{suffix:path}", post, methods=["POST", "OPTIONS"]),
        WebSocketRoute(base, socket),
        WebSocketRoute(base + "/", socket),
    ]


class BayeuxMount(Running[BayeuxGateway]):
    """The Bayeux gateway for the server (a :class:`~tidings.gateways.Gateway`) at
    ``base``: ``start`` makes the :class:`BayeuxGateway` (GMS reaches it as
    ``gateway``, its Comet sink)."""

    name = "bayeux"

    def __init__(self, core_of: CoreOf, base: str) -> None:
        self.core_of = core_of
        self.base = base

    def routes(self) -> list[Route | WebSocketRoute]:
        return build_routes(self.base, lambda: self.gateway)

    async def build(self) -> BayeuxGateway:
        return BayeuxGateway(self.core_of())
