"""The native REST API under ``/api/v1``, described by ``/openapi.json``."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from starlette.routing import BaseRoute

from tidings.gateways import Stateless
from tidings.gateways.rest.app import build_router, install_error_handlers


class RestMount(Stateless):
    """The REST gateway for the server (a :class:`~tidings.gateways.Gateway`): its
    routes read the core from the app's state; nothing runs beside requests. Its error
    shapes are app-wide (:func:`install_error_handlers`)."""

    name = "rest"

    def routes(self) -> Sequence[BaseRoute]:
        holder = APIRouter()
        holder.include_router(build_router())
        return holder.routes


__all__ = ["RestMount", "build_router", "install_error_handlers"]
