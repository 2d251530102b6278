"""The XMPP gateway: c2s over TCP with STARTTLS (RFC 6120) and over WebSocket (RFC 7395).

``server.py`` uses :class:`XmppMount`; tests start listeners of their own with
:func:`start_xmpp_listener`. The layout is described in ``docs/xmpp.md``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from tidings.gateways import CoreOf
from tidings.gateways.xmpp.certificates import server_context
from tidings.gateways.xmpp.gateway import XmppGateway
from tidings.gateways.xmpp.transport_tcp import start_tcp_server
from tidings.gateways.xmpp.transport_ws import handle_websocket

if TYPE_CHECKING:
    from tidings.core.hub import Core


@dataclass
class XmppListener:
    """A bound c2s socket and the gateway it feeds (uvloop's servers take no attributes)."""

    server: asyncio.AbstractServer
    gateway: XmppGateway

    def close(self) -> None:
        self.server.close()


async def start_xmpp_listener(
    core: Core, host: str, port: int, gateway: XmppGateway | None = None
) -> tuple[XmppListener, int]:
    """Listen for c2s on ``host:port`` (0 picks one); returns the server and its port.

    Without ``gateway`` a new one is made and started (tests); its ``stop`` runs
    when the returned server is closed via :func:`stop_xmpp_listener`.
    """
    settings = core.settings
    if gateway is None:
        gateway = XmppGateway(core)
        await gateway.start()
    if gateway.ssl_context is None:
        gateway.ssl_context = await asyncio.to_thread(
            server_context,
            settings.xmpp_cert,
            settings.xmpp_key,
            settings.data_dir,
            settings.xmpp_domain,
        )
    server = await start_tcp_server(gateway, host, port)
    bound = server.sockets[0].getsockname()[1]
    return XmppListener(server, gateway), bound


async def stop_xmpp_listener(listener: XmppListener) -> None:
    listener.close()
    await listener.gateway.stop()
    await listener.server.wait_closed()


log = logging.getLogger("tidings.gateways.xmpp")
#: RFC 7395 over the HTTP port.
WEBSOCKET_PATH = "/xmpp-websocket"


class XmppMount:
    """The XMPP gateway for the server (a :class:`~tidings.gateways.Gateway`): the
    WebSocket route, and on ``start`` the :class:`XmppGateway` plus its c2s TCP
    listener on ``host:port`` (none when ``port`` is 0)."""

    name = "xmpp"

    def __init__(self, core_of: CoreOf, host: str, port: int) -> None:
        self.core_of = core_of
        self.host = host
        self.port = port
        self.gateway: XmppGateway | None = None
        self.listener: XmppListener | None = None

    def routes(self) -> Sequence[BaseRoute]:
        return [WebSocketRoute(WEBSOCKET_PATH, self._socket)]

    async def _socket(self, websocket: WebSocket) -> None:
        if self.gateway is None:  # not started yet, or stopping: try again later
            await websocket.close(code=1013)
            return
        await handle_websocket(self.gateway, websocket)

    async def start(self) -> None:
        core = self.core_of()
        gateway = XmppGateway(core)
        await gateway.start()
        try:
            if self.port != 0:
                self.listener, bound = await _listen(core, self.host, self.port, gateway)
                log.info("xmpp listening", extra={"port": bound})
        except BaseException:
            await gateway.stop()
            raise
        self.gateway = gateway

    async def stop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        gateway, self.gateway = self.gateway, None
        if gateway is not None:
            await gateway.stop()


async def _listen(
    core: Core, host: str, port: int, gateway: XmppGateway
) -> tuple[XmppListener, int]:
    """:func:`start_xmpp_listener`, with an error that names the address it could not bind."""
    try:
        return await start_xmpp_listener(core, host, port, gateway)
    except OSError as exc:
        raise OSError(
            exc.errno, f"cannot listen for XMPP on {host}:{port}: {exc.strerror or exc}"
        ) from exc


__all__ = [
    "XmppGateway",
    "XmppListener",
    "XmppMount",
    "handle_websocket",
    "start_xmpp_listener",
    "stop_xmpp_listener",
]
