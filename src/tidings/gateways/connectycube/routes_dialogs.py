"""Dialogs (connectycube-wire §5.1–§5.2): ``/chat/Dialog``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from tidings.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from tidings.domain.models import Actor, Dialog
from tidings.gateways.connectycube.deps import chat_domain, params, services, user_actor
from tidings.gateways.connectycube.mapping import (
    dialog_to_wire,
    join_custom,
    message_ids,
    split_custom,
    user_ids,
    user_to_wire,
    wire_type,
)
from tidings.gateways.connectycube.query import (
    FieldError,
    ListSpec,
    ParamsError,
    WireField,
    as_bool,
    as_int,
    list_query,
)

router = APIRouter()

MAX_LIMIT = 100


def _wire(request: Request, actor: Actor, dialog: Dialog) -> dict[str, Any]:
    return dialog_to_wire(dialog, actor.user_id, chat_domain(request))


@router.post("/chat/Dialog.json")
async def create_dialog(request: Request) -> JSONResponse:
    """Create by integer type; occupants as an array or the SDK's ``"102, 103"``; the
    creator is always an occupant, and a private dialog that exists is returned."""
    actor = await user_actor(request)
    data = await params(request)
    core = services(request).core
    kind = wire_type(data.get("type", 2))
    occupants = user_ids(data.get("occupants_ids"), "occupants_ids")
    admins = user_ids(data.get("admins_ids"), "admins_ids")
    dialog = await core.dialogs.create_dialog(
        actor,
        kind,
        occupant_ids=occupants,
        name=data.get("name"),
        description=data.get("description"),
        photo=data.get("photo"),
        custom_data=join_custom(data.get("extensions"), data.get("permissions")),
    )
    admins = [a for a in admins if a != actor.user_id]
    if admins and kind != "private":
        dialog = await core.dialogs.update_dialog(actor, dialog.id, add_admins=admins)
    return JSONResponse(_wire(request, actor, dialog), status_code=201)


#: ``GET /chat/Dialog.json`` filters (§5.2): wire field -> core field and value kind.
DIALOG_LIST = ListSpec(
    fields={
        "_id": WireField("id", "key"),
        "type": WireField("type", "key", convert=wire_type),
        "name": WireField("name", "text"),
        "user_id": WireField("owner_id", "int"),
        "last_message_date_sent": WireField("last_message_ms", "time"),
        "created_at": WireField("created_ms", "time"),
        "updated_at": WireField("updated_ms", "time"),
    },
    sortable={
        "_id": "id",
        "name": "name",
        "user_id": "owner_id",
        "last_message_date_sent": "last_message_ms",
        "created_at": "created_ms",
        "updated_at": "updated_ms",
    },
    reserved=frozenset({"limit", "skip", "count"}),
)


@router.get("/chat/Dialog.json")
async def list_dialogs(request: Request) -> JSONResponse:
    """The caller's dialogs (§5.2): field filters (``type[in]``, ``updated_at[gt]``, ...),
    ``sort_asc``/``sort_desc`` (else newest activity first), ``limit``/``skip`` and
    ``count=1``; the database filters, counts, sorts and pages."""
    actor = await user_actor(request)
    data = await params(request)
    lists = services(request).core.dialog_lists
    try:
        limit = as_int(data.get("limit"), "limit", 100) or 100
        skip = as_int(data.get("skip"), "skip", 0) or 0
        query = list_query(data, DIALOG_LIST, limit=limit, offset=skip)
    except FieldError as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    except ParamsError as exc:
        raise InvalidInput(str(exc)) from None
    if not 1 <= limit <= MAX_LIMIT or skip < 0:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit")
    if as_bool(data.get("count")):
        return JSONResponse({"items": {"count": await lists.count(actor, query)}})
    total, dialogs = await lists.find(actor, query)
    items = [_wire(request, actor, d) for d in dialogs]
    return JSONResponse({"total_entries": total, "skip": skip, "limit": limit, "items": items})


def _push_pull(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{key} must be an object", field=key)
    return value


async def _update(request: Request, dialog_id: str, data: dict[str, Any]) -> JSONResponse:
    actor = await user_actor(request)
    core = services(request).core
    push, pull = _push_pull(data, "push_all"), _push_pull(data, "pull_all")
    custom = None
    if "extensions" in data or "permissions" in data:
        current = await core.dialogs.get_dialog(actor, dialog_id)
        extensions, permissions = split_custom(current.custom_data)
        if "extensions" in data:
            extensions = data["extensions"] or {}
        if "permissions" in data:
            permissions = data["permissions"] or {}
        custom = join_custom(extensions, permissions) or {}
    dialog = await core.dialogs.update_dialog(
        actor,
        dialog_id,
        name=data.get("name"),
        description=data.get("description"),
        photo=data.get("photo"),
        custom_data=custom,
        add_occupants=user_ids(push.get("occupants_ids"), "occupants_ids") or None,
        remove_occupants=user_ids(pull.get("occupants_ids"), "occupants_ids") or None,
        add_admins=user_ids(push.get("admins_ids"), "admins_ids") or None,
        remove_admins=user_ids(pull.get("admins_ids"), "admins_ids") or None,
        pin=message_ids(push.get("pinned_messages_ids"), "pinned_messages_ids") or None,
        unpin=message_ids(pull.get("pinned_messages_ids"), "pinned_messages_ids") or None,
    )
    return JSONResponse(_wire(request, actor, dialog))


@router.put("/chat/Dialog/{dialog_id}/admins.json")
async def change_admins(request: Request, dialog_id: str) -> JSONResponse:
    data = await params(request)
    only: dict[str, Any] = {k: data[k] for k in ("push_all", "pull_all") if k in data}
    for key, value in only.items():
        if isinstance(value, dict):
            only[key] = {"admins_ids": value.get("admins_ids")}
    return await _update(request, dialog_id, only)


@router.post("/chat/Dialog/{dialog_id}/subscribe.json")
async def subscribe(request: Request, dialog_id: str) -> JSONResponse:
    actor = await user_actor(request)
    dialog = await services(request).core.dialogs.subscribe(actor, dialog_id)
    return JSONResponse(_wire(request, actor, dialog))


@router.delete("/chat/Dialog/{dialog_id}/subscribe.json")
async def unsubscribe(request: Request, dialog_id: str) -> Response:
    actor = await user_actor(request)
    await services(request).core.dialogs.unsubscribe(actor, dialog_id)
    return Response(status_code=200)


@router.get("/chat/Dialog/{dialog_id}/notifications.json")
async def get_notifications(request: Request, dialog_id: str) -> JSONResponse:
    actor = await user_actor(request)
    muted = await services(request).core.dialogs.is_muted(actor, dialog_id)
    return JSONResponse({"notifications": {"enabled": 0 if muted else 1}})


@router.put("/chat/Dialog/{dialog_id}/notifications.json")
async def set_notifications(request: Request, dialog_id: str) -> JSONResponse:
    actor = await user_actor(request)
    data = await params(request)
    if "enabled" not in data:
        raise InvalidInput("enabled is required", field="enabled")
    enabled = as_bool(data["enabled"])
    muted = await services(request).core.dialogs.set_muted(actor, dialog_id, not enabled)
    return JSONResponse({"notifications": {"enabled": 0 if muted else 1}})


@router.get("/chat/Dialog/{dialog_id}/occupants.json")
async def occupants(request: Request, dialog_id: str) -> JSONResponse:
    actor = await user_actor(request)
    data = await params(request)
    try:
        limit = as_int(data.get("limit"), "limit", 100) or 100
        skip = as_int(data.get("skip"), "skip", 0) or 0
    except ParamsError as exc:
        raise InvalidInput(str(exc)) from None
    if not 1 <= limit <= MAX_LIMIT or skip < 0:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit")
    users = await services(request).core.dialogs.list_members(
        actor, dialog_id, limit=limit, offset=skip
    )
    return JSONResponse({"items": [user_to_wire(u) for u in users]})


@router.put("/chat/Dialog/{dialog_id}.json")
async def update_dialog(request: Request, dialog_id: str) -> JSONResponse:
    """Details, ``push_all``/``pull_all`` of occupants, admins and pinned messages."""
    return await _update(request, dialog_id, await params(request))


@router.delete("/chat/Dialog/{dialog_ids}.json")
async def delete_dialogs(request: Request, dialog_ids: str) -> Response:
    """One id: TEXT. Several (comma-joined): the ``SuccessfullyDeleted`` JSON. Without
    ``force`` the caller leaves; ``force=1`` deletes for everyone (owner only)."""
    actor = await user_actor(request)
    data = await params(request)
    force = as_bool(data.get("force"))
    ids = [i for i in dialog_ids.split(",") if i]
    core = services(request).core
    if len(ids) == 1:
        await core.dialogs.delete_dialog(actor, ids[0], for_everyone=force)
        return Response(status_code=200)
    done: list[str] = []
    missing: list[str] = []
    refused: list[str] = []
    for dialog_id in ids:
        try:
            await core.dialogs.delete_dialog(actor, dialog_id, for_everyone=force)
            done.append(dialog_id)
        except NotFound:
            missing.append(dialog_id)
        except (Forbidden, DomainError):
            refused.append(dialog_id)
    return JSONResponse(
        {
            "SuccessfullyDeleted": {"ids": done},
            "NotFound": {"ids": missing},
            "WrongPermissions": {"ids": refused},
        }
    )
