"""Log in and out: ``/api/v1/sessions``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tidings.gateways.rest.deps import ActorDep, CoreDep, bearer
from tidings.gateways.rest.schemas import LoginIn, SessionOut, WhoAmI
from tidings.http_middleware import JsonBodyRoute

router = APIRouter(tags=["sessions"], route_class=JsonBodyRoute)


@router.post("/sessions", status_code=201, response_model=SessionOut)
async def login(body: LoginIn, request: Request, core: CoreDep) -> SessionOut:
    """Log in with login and password. Failed logins are limited per client address and
    per account at that address: over the limit, 429 with ``Retry-After``."""
    address = request.client.host if request.client else ""
    session = await core.auth.login(body.app_id, body.login, body.password, client_address=address)
    return SessionOut(
        token=session.token,
        app_id=session.app_id,
        user_id=session.user_id,
        expires_ms=session.expires_ms,
    )


@router.get("/sessions/current", response_model=WhoAmI)
async def who_am_i(actor: ActorDep) -> WhoAmI:
    return WhoAmI(app_id=actor.app_id, user_id=actor.user_id, role=actor.role)


@router.delete("/sessions/current", status_code=204, response_class=Response)
async def logout(actor: ActorDep, request: Request, core: CoreDep) -> Response:
    credentials = await bearer(request)
    if credentials is not None:  # ActorDep already required it; nothing to end otherwise
        await core.auth.logout(credentials.credentials)
    return Response(status_code=204)
