"""ASGI middleware shared by every HTTP gateway: body limits, input hygiene, metrics.

Also :class:`JsonBodyRoute`, the FastAPI route class through which routes that
declare a JSON body model read it with :mod:`tidings.jsonbody`'s limits.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from tidings import jsonbody
from tidings.observability import HTTP_LATENCY, HTTP_REQUESTS
from tidings.text import has_unstorable_text

#: Paths that stream their own, larger, bodies and enforce their own limit.
UNLIMITED_BODY_PATHS = (
    "/api/v1/files",
    "/connectycube/blobs/upload",
    "/servicedeskapi/v1/uploadfile",
    "/console/upload",
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
    """Count requests and time them per route template (not per raw path)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(template).observe(time.perf_counter() - started)


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
