"""Genesys Mobile Services (GMS) gateway under ``/genesys``: callbacks, dialogs, chat.

``GmsGateway`` holds what is not a request: the callback scheduler task and the
Comet side — it turns :class:`~tidings.core.gms_chats.GmsChatChanged` events into
``/_genesys`` deliveries for the Bayeux sessions bound to the chat's app and
``gms_user`` (gms-callback-chat-wire §7). ``server.py`` hands it the Bayeux gateway
as a :class:`CometSink`, so the two gateways never import each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tidings.core.gms_chats import Chat, Entry, GmsChatChanged
from tidings.core.hub import Core
from tidings.domain.errors import Unavailable
from tidings.domain.events import Event
from tidings.gateways.gms.chat_v2_comet import PREFIX as CHAT_V2
from tidings.gateways.gms.chat_v2_comet import ChatV2Comet
from tidings.gateways.gms.mapping import error_body, notification
from tidings.gateways.gms.routes import dispatch

__all__ = ["CometSink", "GmsGateway", "build_routes"]

log = logging.getLogger("tidings.gms")
CHANNEL = "/_genesys"
PENDING_TTL = 60.0
#: The Bayeux session attributes naming its app and its GMS user (set at handshake).
APP = "app_id"
USER = "gms_user"


class CometSink(Protocol):
    def deliver(self, client_id: str, channel: str, data: Any) -> bool: ...
    def sessions_where(self, **attributes: str) -> list[Any]: ...
    def on_subscribe(self, listener: Any) -> None: ...
    def session_of(self, client_id: str) -> Any: ...
    def register_service(self, prefix: str, handler: Any) -> None: ...


class GmsGateway:
    def __init__(self, core: Core, comet: CometSink) -> None:
        self.core = core
        self.comet = comet
        #: (app id, gms_user) -> notifications waiting for a /_genesys subscription
        #: (§7.2 race).
        self._pending: dict[tuple[str, str], list[tuple[float, dict[str, Any]]]] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._scheduler: asyncio.Task[None] | None = None
        comet.on_subscribe(self._subscribed)
        self.chat_v2 = ChatV2Comet(core, comet)
        comet.register_service(CHAT_V2, self.chat_v2.handle)

    async def start(self) -> None:
        self._unsubscribe = self.core.bus.subscribe(self._on_event)
        self._scheduler = asyncio.create_task(self._schedule(), name="gms-scheduler")

    async def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        if self._scheduler:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler

    async def _schedule(self) -> None:
        """Push callbacks whose scheduled or snoozed time has come (every second)."""
        while True:
            await asyncio.sleep(1)
            self._prune_pending()
            try:
                await self.core.callbacks.run_due()
            except Exception:
                log.exception("callback scheduler failed")

    def _prune_pending(self) -> None:
        """Forget notifications nobody subscribed for in time (every anonymous phone is
        a user of its own, so chats followed only over REST would pile up)."""
        oldest = time.monotonic() - PENDING_TTL
        for owner in list(self._pending):
            fresh = [(at, data) for at, data in self._pending[owner] if at > oldest]
            if fresh:
                self._pending[owner] = fresh
            else:
                del self._pending[owner]

    async def _on_event(self, event: Event) -> None:
        if not isinstance(event, GmsChatChanged):
            return
        header = event.chat
        chat = Chat(
            service_id=event.service_id,
            app_id=event.app_id,
            ticket_id=0,
            gms_user=event.gms_user,
            chat_session_id=header["chat_session_id"],
            secure_key="",
            nickname="",
            subject="",
            state=header["state"],
            last_position=header["last_position"],
            started_ms=header["started_ms"],
        )
        entries = [Entry(e[0], e[1], e[2], e[3], e[4], e[5]) for e in event.entries]
        self.chat_v2.chat_changed(chat, entries)
        data = notification(event.service_id, chat, entries)
        owner = (str(event.app_id), event.gms_user)
        sessions = [
            s
            for s in self.comet.sessions_where(**{APP: owner[0], USER: owner[1]})
            if s.subscribed_to(CHANNEL)
        ]
        if not sessions:
            self._pending.setdefault(owner, []).append((time.monotonic(), data))
            return
        for session in sessions:
            self.comet.deliver(session.id, CHANNEL, data)

    async def _subscribed(self, client_id: str, subscriptions: tuple[str, ...]) -> None:
        if CHANNEL not in subscriptions:
            return
        session = self.comet.session_of(client_id)
        if session is None or not session.attributes.get(USER):
            return
        owner = (session.attributes.get(APP, ""), session.attributes[USER])
        now = time.monotonic()
        for at, data in self._pending.pop(owner, []):
            if now - at < PENDING_TTL:
                self.comet.deliver(client_id, CHANNEL, data)


def build_routes(core_of: Callable[[], Core]) -> list[Route]:
    async def endpoint(request: Request) -> Response:
        try:
            response = await dispatch(core_of(), request)
        except Unavailable as exc:  # the database connection broke: retry (§1.5 shape)
            response = JSONResponse(error_body(503, exc.message, "ServiceUnavailable"), 503)
        if response.status_code == 503:
            response.headers.setdefault("Retry-After", "1")
        return response

    methods = ["GET", "POST", "PUT", "DELETE"]
    return [Route("/genesys/{path:path}", endpoint, methods=methods)]
