"""The XMPP gateway: c2s over TCP with STARTTLS (RFC 6120) and over WebSocket (RFC 7395).

``server.py`` uses :class:`XmppGateway`, :func:`start_xmpp_listener` and
:func:`handle_websocket`; the layout is described in ``docs/xmpp.md``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


__all__ = [
    "XmppGateway",
    "XmppListener",
    "handle_websocket",
    "start_xmpp_listener",
    "stop_xmpp_listener",
]
