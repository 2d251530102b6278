"""Request dependencies: the core and the authenticated actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tidings.core.hub import Core
from tidings.domain.errors import Unauthenticated
from tidings.domain.models import Actor

bearer = HTTPBearer(auto_error=False, description="A session token from POST /api/v1/sessions")


def get_core(request: Request) -> Core:
    return request.app.state.core


async def get_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send Authorization: Bearer <session token>", code="token_required")
    return await get_core(request).auth.authenticate(credentials.credentials)


async def get_optional_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor | None:
    if credentials is None:
        return None
    return await get_core(request).auth.authenticate(credentials.credentials)


CoreDep = Annotated[Core, Depends(get_core)]
ActorDep = Annotated[Actor, Depends(get_actor)]
OptionalActorDep = Annotated[Actor | None, Depends(get_optional_actor)]

#: User ids are 32-bit: larger path values are a 400, not a database overflow.
UserIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
