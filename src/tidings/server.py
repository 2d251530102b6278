"""Builds the ASGI application and runs it: one process serving every HTTP gateway.

``build_app(settings)`` mounts every gateway's routes the same way (each is a
:class:`~tidings.gateways.Gateway`) and, in the app's lifespan, starts store, bus,
core, delivery workers and the gateways on one exit stack, so a failure part-way
stops what had started; ``serve(settings)`` runs it under uvicorn (on uvloop when
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
from collections.abc import AsyncIterator, Awaitable

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tidings import __version__
from tidings.admin import AdminMount
from tidings.bus import create_bus
from tidings.console import ConsoleMount
from tidings.core.hub import Core
from tidings.delivery import DeliveryWorkers
from tidings.files import LocalFileStorage
from tidings.gateways import CoreOf, Gateway
from tidings.gateways.bayeux import BayeuxMount
from tidings.gateways.connectycube import ConnectyCubeMount
from tidings.gateways.gms import GmsMount
from tidings.gateways.realtime import RealtimeMount
from tidings.gateways.rest import RestMount, install_error_handlers
from tidings.gateways.servicedesk import DeskPathMiddleware, ServiceDeskMount
from tidings.gateways.xmpp import XmppMount
from tidings.http_middleware import (
    BodyLimitMiddleware,
    CorsMiddleware,
    MetricsMiddleware,
    StorableInputMiddleware,
)
from tidings.http_timeouts import timed_http_protocol
from tidings.observability import configure_logging, render_metrics
from tidings.settings import Settings
from tidings.store.database import Database
from tidings.store.migrate import migrate
from tidings.widget import WidgetMount

log = logging.getLogger("tidings.server")

#: Allocations (minus frees) between young-generation collections (CPython: 700).
GC_THRESHOLD = 20_000


def build_gateways(settings: Settings, core_of: CoreOf) -> list[Gateway]:
    """Every gateway, in route order (a path meets the first route that matches it, so
    Bayeux's ``/genesys/cometd`` comes before the rest of ``/genesys``) and start order
    (GMS delivers over the started Bayeux gateway); they stop in reverse."""
    bayeux = BayeuxMount(core_of, "/genesys/cometd")
    return [
        RestMount(),
        ServiceDeskMount(),
        ConsoleMount(),
        AdminMount(),
        WidgetMount(),  # GET /widget.js (docs/widget.md)
        ConnectyCubeMount(core_of),
        bayeux,
        GmsMount(core_of, lambda: bayeux.gateway),
        RealtimeMount(core_of),
        XmppMount(core_of, settings.host, settings.xmpp_port),
    ]


@contextlib.asynccontextmanager
async def running(gateway: Gateway) -> AsyncIterator[None]:
    """``gateway`` started for the span of the block; a failed start is logged by name
    (whatever started before it is stopped by the enclosing exit stack)."""
    try:
        await gateway.start()
    except Exception as exc:
        log.error("gateway %s failed to start: %s", gateway.name, exc)
        raise
    try:
        yield
    finally:
        await gateway.stop()


def build_app(settings: Settings, *, run_migrations: bool = True) -> FastAPI:
    """The whole HTTP surface. The core is created when the app starts."""

    def core_of() -> Core:
        return app.state.core  # type: ignore[no-any-return]

    gateways = build_gateways(settings, core_of)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything is entered on one exit stack: a failure part-way stops what
        # already started, in reverse order, and so does shutdown.
        async with contextlib.AsyncExitStack() as stack:
            db = Database(settings.effective_database_url, sqlite_driver=settings.sqlite_driver)
            stack.push_async_callback(db.close)
            if run_migrations:
                await migrate(db)
            bus = create_bus(
                settings.bus_url,
                channel=f"{settings.redis_namespace}:events",
                client_name=f"tidings-{settings.node_id}",
                backlog=settings.bus_backlog,
            )
            await bus.start()
            stack.push_async_callback(bus.close)
            core = Core(settings, db, bus, LocalFileStorage(settings.files_dir))
            stack.push_async_callback(core.auth.aclose)
            stack.push_async_callback(core.outbound.aclose)
            app.state.core = core
            delivery = DeliveryWorkers(core)
            await delivery.start()
            stack.push_async_callback(delivery.stop)
            app.state.delivery = delivery
            # Sessions ending as their gateway stops mark what they saw: write it last.
            stack.push_async_callback(core.delivered_marks.flush)
            for gateway in gateways:
                await stack.enter_async_context(running(gateway))
            app.state.gateways = {gateway.name: gateway for gateway in gateways}
            # The running XMPP gateway, for operators' tools and tests.
            app.state.xmpp = next(g.gateway for g in gateways if isinstance(g, XmppMount))
            log.info(
                "started",
                extra={"node_id": settings.node_id, "bus": settings.bus_url.split(":")[0]},
            )
            yield

    app = FastAPI(
        title="tidings",
        version=__version__,
        description="Native REST API of tidings: in-app chat and customer support.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for gateway in gateways:
        app.router.routes.extend(gateway.routes())

    @app.get("/health", tags=["operations"])
    async def health() -> JSONResponse:
        """Liveness: 200 whenever the process answers HTTP. What it depends on is
        ``/ready``'s business, so a database outage never gets a node restarted."""
        return JSONResponse({"status": "ok", "node_id": settings.node_id, "version": __version__})

    @app.get("/ready", tags=["operations"])
    async def ready(request: Request) -> JSONResponse:
        """Readiness: 200 when the database and the bus answer (within 5 s each), else
        503; the body says which part is down and why."""
        core = request.app.state.core
        checks = {
            "database": await _check(core.db.ping()),
            "bus": await _check(core.bus.ping()),
        }
        up = all(c["status"] == "ok" for c in checks.values())
        body = {
            "status": "ok" if up else "unavailable",
            "version": __version__,
            "node_id": settings.node_id,
            **checks,
        }
        return JSONResponse(body, 200 if up else 503)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(StorableInputMiddleware)
    app.add_middleware(MetricsMiddleware, access_log=settings.access_log)
    app.add_middleware(CorsMiddleware)  # service-desk API and widget only
    app.add_middleware(DeskPathMiddleware)  # outermost: SDK paths are case-insensitive
    return app


async def _check(probe: Awaitable[None]) -> dict[str, str]:
    try:
        await asyncio.wait_for(probe, timeout=5)
    except Exception as exc:  # any failure of a dependency means not ready
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"status": "ok"}


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
