"""The native REST API under ``/api/v1``, described by ``/openapi.json``."""

from tidings.gateways.rest.app import build_router, install_error_handlers

__all__ = ["build_router", "install_error_handlers"]
