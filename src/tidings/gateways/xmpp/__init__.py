"""The XMPP gateway: c2s over TCP with STARTTLS (RFC 6120) and over WebSocket (RFC 7395).

``server.py`` uses :class:`XmppGateway`, :func:`start_xmpp_listener` and
:func:`handle_websocket`; the layout is described in ``docs/xmpp.md``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tidings.gateways.xmpp.certificates import server_context
from tidings.gateways.xmpp.gateway import XmppGateway
from tidings.gateways.xmpp.transport_tcp import start_tcp_server
from tidings.gateways.xmpp.transport_ws import handle_websocket

if TYPE_CHECKING:
    from tidings.core.hub import Core


async def start_xmpp_listener(
    core: Core, host: str, port: int, gateway: XmppGateway | None = None
) -> tuple[asyncio.Server, int]:
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
    server.xmpp_gateway = gateway  # type: ignore[attr-defined]
    bound = server.sockets[0].getsockname()[1]
    return server, bound


async def stop_xmpp_listener(server: asyncio.Server) -> None:
    server.close()
    gateway: XmppGateway = server.xmpp_gateway  # type: ignore[attr-defined]
    await gateway.stop()
    await server.wait_closed()


__all__ = ["XmppGateway", "handle_websocket", "start_xmpp_listener", "stop_xmpp_listener"]
