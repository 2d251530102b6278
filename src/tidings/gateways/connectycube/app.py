"""The ConnectyCube-compatible REST API as one ASGI app, mounted at ``/connectycube``.

Every failure answers a JSON ``{"errors": ...}`` body (§2.4: a non-JSON error
body would hide the expiry signal from the SDK), and browsers get CORS answers
for the SDK's custom headers (§2.2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware

from tidings.core.hub import Core
from tidings.domain.errors import DomainError, RateLimited, Unavailable
from tidings.gateways.connectycube import (
    routes_blobs,
    routes_dialogs,
    routes_messages,
    routes_push,
    routes_sessions,
    routes_users,
)
from tidings.gateways.connectycube.deps import Gateway
from tidings.gateways.connectycube.mapping import error_body

log = logging.getLogger("tidings.connectycube")

ALLOWED_HEADERS = ["CB-Token", "CB-SDK", "CB-AuthKey", "Content-Type"]


def build_connectycube_app(core_getter: Callable[[], Core]) -> FastAPI:
    """The sub-application; ``core_getter`` returns the running server's core."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.connectycube = Gateway(core_getter)
    for module in (
        routes_sessions,
        routes_users,
        routes_dialogs,
        routes_messages,
        routes_blobs,
        routes_push,
    ):
        app.include_router(module.router)

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        status, body = error_body(exc)
        response = JSONResponse(body, status_code=status)
        if isinstance(exc, RateLimited | Unavailable):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"errors": {"base": ["the request is not valid"]}}, 422)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        from tidings.http_middleware import BodyTooLarge

        if isinstance(exc.__cause__, BodyTooLarge):
            raise exc.__cause__
        return JSONResponse({"errors": {"base": [str(exc.detail)]}}, exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"errors": {"base": ["internal server error"]}}, 500)

    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=ALLOWED_HEADERS,
        max_age=600,
    )
    return app
