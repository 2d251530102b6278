"""What every GMS endpoint does before and after its own work, in one place.

A route in :mod:`tidings.gateways.gms.routes` names a handler that takes a
:class:`Call`: the request already read (query and body merged, §1.2), the app
resolved from its ``apikey`` / ``x-api-key`` header (§1.3: 401 without one, or
with a key no app has) and the phone's ``gms_user``. Errors a handler does not
answer itself leave in the §1.5 ``CallbackException`` shape; a lost database is
a 503 with ``Retry-After`` so the phone retries.

Every path is registered with and without a trailing ``/`` (§1.1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tidings import jsonbody
from tidings.core.hub import Core
from tidings.domain.errors import DomainError, Unavailable
from tidings.domain.models import App
from tidings.gateways.gms.mapping import error_body, v2_error
from tidings.gateways.gms.protocol import parse_params

BASE = "/genesys"
ALL = ("GET", "POST", "PUT", "DELETE")


@dataclass
class Call:
    """One GMS request, read and attributed to its app and phone."""

    core: Core
    app: App
    #: The phone's ``gms_user`` header (§1.3), or None for an anonymous phone.
    caller: str | None
    params: dict[str, str]
    request: Request

    @property
    def method(self) -> str:
        return self.request.method

    def arg(self, name: str) -> str:
        """A path parameter of the matched route."""
        return str(self.request.path_params[name])

    @property
    def ext(self) -> str:
        """``{host}/genesys`` from the request's scheme and Host (§1.1)."""
        request = self.request
        return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}{BASE}"


Handler = Callable[[Call], Awaitable[Response]]


class Answer(Exception):
    """Raised by a shared helper to answer at once: an error in its API family's shape."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def err(code: int, message: str, exception: str = "CallbackException") -> JSONResponse:
    """The §1.5 error body of the Service and Callback APIs."""
    return JSONResponse(error_body(code, message, exception), code)


def _api_key(request: Request) -> str | None:
    """GMSLibrary sends both header names; other clients one of them (§1.3)."""
    return request.headers.get("apikey") or request.headers.get("x-api-key") or None


def _refused(request: Request, exc: DomainError) -> JSONResponse:
    """No app for this request (no key, an unknown key, GMS off): the §1.5 error body,
    merged with the Chat v2 fields on ``/2/chat`` so v2 decoders can read it too."""
    body = error_body(exc.status, exc.message)
    if (request.url.path + "/").startswith(f"{BASE}/2/chat/"):
        body = {**v2_error(exc.status, exc.message), **body}
    return JSONResponse(body, exc.status)


async def _answer(core: Core, handler: Handler, request: Request) -> Response:
    body = await request.body()
    try:
        params = parse_params(request.url.query, body, request.headers.get("content-type", ""))
    except jsonbody.JsonError as exc:
        return err(exc.status, exc.message)
    try:
        app = await core.callbacks.gms_app(_api_key(request))
    except DomainError as exc:
        return _refused(request, exc)
    call = Call(core, app, request.headers.get("gms_user") or None, params, request)
    try:
        return await handler(call)
    except Answer as answer:
        return answer.response
    except DomainError as exc:
        return err(exc.status, exc.message)


def endpoint(core_of: Callable[[], Core], handler: Handler) -> Callable[[Request], Any]:
    """The Starlette endpoint running ``handler`` with the steps above."""

    async def run(request: Request) -> Response:
        try:
            response = await _answer(core_of(), handler, request)
        except Unavailable as exc:  # the database connection broke: retry (§1.5 shape)
            response = JSONResponse(error_body(503, exc.message, "ServiceUnavailable"), 503)
        if response.status_code == 503:
            response.headers.setdefault("Retry-After", "1")
        return response

    run.__name__ = run.__qualname__ = handler.__name__
    return run


def routes(
    core_of: Callable[[], Core], table: Sequence[tuple[str, Sequence[str], Handler]]
) -> list[Route]:
    """Starlette routes for ``(path under /genesys, methods, handler)`` rows, in order;
    each path also with a trailing ``/`` (§1.1)."""
    out: list[Route] = []
    for path, methods, handler in table:
        run = endpoint(core_of, handler)
        out.append(Route(BASE + path, run, methods=list(methods)))
        out.append(Route(BASE + path + "/", run, methods=list(methods)))
    return out
