"""Users: sign up with the app's key, profiles, lookup, presence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tidings.domain.errors import Unauthenticated
from tidings.domain.models import Presence, User
from tidings.gateways.rest.deps import ActorDep, CoreDep, UserIdPath
from tidings.gateways.rest.schemas import SignupIn, UserList, UserUpdateIn
from tidings.gateways.rest.validation import parse_int_list
from tidings.http_middleware import JsonBodyRoute

router = APIRouter(tags=["users"], route_class=JsonBodyRoute)


@router.post("/users", status_code=201, response_model=User)
async def sign_up(body: SignupIn, core: CoreDep) -> User:
    """Create a user of an app, proven by the app's ``auth_key``."""
    app = await core.apps.find_by_auth_key(body.auth_key)
    if app is None or app.id != body.app_id:
        raise Unauthenticated("unknown app or auth_key", code="bad_app_credentials")
    return await core.users.create_user(
        app.id,
        login=body.login,
        password=body.password,
        full_name=body.full_name,
        email=body.email,
        custom_data=body.custom_data,
    )


@router.get("/users/me", response_model=User)
async def get_me(actor: ActorDep, core: CoreDep) -> User:
    return await core.users.get_user(actor, actor.user_id)


@router.patch("/users/me", response_model=User)
async def update_me(body: UserUpdateIn, actor: ActorDep, core: CoreDep) -> User:
    return await core.users.update_user(
        actor,
        actor.user_id,
        full_name=body.full_name,
        email=body.email,
        password=body.password,
        custom_data=body.custom_data,
    )


@router.delete("/users/me", status_code=204, response_class=Response)
async def delete_me(actor: ActorDep, core: CoreDep) -> Response:
    await core.users.delete_user(actor, actor.user_id)
    return Response(status_code=204)


@router.get("/users", response_model=UserList)
async def list_users(
    actor: ActorDep,
    core: CoreDep,
    ids: Annotated[str | None, Query(description="Comma-separated user ids")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of login or name")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> UserList:
    id_list = parse_int_list(ids, "ids") if ids is not None else None
    users = await core.users.list_users(actor, ids=id_list, text=q, limit=limit, offset=offset)
    return UserList(items=users)


@router.get("/users/{user_id}", response_model=User)
async def get_user(user_id: UserIdPath, actor: ActorDep, core: CoreDep) -> User:
    return await core.users.get_user(actor, user_id)


@router.get("/users/{user_id}/presence", response_model=Presence)
async def get_presence(user_id: UserIdPath, actor: ActorDep, core: CoreDep) -> Presence:
    return await core.presence.get_presence(actor, user_id)
