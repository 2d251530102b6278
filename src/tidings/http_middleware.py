"""ASGI middleware shared by every HTTP gateway: body limits, input hygiene, metrics
and the access log, and CORS for the paths browsers on other origins call.

Also :class:`JsonBodyRoute`, the FastAPI route class through which routes that
declare a JSON body model read it with :mod:`tidings.jsonbody`'s limits.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Mount

from tidings import jsonbody
from tidings.observability import HTTP_LATENCY, HTTP_REQUESTS, begin_request
from tidings.text import has_unstorable_text

access_log = logging.getLogger("tidings.access")

#: Paths that stream their own, larger, bodies and enforce their own limit.
UNLIMITED_BODY_PATHS = (
    "/api/v1/files",
    "/connectycube/blobs/upload",
    "/servicedeskapi/v1/uploadfile",
    "/console/upload",
    "/http-upload/",
)


class StorableInputMiddleware:
    """Refuse a path or query string holding NUL or lone surrogates with a 400."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            query = scope.get("query_string", b"").decode("latin-1")
            values = [v for pair in parse_qsl(query, keep_blank_values=True) for v in pair]
            if has_unstorable_text([scope["path"], *values]):
                if scope["type"] == "http":
                    await _error(
                        send, 400, "invalid_input", "the URL may not contain NUL characters"
                    )
                else:
                    await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)


#: Paths a browser on another origin may call: the service-desk API (which the web
#: chat widget shares with the mobile SDKs) and the widget script itself.
CORS_PATHS = ("/servicedeskapi/v1/", "/widget.js")
CORS_METHODS = ("GET", "POST", "HEAD")
CORS_REQUEST_HEADERS = frozenset({"content-type"})


class CorsMiddleware:
    """``Access-Control-Allow-Origin: *`` on :data:`CORS_PATHS`, and their preflights
    (Fetch standard, "CORS protocol"). Every other path is left as it is.

    Callers of these paths carry their credentials in the body or query string, as
    the SDKs do, never in cookies: so any origin may call them, and no
    ``Allow-Credentials`` is sent (a browser then never attaches cookies). Inside
    :class:`~tidings.gateways.servicedesk.DeskPathMiddleware`, so paths are canonical.
    """

    def __init__(self, app: Any, *, max_age: int = 600) -> None:
        self.app = app
        self.max_age = str(max_age)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CORS_PATHS):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        wanted = headers.get(b"access-control-request-method")
        if scope["method"] == "OPTIONS" and b"origin" in headers and wanted is not None:
            await self._preflight(send, wanted, headers.get(b"access-control-request-headers"))
            return

        async def with_cors(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"access-control-allow-origin", b"*"),
                        (b"access-control-expose-headers", b"Retry-After"),
                    ],
                }
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, send: Any, method: bytes, requested: bytes | None) -> None:
        """204 naming what may be sent; a method or header we never accept is a 400
        the browser reports as a CORS failure (no CORS headers on it)."""
        names = {h.strip().lower() for h in (requested or b"").decode("latin-1").split(",")}
        unknown = sorted(names - CORS_REQUEST_HEADERS - {""})
        if method.decode("latin-1") not in CORS_METHODS or unknown:
            what = ", ".join(unknown) or method.decode("latin-1")
            await _error(send, 400, "cors_refused", f"not allowed across origins: {what}")
            return
        response = Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": ", ".join(CORS_METHODS),
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": self.max_age,
            },
        )
        await response({"type": "http"}, _no_receive, send)


