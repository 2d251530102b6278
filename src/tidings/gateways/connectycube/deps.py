"""What every ConnectyCube route needs: the core, the services, the session, the params."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from tidings import jsonbody
from tidings.core.app_sessions import AppSession, AppSessionService
from tidings.core.blobs import BlobService
from tidings.core.hub import Core
from tidings.core.message_lookup import MessageLookup
from tidings.core.system_messages import SystemMessageService
from tidings.domain.errors import Forbidden, InvalidInput, TooLarge
from tidings.domain.models import Actor
from tidings.gateways.connectycube.query import ParamsError, parse_params

TOKEN_HEADER = "cb-token"


class Services:
    """The core plus the compatibility services, made once per core."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.sessions = AppSessionService(core)
        self.blobs = BlobService(core)
        self.lookup = MessageLookup(core)
        self.system = SystemMessageService(core)


@dataclass
class Gateway:
    """Holds how to reach the core, which exists only once the server has started."""

    core_getter: Callable[[], Core]
    _services: Services | None = None

    def services(self) -> Services:
        core = self.core_getter()
        if self._services is None or self._services.core is not core:
            self._services = Services(core)
        return self._services


def services(request: Request) -> Services:
    gateway: Gateway = request.app.state.connectycube
    return gateway.services()


def token_of(request: Request) -> str | None:
    return request.headers.get(TOKEN_HEADER) or request.query_params.get("token") or None


async def session(request: Request) -> AppSession:
    """The session behind ``CB-Token``; a missing or dead one is the expiry 401 (§2.6)."""
    return await services(request).sessions.resolve(token_of(request))


async def user_actor(request: Request) -> Actor:
    """The logged-in user; an application session may not act as one."""
    found = await session(request)
    if found.user_id is None:
        raise Forbidden("log in first: this is an application session", code="user_required")
    return found.actor


async def params(request: Request) -> dict[str, Any]:
    """Parameters wherever the SDK put them: JSON body (POST, PUT), query string (GET),
    form body (DELETE, §2.3) — query and body merged, body winning."""
    try:
        merged: dict[str, Any] = parse_params(request.url.query)
        body = await request.body()
        if body.strip():
            kind = request.headers.get("content-type", "")
            text = body.decode("utf-8", "replace").lstrip()
            if "json" in kind or text.startswith(("{", "[")):
                data = jsonbody.loads(text, max_bytes=None)  # the server caps bodies
                if not isinstance(data, dict):
                    raise InvalidInput("the request body must be a JSON object")
                merged.update(data)
            else:
                merged.update(parse_params(body))
    except (ParamsError, UnicodeError) as exc:
        raise InvalidInput(str(exc)) from None
    except jsonbody.TooLarge as exc:
        raise TooLarge(exc.message) from None
    except jsonbody.JsonError as exc:
        raise InvalidInput(exc.message, code=exc.code) from None
    return merged


def chat_domain(request: Request) -> str:
    return services(request).core.settings.xmpp_domain


def api_base(request: Request) -> str:
    """Where this API is mounted, as the client reached it (for upload and file URLs)."""
    root = request.scope.get("root_path", "")
    return f"{request.url.scheme}://{request.url.netloc}{root}"
