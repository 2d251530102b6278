"""The web chat widget: ``/widget.js``, one script a site includes to open the
service-desk chat in a bubble. It speaks the same ``/servicedeskapi/v1`` API as the
mobile SDKs (docs/widget.md); the server only serves the file."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from tidings.gateways import Stateless
from tidings.widget.routes import router


class WidgetMount(Stateless):
    """The widget's script, mounted like a gateway (a :class:`~tidings.gateways.Gateway`)."""

    name = "widget"

    def routes(self) -> Sequence[BaseRoute]:
        return list(router.routes)


__all__ = ["WidgetMount", "router"]
