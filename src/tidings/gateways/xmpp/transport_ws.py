"""XMPP over WebSocket (RFC 7395) at ``/xmpp-websocket``: one element per text frame.

The ``xmpp`` subprotocol must be echoed or the Node ``ws`` client aborts
(connectycube-wire §9.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketDisconnect

from tidings.gateways.xmpp.connection import Link
from tidings.gateways.xmpp.protocol import XmppStream

if TYPE_CHECKING:
    from tidings.gateways.xmpp.gateway import XmppGateway

log = logging.getLogger("tidings.gateways.xmpp")


class _WsTransport:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()
        client = websocket.client
        self._peer = client.host if client else ""

    @property
    def peer(self) -> str:
        return self._peer

    def write(self, frames: list[bytes]) -> None:
        for frame in frames:
            self.outbox.put_nowait(frame.decode())

    def close(self) -> None:
        self.outbox.put_nowait(None)

    def channel_bindings(self) -> dict[str, bytes]:
        return {}  # the TLS under a WebSocket is not ours to see

    async def start_tls(self) -> None:  # pragma: no cover - never offered over WebSocket
        raise RuntimeError("TLS is the WebSocket's business")


async def handle_websocket(gateway: XmppGateway, websocket: WebSocket) -> None:
    if "xmpp" not in websocket.scope.get("subprotocols", []):
        await websocket.close(code=1002, reason="the xmpp subprotocol is required")
        return
    await websocket.accept(subprotocol="xmpp")
    transport = _WsTransport(websocket)
    stream = XmppStream(gateway.addressing.domain, websocket=True, caps=gateway.caps_feature)
    link = Link(gateway, stream, transport)
    gateway.links.add(link)
    writer = asyncio.create_task(_write(websocket, transport))
    try:
        while not stream.closed:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes") or (message.get("text") or "").encode()
            await link.data_received(data)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("XMPP WebSocket failed")
    finally:
        gateway.links.discard(link)
        await link.connection_lost()
        transport.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, 5)


async def _write(websocket: WebSocket, transport: _WsTransport) -> None:
    while (frame := await transport.outbox.get()) is not None:
        try:
            await websocket.send_text(frame)
        except Exception:
            return
    with contextlib.suppress(Exception):
        await websocket.close()