class BodyLimitMiddleware:
    """Refuse JSON bodies over the limit with 413 before the route reads them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNLIMITED_BODY_PATHS):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, self.max_bytes)


class BodyTooLarge(Exception):
    pass


async def _too_large(send: Any, limit: int) -> None:
    await _error(send, 413, "too_large", f"request bodies are at most {limit} bytes", limit=limit)


async def _error(send: Any, status: int, code: str, message: str, **details: Any) -> None:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = JSONResponse({"error": body}, status_code=status)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> dict:
    return {"type": "http.disconnect"}


class MetricsMiddleware:
    """Count requests and time them per route template (not per raw path), and write
    one ``tidings.access`` log line per request when ``access_log`` is on."""

    def __init__(self, app: Any, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log
        self.templates = RouteTemplates()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        app_holder = begin_request()

        async def capture(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - started
            template = self.templates.of(scope)
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(template).observe(elapsed)
            if self.access_log:
                _log_access(scope["method"], template, status, elapsed, app_holder)


def _log_access(
    method: str, route: str, status: int, elapsed: float, app_holder: list[int]
) -> None:
    duration_ms = round(elapsed * 1000, 1)
    app_id = app_holder[0] if app_holder else None
    access_log.info(
        "%s %s %d %.1fms%s",
        method,
        route,
        status,
        duration_ms,
        f" app={app_id}" if app_id is not None else "",
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "app_id": app_id,
        },
    )


class RouteTemplates:
    """Which route answered, as its full template with every prefix: ``/genesys/2/chat/
    {service_name}/{chat_id}/send``, ``/connectycube/blobs/{ref}.json``, ``/api/v1/users/me``.

    The router leaves the route it picked in the scope (``route`` for a FastAPI route,
    ``endpoint`` for any route), but a route only knows its own path, not the mounts and
    router prefixes above it. So the app's route tree is walked once, on the first
    request, into a table from route (and endpoint) to the full template.
    """

    def __init__(self) -> None:
        self._by_route: dict[int, tuple[object, str]] | None = None
        self._by_endpoint: dict[int, tuple[object, str]] = {}

    def of(self, scope: dict) -> str:
        if self._by_route is None:
            self._by_route = {}
            routes = getattr(getattr(scope.get("app"), "router", None), "routes", None) or []
            self._walk(routes, "")
        for key, table in (("route", self._by_route), ("endpoint", self._by_endpoint)):
            found = table.get(id(scope.get(key)))
            if found is not None and found[0] is scope.get(key):
                return found[1]
        return "unmatched"

    def _walk(self, routes: list[BaseRoute], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                if route.routes:
                    self._walk(route.routes, prefix + route.path)
                else:  # an app of its own (static files): one label for all of it
                    self._record(None, route.app, prefix + route.path)
                continue
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:  # FastAPI's included router: full paths per route
                for context in contexts():
                    original = context.original_route
                    if isinstance(original, Mount):
                        self._walk([original], prefix + context.path.rsplit(original.path, 1)[0])
                    else:
                        endpoint = getattr(original, "endpoint", None)
                        self._record(original, endpoint, prefix + context.path)
                continue
            path = getattr(route, "path", None)
            if isinstance(path, str):
                self._record(route, getattr(route, "endpoint", None), prefix + path)

    def _record(self, route: object, endpoint: object, template: str) -> None:
        assert self._by_route is not None
        if route is not None:
            self._by_route.setdefault(id(route), (route, template))
        if endpoint is not None:
            # First wins: ``/x`` before its trailing-slash twin ``/x/``, one label for both.
            self._by_endpoint.setdefault(id(endpoint), (endpoint, template))


class JsonBodyRoute(APIRoute):
    """A FastAPI route whose JSON body goes through :func:`tidings.jsonbody.loads`.

    FastAPI parses a declared body with ``request.json()``; nested too deep it
    either parses (and the value reaches storage) or raises ``RecursionError``.
    This route hands the endpoint a request whose ``json()`` applies the depth
    limit and raises :class:`HTTPException` with the reader's error as its cause,
    which the gateway's error handler puts into its own shape. Sizes are the
    :class:`BodyLimitMiddleware`'s business.
    """

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def with_limited_json(request: Request) -> Response:
            return await handler(_LimitedJsonRequest(request.scope, request.receive))

        return with_limited_json


class _LimitedJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = jsonbody.loads(await self.body(), max_bytes=None)
            except jsonbody.JsonError as exc:
                raise HTTPException(exc.status, exc.message) from exc
        return self._json
