"""ConnectyCube-compatible REST API: the unmodified ConnectyCube SDKs talk to tidings.

Mounted by ``server.py`` at ``/connectycube``; see ``docs/connectycube.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Mount

from tidings.gateways import CoreOf, Stateless
from tidings.gateways.connectycube.app import build_connectycube_app

PREFIX = "/connectycube"


class ConnectyCubeMount(Stateless):
    """The ConnectyCube gateway for the server (a :class:`~tidings.gateways.Gateway`):
    one sub-application with its own error shapes and CORS (``app.py``)."""

    name = "connectycube"

    def __init__(self, core_of: CoreOf) -> None:
        self.core_of = core_of

    def routes(self) -> Sequence[BaseRoute]:
        return [Mount(PREFIX, app=build_connectycube_app(self.core_of))]


__all__ = ["ConnectyCubeMount", "build_connectycube_app"]
