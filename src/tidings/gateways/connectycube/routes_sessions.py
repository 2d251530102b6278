"""Sessions and login (connectycube-wire §3): ``/session.json``, ``/login.json``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from tidings.domain.errors import InvalidInput
from tidings.domain.models import User
from tidings.gateways.connectycube.deps import params, services, session
from tidings.gateways.connectycube.mapping import session_to_wire, user_to_wire

router = APIRouter()


async def _credentials_user(request: Request, app_id: int, creds: Any) -> User:
    if not isinstance(creds, dict):
        raise InvalidInput("user must be an object", field="user")
    if creds.get("guest") is not None:
        raise InvalidInput("guest users are not supported", field="user")
    password = creds.get("password")
    address = request.client.host if request.client else ""
    if "email" in creds and "login" not in creds:
        return await services(request).sessions.verify(
            app_id, email=creds["email"], password=password, client_address=address
        )
    return await services(request).sessions.verify(
        app_id, login=creds.get("login"), password=password, client_address=address
    )


@router.post("/session.json")
async def create_session(request: Request) -> JSONResponse:
    """App session from application id + auth key, or a user session with credentials.
    A ``CB-Token`` the SDK still holds is ignored here (§2.2)."""
    data = await params(request)
    svc = services(request)
    app = await svc.sessions.check_app(data.get("application_id"), data.get("auth_key"))
    if data.get("provider"):
        raise InvalidInput("external identity providers are not supported", field="provider")
    user = None
    if data.get("user") is not None:
        user = await _credentials_user(request, app.id, data["user"])
    opened = await svc.sessions.open(app, user)
    body = session_to_wire(opened.token, app.id, opened.user_id, opened.created_ms, user)
    return JSONResponse({"session": body}, status_code=201)


@router.get("/session.json")
async def get_session(request: Request) -> JSONResponse:
    current = await session(request)
    user = None
    if current.user_id is not None:
        user = await services(request).core.users.get_user(current.actor, current.user_id)
    body = session_to_wire(current.token, current.app_id, current.user_id, current.created_ms, user)
    return JSONResponse({"session": body})


@router.delete("/session.json")
async def destroy_session(request: Request) -> Response:
    current = await session(request)
    await services(request).sessions.close(current)
    return Response(status_code=200)


@router.post("/login.json")
async def login(request: Request) -> JSONResponse:
    """Bind the current token to the user; the SDK keeps using the same token (§3.4)."""
    current = await session(request)
    data = await params(request)
    user = await _credentials_user(request, current.app_id, data)
    await services(request).sessions.bind(current, user)
    return JSONResponse({"user": user_to_wire(user)}, status_code=202)


@router.delete("/login.json")
async def logout(request: Request) -> Response:
    current = await session(request)
    await services(request).sessions.unbind(current)
    return Response(status_code=200)
