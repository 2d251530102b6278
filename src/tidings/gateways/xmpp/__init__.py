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
from tidings.gateways.xmpp.certificates import dev_certificate, server_context
from tidings.gateways.xmpp.channel_binding import server_end_point_of_file
from tidings.gateways.xmpp.gateway import XmppGateway
from tidings.gateways.xmpp.transport_tcp import start_tcp_server
from tidings.gateways.xmpp.transport_upload import upload_routes
from tidings.gateways.xmpp.transport_ws import handle_websocket

if TYPE_CHECKING:
    from tidings.core.hub import Core
    from tidings.settings import Settings


@dataclass
class XmppListener:
    """A bound c2s socket and the gateway it feeds (uvloop's servers take no attributes)."""

    server: asyncio.AbstractServer
    gateway: XmppGateway

    def close(self) -> None:
        self.server.close()


async def start_xmpp_listener(
    core: Core,
    host: str,
    port: int,
    gateway: XmppGateway | None = None,
    *,
    direct_tls: bool = False,
) -> tuple[XmppListener, int]:
    """Listen for c2s on ``host:port`` (0 picks one); returns the server and its port.
    ``direct_tls``: XEP-0368, TLS from the first byte (ALPN ``xmpp-client``).

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
    if gateway.server_end_point is None:
        gateway.server_end_point = await asyncio.to_thread(_server_end_point, settings)
    if direct_tls:  # XEP-0368 §3; a client offering no ALPN, or others only, gets none
        gateway.ssl_context.set_alpn_protocols(["xmpp-client"])
    server = await start_tcp_server(gateway, host, port, direct_tls=direct_tls)
    bound = server.sockets[0].getsockname()[1]
    return XmppListener(server, gateway), bound


def _server_end_point(settings: Settings) -> bytes | None:
    """``tls-server-end-point`` of the certificate :func:`server_context` loaded."""
    cert = settings.xmpp_cert or str(dev_certificate(settings.data_dir, settings.xmpp_domain)[0])
    return server_end_point_of_file(cert)


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
        #: XEP-0368 direct TLS, on ``TIDINGS_XMPP_TLS_PORT`` when it is set.
        self.tls_listener: XmppListener | None = None

    def routes(self) -> Sequence[BaseRoute]:
        return [WebSocketRoute(WEBSOCKET_PATH, self._socket), *upload_routes(self.core_of)]

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
            if core.settings.xmpp_tls_port != 0:
                self.tls_listener, bound = await _listen(
                    core, self.host, core.settings.xmpp_tls_port, gateway, direct_tls=True
                )
                log.info("xmpp direct TLS listening", extra={"port": bound})
        except BaseException:
            await gateway.stop()
            raise
        self.gateway = gateway

    async def stop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        tls_listener, self.tls_listener = self.tls_listener, None
        if tls_listener is not None:
            tls_listener.close()
        gateway, self.gateway = self.gateway, None
        if gateway is not None:
            await gateway.stop()


async def _listen(
    core: Core, host: str, port: int, gateway: XmppGateway, *, direct_tls: bool = False
) -> tuple[XmppListener, int]:
    """:func:`start_xmpp_listener`, with an error that names the address it could not bind."""
    try:
        return await start_xmpp_listener(core, host, port, gateway, direct_tls=direct_tls)
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
