"""Genesys Mobile Services (GMS) gateway under ``/genesys``: callbacks, dialogs, chat.

``GmsGateway`` holds what is not a request: the callback scheduler task and the
Comet side — it turns :class:`~tidings.core.gms_chats.GmsChatChanged` events into
``/_genesys`` deliveries for the Bayeux sessions bound to the chat's app and
``gms_user`` (gms-callback-chat-wire §7) and chat v2 events, and after a bus gap
reads what those sessions missed back from the store. ``server.py`` hands it the Bayeux gateway
as a :class:`CometSink`, so the two gateways never import each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from starlette.routing import Route

from tidings.core.gms_chats import Chat, Entry
from tidings.core.hub import Core
from tidings.domain.events import Event, GmsChatChanged
from tidings.gateways import CoreOf, Running
from tidings.gateways.gms import routes
from tidings.gateways.gms.chat_v2_comet import PREFIX as CHAT_V2
from tidings.gateways.gms.chat_v2_comet import ChatV2Comet
from tidings.gateways.gms.genesys_comet import CHANNEL, GenesysNotifier
from tidings.gateways.gms.push import ready_push

__all__ = ["CometSink", "GmsGateway", "GmsMount", "build_routes"]

log = logging.getLogger("tidings.gms")


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
        self._unsubscribe: list[Callable[[], None]] = []
        self._scheduler: asyncio.Task[None] | None = None
        comet.on_subscribe(self._subscribed)
        self.genesys = GenesysNotifier(core, comet)
        self.chat_v2 = ChatV2Comet(core, comet)
        comet.register_service(CHAT_V2, self.chat_v2.handle)

    async def start(self) -> None:
        self.core.callbacks.ready_push = ready_push
        self._unsubscribe = [
            self.core.bus.subscribe(self._on_event),
            self.core.bus.on_resume(self._catch_up),
        ]
        self._scheduler = asyncio.create_task(self._schedule(), name="gms-scheduler")

    async def stop(self) -> None:
        for undo in self._unsubscribe:
            undo()
        self._unsubscribe = []
        if self._scheduler:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler

    async def _schedule(self) -> None:
        """Push callbacks whose scheduled or snoozed time has come (every second)."""
        while True:
            await asyncio.sleep(1)
            self.genesys.prune_pending()
            try:
                await self.core.callbacks.run_due()
            except Exception:
                log.exception("callback scheduler failed")

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
        self.genesys.chat_changed(chat, entries)

    async def _catch_up(self, since_ms: int) -> None:
        """The bus's resume handler: transcript entries whose events this node may have
        missed reach its Comet sessions from the store, each once (positions)."""
        await self.chat_v2.catch_up()
        await self.genesys.catch_up(since_ms)

    async def _subscribed(self, client_id: str, subscriptions: tuple[str, ...]) -> None:
        if CHANNEL in subscriptions:
            self.genesys.subscribed(client_id)


def build_routes(core_of: Callable[[], Core]) -> list[Route]:
    """The GMS REST endpoints: the route table of :mod:`tidings.gateways.gms.routes`
    (a lost database answers 503 with ``Retry-After``, see ``endpoint``)."""
    return routes.build_routes(core_of)


class GmsMount(Running[GmsGateway]):
    """The GMS gateway for the server (a :class:`~tidings.gateways.Gateway`): the REST
    route table, and on ``start`` the :class:`GmsGateway` on the Comet sink that
    ``comet_of()`` returns (the started Bayeux gateway)."""

    name = "gms"

    def __init__(self, core_of: CoreOf, comet_of: Callable[[], CometSink | None]) -> None:
        self.core_of = core_of
        self.comet_of = comet_of

    def routes(self) -> list[Route]:
        return build_routes(self.core_of)

    async def build(self) -> GmsGateway:
        comet = self.comet_of()
        if comet is None:
            raise RuntimeError("the GMS gateway starts after the Bayeux gateway")
        return GmsGateway(self.core_of(), comet)
