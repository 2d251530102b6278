"""The agent web console at ``/console``: server-rendered pages, a little JavaScript,
live updates over a WebSocket of its own (``/console/ws``)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Mount

from tidings.console.routes import HERE, install_console, router
from tidings.gateways import Stateless


class ConsoleMount(Stateless):
    """The console for the server, mounted like a gateway (a
    :class:`~tidings.gateways.Gateway`): its pages, socket and static files."""

    name = "console"

    def routes(self) -> Sequence[BaseRoute]:
        holder = APIRouter()
        holder.include_router(router)
        static = StaticFiles(directory=HERE / "static")
        return [*holder.routes, Mount("/console/static", app=static, name="console-static")]


__all__ = ["ConsoleMount", "install_console"]
