"""The operator's admin panel at ``/admin``: server-rendered pages for an app's
admins (overview, settings, chat alerts, broadcasts, users, outbox), in the
console's look, with a few lines of JavaScript that only refresh numbers."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Mount

from tidings.admin.render import HERE
from tidings.admin.routes import router
from tidings.gateways import Stateless


class AdminMount(Stateless):
    """The admin panel for the server, mounted like a gateway (a
    :class:`~tidings.gateways.Gateway`): its pages and static files."""

    name = "admin"

    def routes(self) -> Sequence[BaseRoute]:
        holder = APIRouter()
        holder.include_router(router)
        static = StaticFiles(directory=HERE / "static")
        return [*holder.routes, Mount("/admin/static", app=static, name="admin-static")]


__all__ = ["AdminMount"]
