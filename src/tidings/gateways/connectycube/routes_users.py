"""Users (connectycube-wire §4): signup, get, list and filter, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from tidings.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from tidings.domain.list_queries import ExtraField, ListQuery
from tidings.domain.models import Actor
from tidings.gateways.connectycube.deps import params, services, session, token_of, user_actor
from tidings.gateways.connectycube.mapping import (
    EXTRAS_KEY,
    user_fields_from_wire,
    user_to_wire,
)
from tidings.gateways.connectycube.query import (
    FieldError,
    ListSpec,
    ParamsError,
    WireField,
    as_int,
    list_query,
)

router = APIRouter()


def _extra(name: str) -> ExtraField:
    return ExtraField((EXTRAS_KEY, name))


#: ``GET /users/v2.json`` filters (§4.2): wire field -> core field and value kind; the
#: profile extras the core keeps for us in ``custom_data`` are filtered there too.
USER_LIST = ListSpec(
    fields={
        "id": WireField("id", "int"),
        "login": WireField("login", "text"),
        "email": WireField("email", "text"),
        "full_name": WireField("full_name", "text"),
        "phone": WireField(_extra("phone"), "text"),
        "external_user_id": WireField(_extra("external_user_id"), "text"),
        "external_id": WireField(_extra("external_id"), "text"),
        "facebook_id": WireField(_extra("facebook_id"), "text"),
        "twitter_id": WireField(_extra("twitter_id"), "text"),
        "user_tags": WireField(_extra("user_tags"), "tags"),
        "created_at": WireField("created_ms", "time"),
        "updated_at": WireField("updated_ms", "time"),
        "last_request_at": WireField("last_activity_ms", "time"),
    },
    sortable={
        "id": "id",
        "login": "login",
        "email": "email",
        "full_name": "full_name",
        "created_at": "created_ms",
        "updated_at": "updated_ms",
        "last_request_at": "last_activity_ms",
    },
    reserved=frozenset({"limit", "offset"}),
)
MAX_PAGE = 100


async def _reader(request: Request) -> Actor:
    """Anyone with a session, app or user, may read users."""
    return (await session(request)).actor


@router.post("/users.json")
async def signup(request: Request) -> JSONResponse:
    """Sign up with the app's ``CB-AuthKey`` (no session yet) or under a session."""
    svc = services(request)
    if token_of(request):
        app_id = (await session(request)).app_id
    else:
        key = request.headers.get("cb-authkey")
        if not key:
            raise Unauthenticated("send CB-AuthKey or CB-Token", code="session_missing")
        app_id = (await svc.sessions.find_by_auth_key(key)).id
    data = await params(request)
    fields = user_fields_from_wire(data.get("user"))
    login = fields.pop("login", None) or fields.get("email")
    if not login:
        raise InvalidInput("login or email is required", field="login")
    password = fields.pop("password", None)
    if password is None:
        raise InvalidInput("password is required", field="password")
    user = await svc.core.users.create_user(app_id, login=login, password=password, **fields)
    return JSONResponse({"user": user_to_wire(user)}, status_code=201)


def _query(data: dict[str, Any], limit: int, offset: int) -> ListQuery:
    try:
        return list_query(data, USER_LIST, limit=limit, offset=offset)
    except FieldError as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    except ParamsError as exc:
        raise InvalidInput(str(exc)) from None


def _page(data: dict[str, Any], limit_key: str, offset_key: str) -> tuple[int, int]:
    try:
        limit = as_int(data.get(limit_key), limit_key, 10) or 10
        offset = as_int(data.get(offset_key), offset_key, 0) or 0
    except ParamsError as exc:
        raise InvalidInput(str(exc)) from None
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"{limit_key} is 1 to {MAX_PAGE}", field=limit_key)
    return limit, offset


@router.get("/users/v2.json")
async def list_users_v2(request: Request) -> JSONResponse:
    """``users.getV2``: field filters, ``limit``/``offset``, ``sort_asc``/``sort_desc``;
    the database filters, counts, sorts and pages."""
    actor = await _reader(request)
    data = await params(request)
    limit, offset = _page(data, "limit", "offset")
    query = _query(data, limit, offset)
    total, users = await services(request).core.user_lists.find(actor, query)
    return JSONResponse(
        {
            "limit": limit,
            "skip": offset,
            "total_entries": total,
            "items": [user_to_wire(u) for u in users],
        }
    )


@router.get("/users.json")
async def list_users_v1(request: Request) -> JSONResponse:
    """The deprecated v1 list: ``page``/``per_page``, items wrapped in ``{"user": ...}``."""
    actor = await _reader(request)
    data = await params(request)
    per_page, _ = _page(data, "per_page", "offset")
    try:
        page = as_int(data.get("page"), "page", 1) or 1
    except ParamsError as exc:
        raise InvalidInput(str(exc), field="page") from None
    if page < 1:
        raise InvalidInput("page starts at 1", field="page")
    query = ListQuery(limit=per_page, offset=(page - 1) * per_page)
    total, users = await services(request).core.user_lists.find(actor, query)
    return JSONResponse(
        {
            "current_page": page,
            "per_page": per_page,
            "total_entries": total,
            "items": [{"user": user_to_wire(u)} for u in users],
        }
    )


async def _one_by(request: Request, field: str, value: Any) -> JSONResponse:
    actor = await _reader(request)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field} is required", field=field)
    query = _query({field: value}, 1, 0)
    _total, found = await services(request).core.user_lists.find(actor, query)
    if not found:
        raise NotFound("user not found", code="user_not_found")
    return JSONResponse({"user": user_to_wire(found[0])})


@router.get("/users/by_login.json")
async def by_login(request: Request) -> JSONResponse:
    return await _one_by(request, "login", (await params(request)).get("login"))


@router.get("/users/by_email.json")
async def by_email(request: Request) -> JSONResponse:
    return await _one_by(request, "email", (await params(request)).get("email"))


@router.get("/users/external/{external_id}.json")
async def by_external_id(request: Request, external_id: str) -> JSONResponse:
    return await _one_by(request, "external_user_id", external_id)


def _user_id(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise NotFound(f"no user {value!r}", code="user_not_found")
    return int(value)


@router.get("/users/{user_id}.json")
async def get_user(request: Request, user_id: str) -> JSONResponse:
    actor = await _reader(request)
    user = await services(request).core.users.get_user(actor, _user_id(user_id))
    return JSONResponse({"user": user_to_wire(user)})


@router.put("/users/{user_id}.json")
async def update_user(request: Request, user_id: str) -> JSONResponse:
    """Profile changes; a new ``password`` needs the right ``old_password``."""
    actor = await user_actor(request)
    uid = _user_id(user_id)
    if uid != actor.user_id:
        raise Forbidden("you can change only your own profile")
    svc = services(request)
    data = await params(request)
    inner: Any = data.get("user")
    current = await svc.core.users.get_user(actor, uid)
    fields = user_fields_from_wire(inner, current.custom_data)
    if "login" in fields:
        if fields.pop("login") != current.login:
            raise InvalidInput("the login cannot be changed here", field="login")
    if "password" in fields:
        await svc.sessions.check_password(actor, inner.get("old_password"))
    user = await svc.core.users.update_user(actor, uid, **fields)
    return JSONResponse({"user": user_to_wire(user)})


@router.delete("/users/{user_id}.json")
async def delete_user(request: Request, user_id: str) -> Response:
    actor = await user_actor(request)
    await services(request).core.users.delete_user(actor, _user_id(user_id))
    return Response(status_code=200)
