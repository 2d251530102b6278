"""Pyrus service-desk compatible gateway: ``/servicedeskapi/v1/`` for the mobile SDKs."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from starlette.routing import BaseRoute

from tidings.gateways import Stateless
from tidings.gateways.servicedesk.routes import DeskPathMiddleware, router


class ServiceDeskMount(Stateless):
    """The service-desk gateway for the server (a :class:`~tidings.gateways.Gateway`).
    The SDKs' paths are case-insensitive: the server also installs
    :class:`DeskPathMiddleware`, outermost."""

    name = "servicedesk"

    def routes(self) -> Sequence[BaseRoute]:
        holder = APIRouter()
        holder.include_router(router)
        return holder.routes


__all__ = ["DeskPathMiddleware", "ServiceDeskMount", "router"]
