"""Assembles the REST routers and turns every failure into one error shape.

Every error, whatever raised it, answers ``{"error": {"code", "message",
"details"?}}`` with a precise status: clients switch on ``code``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tidings import jsonbody
from tidings.domain.errors import DomainError, RateLimited, Unavailable
from tidings.gateways.rest import devices, dialogs, files, messages, sessions, social, users
from tidings.gateways.rest.schemas import ErrorOut
from tidings.http_middleware import BodyTooLarge

log = logging.getLogger("tidings.rest")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Invalid input"},
    401: {"model": ErrorOut, "description": "Missing, unknown or expired session token"},
    404: {"model": ErrorOut, "description": "Unknown id, or not visible to you"},
}


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    for module in (sessions, users, dialogs, messages, social, files, devices):
        router.include_router(module.router)
    return router


def error_response(status: int, code: str, message: str, **details: object) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        response = JSONResponse({"error": exc.to_dict()}, status_code=exc.status)
        if isinstance(exc, RateLimited | Unavailable):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": [str(p) for p in e.get("loc", ())], "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        return error_response(400, "invalid_input", "the request is not valid", errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, BodyTooLarge):
            # FastAPI turns any error raised while reading a body into a 400; hand the
            # body limit's signal back to BodyLimitMiddleware, which answers 413.
            raise exc.__cause__
        if isinstance(exc.__cause__, jsonbody.JsonError):  # too deep (JsonBodyRoute)
            return error_response(exc.status_code, exc.__cause__.code, exc.__cause__.message)
        codes = {404: "route_not_found", 405: "method_not_allowed", 413: "too_large"}
        code = codes.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "something went wrong on our side")
