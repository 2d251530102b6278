"""Pyrus service-desk compatible gateway: ``/servicedeskapi/v1/`` for the mobile SDKs."""

from tidings.gateways.servicedesk.routes import DeskPathMiddleware, router

__all__ = ["DeskPathMiddleware", "router"]
