"""The native real-time gateway: JSON frames over a WebSocket at ``/api/v1/ws``.

``server.py`` needs only :class:`RealtimeGateway`; the wire format is described
in :mod:`tidings.gateways.realtime.protocol` and ``docs/realtime.md``.
"""

from tidings.gateways.realtime.transport import RealtimeGateway

__all__ = ["RealtimeGateway"]
