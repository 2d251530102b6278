"""The GMS route table under ``/genesys``: one row per endpoint, in match order.

Find an endpoint here by its path, then read its handler: the Service API (§2)
in :mod:`.routes_service`, Callback Services (§3) in :mod:`.routes_callback`,
Chat v1 (§6) in :mod:`.routes_chat_v1`, Chat v2 (§8) in :mod:`.routes_chat_v2`.
What every endpoint shares (reading the body, the app from ``apikey``, the
caller's ``gms_user``, the §1.5 error shapes, a trailing ``/`` on every path)
is in :mod:`.endpoint`. ``/genesys/cometd`` is the Bayeux gateway's, mounted
before these routes; the Comet side of GMS (§7, §9) is in :mod:`.chat_v2_comet`
and the package's ``GmsGateway``.

Order matters where a literal segment and a parameter compete: ``callback`` and
``request-chat`` come before ``{service_id}``, named operations before ``{op}``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.routing import Route

from tidings.core.hub import Core
from tidings.gateways.gms import routes_callback as callback
from tidings.gateways.gms import routes_chat_v1 as chat_v1
from tidings.gateways.gms import routes_chat_v2 as chat_v2
from tidings.gateways.gms import routes_service as service
from tidings.gateways.gms.endpoint import ALL, Call, Handler, err, routes

GET, POST, PUT, DELETE = ("GET",), ("POST",), ("PUT",), ("DELETE",)
SERVICE = "/1/service/{service_id}"
CALLBACK = "/1/service/callback/{name}"
CHAT_V1 = SERVICE + "/ixn/chat"
CHAT_V2 = "/2/chat/{service_name}/{chat_id}"


async def unknown(call: Call) -> Response:
    """Anything else under ``/genesys`` (once the app is known): 404 in the §1.5 shape."""
    return err(404, "unknown resource")


TABLE: list[tuple[str, tuple[str, ...], Handler]] = [
    # Chat API v2 (§8)
    ("/2/chat/{service_name}", ALL, chat_v2.create),
    (CHAT_V2, ALL, chat_v2.refresh),
    (CHAT_V2 + "/refresh", ALL, chat_v2.refresh),
    (CHAT_V2 + "/send", ALL, chat_v2.send),
    (CHAT_V2 + "/startTyping", ALL, chat_v2.typing),
    (CHAT_V2 + "/stopTyping", ALL, chat_v2.typing),
    (CHAT_V2 + "/disconnect", ALL, chat_v2.disconnect),
    (CHAT_V2 + "/{op}", ALL, chat_v2.unsupported),
    # Callback Services API (§3)
    ("/1/service/callback", ALL, callback.find),
    (CALLBACK, POST, callback.create),
    (CALLBACK, GET + PUT + DELETE, callback.query),
    (CALLBACK + "/availability", ALL, callback.availability),
    (CALLBACK + "/{callback_id}", GET + POST, callback.read),
    (CALLBACK + "/{callback_id}", PUT, callback.reschedule),
    (CALLBACK + "/{callback_id}", DELETE, callback.cancel),
    # Service API (§2)
    ("/1/service/request-chat", POST, service.request_chat),
    (SERVICE, POST, service.create_or_read),
    (SERVICE, GET + PUT, service.read),
    (SERVICE, DELETE, service.cancel),
    # Chat API v1 (§6)
    (CHAT_V1, ALL, chat_v1.create),
    (CHAT_V1 + "/send", ALL, chat_v1.send),
    (CHAT_V1 + "/refresh", ALL, chat_v1.refresh),
    (CHAT_V1 + "/startTyping", ALL, chat_v1.typing),
    (CHAT_V1 + "/stopTyping", ALL, chat_v1.typing),
    (CHAT_V1 + "/disconnect", ALL, chat_v1.disconnect),
    (CHAT_V1 + "/{op:path}", ALL, chat_v1.unknown_operation),
    # Service dialog actions (§2.3)
    (SERVICE + "/get-dialog-user-confirmation", ALL, service.confirmation),
    (SERVICE + "/get-dialog-user-confirmation-provide_code-true", ALL, service.confirmation),
    (SERVICE + "/get-dialog-user-confirmation-provide_code-false", ALL, service.confirmation),
    (SERVICE + "/get-dialog-start-chat", ALL, service.start_chat_dialog),
    (SERVICE + "/connect-inbound", ALL, service.connect_inbound),
    (SERVICE + "/connect-outbound", ALL, service.connect_outbound),
    (SERVICE + "/connect", ALL, service.connect),
    (SERVICE + "/wait-for-agent", ALL, service.wait_for_agent),
    (SERVICE + "/snooze", ALL, service.snooze),
    (SERVICE + "/cancel", ALL, service.cancel_dialog),
    (SERVICE + "/check-queue-position", ALL, service.queue_position),
    (SERVICE + "/{action}", ALL, service.unknown_action),
    # Everything else
    ("/{path:path}", ALL, unknown),
]


def build_routes(core_of: Callable[[], Core]) -> list[Route]:
    """The table as Starlette routes; ``core_of()`` is the running server's core."""
    return routes(core_of, TABLE)
