"""Builds the ASGI application and runs it: one process serving every HTTP gateway.

``build_app(settings)`` wires store, bus, file storage and core together in the
app's lifespan; ``serve(settings)`` runs it under uvicorn (on uvloop when
installed) and prints the address it listens on, so ``--port 0`` is usable by
scripts and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import sys
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response

from tidings import __version__
from tidings.bus import create_bus
from tidings.console import install_console
from tidings.core.hub import Core
from tidings.delivery import DeliveryWorkers
from tidings.files import LocalFileStorage
from tidings.gateways.bayeux import BayeuxGateway
from tidings.gateways.bayeux import build_routes as bayeux_routes
from tidings.gateways.connectycube import build_connectycube_app
from tidings.gateways.gms import GmsGateway
from tidings.gateways.gms import build_routes as gms_routes
from tidings.gateways.realtime import RealtimeGateway
from tidings.gateways.rest import build_router, install_error_handlers
from tidings.gateways.servicedesk import DeskPathMiddleware
from tidings.gateways.servicedesk import router as servicedesk_router
from tidings.gateways.xmpp import XmppGateway, handle_websocket, start_xmpp_listener
from tidings.http_middleware import BodyLimitMiddleware, MetricsMiddleware, StorableInputMiddleware
from tidings.http_timeouts import timed_http_protocol
from tidings.observability import configure_logging, render_metrics
from tidings.settings import Settings
from tidings.store.database import Database
from tidings.store.migrate import migrate

log = logging.getLogger("tidings.server")

#: Allocations (minus frees) between young-generation collections (CPython: 700).
GC_THRESHOLD = 20_000


def build_app(settings: Settings, *, run_migrations: bool = True) -> FastAPI:
    """The whole HTTP surface. The core is created when the app starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.effective_database_url, sqlite_driver=settings.sqlite_driver)
        if run_migrations:
            await migrate(db)
        bus = create_bus(
            settings.bus_url,
            client_name=f"tidings-{settings.node_id}",
            backlog=settings.bus_backlog,
        )
        await bus.start()
        core = Core(settings, db, bus, LocalFileStorage(settings.files_dir))
        realtime = RealtimeGateway(core)
        await realtime.start()
        xmpp = XmppGateway(core)
        await xmpp.start()
        app.state.xmpp = xmpp
        xmpp_server = None
        if settings.xmpp_port != 0:
            xmpp_server, xmpp_port = await start_xmpp_listener(
                core, settings.host, settings.xmpp_port, xmpp
            )
            log.info("xmpp listening", extra={"port": xmpp_port})
        bayeux = BayeuxGateway(core)
        await bayeux.start()
        app.state.bayeux = bayeux
        gms = GmsGateway(core, bayeux)
        await gms.start()
        delivery = DeliveryWorkers(core)
        await delivery.start()
        app.state.delivery = delivery
        app.state.core = core
        app.state.realtime = realtime
        log.info(
            "started", extra={"node_id": settings.node_id, "bus": settings.bus_url.split(":")[0]}
        )
        try:
            yield
        finally:
            if xmpp_server is not None:
                xmpp_server.close()
            await xmpp.stop()
            await realtime.stop()
            await core.delivered_marks.flush()
            await delivery.stop()
            await gms.stop()
            await bayeux.stop()
            await bus.close()
            await core.outbound.aclose()
            await core.auth.aclose()
            await db.close()

    app = FastAPI(
        title="tidings",
        version=__version__,
        description="Native REST API of tidings: in-app chat and customer support.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(build_router())
    app.include_router(servicedesk_router)
    install_console(app)
    app.mount("/connectycube", build_connectycube_app(lambda: app.state.core))
    app.router.routes.extend(bayeux_routes("/genesys/cometd", lambda: app.state.bayeux))
    app.router.routes.extend(gms_routes(lambda: app.state.core))

    @app.websocket("/xmpp-websocket")
    async def xmpp_socket(websocket: WebSocket) -> None:
        await handle_websocket(websocket.app.state.xmpp, websocket)

    @app.websocket("/api/v1/ws")
    async def realtime_socket(websocket: WebSocket) -> None:
        await websocket.app.state.realtime.handle(websocket)

    @app.get("/health", tags=["operations"])
    async def health(request: Request) -> JSONResponse:
        """200 while the database answers, 503 otherwise."""
        try:
            await asyncio.wait_for(request.app.state.core.db.ping(), timeout=5)
        except Exception as exc:  # any database failure means unhealthy
            return JSONResponse({"status": "unavailable", "error": str(exc)[:200]}, 503)
        return JSONResponse({"status": "ok", "node_id": settings.node_id})

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(StorableInputMiddleware)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(DeskPathMiddleware)  # outermost: SDK paths are case-insensitive
    return app


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def tune_garbage_collector() -> None:
    """Keep CPython's cycle collector out of the delivery path.

    A server holds a large, long-lived heap (modules, SQLAlchemy's compiled
    statements, one session per connection). With the default thresholds, the
    full collections that walk all of it come often and each pauses the loop for
    tens of milliseconds: with 1,000 connected sessions they were the slowest
    deliveries of a room fan-out. ``gc.freeze()`` moves what exists after start-up
    out of the collector's sight, and a higher first threshold makes collections
    rarer (most of tidings' garbage is freed by reference counting anyway).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)


async def serve(settings: Settings) -> None:
    """Run until interrupted. Prints ``tidings listening on http://HOST:PORT`` once bound."""
    configure_logging(settings.log_format, settings.log_level)
    sock = bind_socket(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        build_app(settings),
        log_config=None,
        access_log=False,
        lifespan="on",
        ws_max_size=1 << 20,
        loop="auto",
        # Slow or silent requests are closed (slowloris); idle kept-alive ones too.
        http=timed_http_protocol(settings.http_header_timeout, settings.http_body_timeout),
        timeout_keep_alive=settings.http_keepalive_timeout,
    )
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        if server.started:
            tune_garbage_collector()
            print(f"tidings listening on http://{host}:{port}", flush=True)
            log.info("listening", extra={"url": f"http://{host}:{port}"})

    server.startup = startup  # type: ignore[method-assign]
    await server.serve(sockets=[sock])
    if not server.started:
        sys.exit(1)
