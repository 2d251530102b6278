"""Dialogs: create, list, change, subscribe, leave, mute, unread counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tidings.domain.models import DIALOG_TYPES, Dialog
from tidings.gateways.rest.deps import ActorDep, CoreDep
from tidings.gateways.rest.schemas import (
    DialogIn,
    DialogList,
    DialogUpdateIn,
    NotificationsIn,
    NotificationsOut,
    UnreadOut,
    UserList,
)
from tidings.gateways.rest.validation import parse_id_list, parse_words
from tidings.http_middleware import JsonBodyRoute

router = APIRouter(tags=["dialogs"], route_class=JsonBodyRoute)
DialogPath = Annotated[str, "24-hex dialog id"]


@router.get("/dialogs", response_model=DialogList)
async def list_dialogs(
    actor: ActorDep,
    core: CoreDep,
    type: Annotated[str | None, Query(description="Comma-separated dialog types")] = None,
    updated_after: Annotated[int | None, Query(ge=0, le=2**62, description="Unix ms")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> DialogList:
    """Your dialogs, most recent activity first, each with your unread count."""
    types = parse_words(type, "type", DIALOG_TYPES) if type else None
    total, items = await core.dialogs.list_dialogs(
        actor, types=types, updated_after_ms=updated_after, limit=limit, offset=offset
    )
    return DialogList(total=total, limit=limit, offset=offset, items=items)


@router.post("/dialogs", status_code=201, response_model=Dialog)
async def create_dialog(body: DialogIn, actor: ActorDep, core: CoreDep) -> Dialog:
    """Create a dialog. A private dialog with the same person is returned again, not doubled."""
    return await core.dialogs.create_dialog(
        actor,
        body.type,
        occupant_ids=body.occupant_ids,
        name=body.name,
        description=body.description,
        photo=body.photo,
        custom_data=body.custom_data,
    )


@router.get("/dialogs/{dialog_id}", response_model=Dialog)
async def get_dialog(dialog_id: DialogPath, actor: ActorDep, core: CoreDep) -> Dialog:
    return await core.dialogs.get_dialog(actor, dialog_id)


@router.patch("/dialogs/{dialog_id}", response_model=Dialog)
async def update_dialog(
    dialog_id: DialogPath, body: DialogUpdateIn, actor: ActorDep, core: CoreDep
) -> Dialog:
    return await core.dialogs.update_dialog(
        actor,
        dialog_id,
        name=body.name,
        description=body.description,
        photo=body.photo,
        custom_data=body.custom_data,
        add_occupants=body.add_occupants,
        remove_occupants=body.remove_occupants,
        add_admins=body.add_admins,
        remove_admins=body.remove_admins,
        pin=body.pin,
        unpin=body.unpin,
    )


@router.delete("/dialogs/{dialog_id}", status_code=204, response_class=Response)
async def delete_dialog(
    dialog_id: DialogPath, actor: ActorDep, core: CoreDep, for_everyone: bool = False
) -> Response:
    """Without ``for_everyone``: hide a private dialog or leave a group. With it (owner):
    delete the dialog and its history for all."""
    await core.dialogs.delete_dialog(actor, dialog_id, for_everyone=for_everyone)
    return Response(status_code=204)


@router.put("/dialogs/{dialog_id}/subscription", response_model=Dialog)
async def subscribe(dialog_id: DialogPath, actor: ActorDep, core: CoreDep) -> Dialog:
    return await core.dialogs.subscribe(actor, dialog_id)


@router.delete("/dialogs/{dialog_id}/subscription", status_code=204, response_class=Response)
async def unsubscribe(dialog_id: DialogPath, actor: ActorDep, core: CoreDep) -> Response:
    await core.dialogs.unsubscribe(actor, dialog_id)
    return Response(status_code=204)


@router.get("/dialogs/{dialog_id}/members", response_model=UserList)
async def list_members(
    dialog_id: DialogPath,
    actor: ActorDep,
    core: CoreDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> UserList:
    return UserList(
        items=await core.dialogs.list_members(actor, dialog_id, limit=limit, offset=offset)
    )


@router.get("/dialogs/{dialog_id}/notifications", response_model=NotificationsOut)
async def get_notifications(
    dialog_id: DialogPath, actor: ActorDep, core: CoreDep
) -> NotificationsOut:
    return NotificationsOut(muted=await core.dialogs.is_muted(actor, dialog_id))


@router.put("/dialogs/{dialog_id}/notifications", response_model=NotificationsOut)
async def set_notifications(
    dialog_id: DialogPath, body: NotificationsIn, actor: ActorDep, core: CoreDep
) -> NotificationsOut:
    return NotificationsOut(muted=await core.dialogs.set_muted(actor, dialog_id, body.muted))


@router.get("/unread", response_model=UnreadOut)
async def unread(
    actor: ActorDep,
    core: CoreDep,
    dialog_ids: Annotated[str | None, Query(description="Comma-separated dialog ids")] = None,
) -> UnreadOut:
    """Server-authoritative unread counts, in total and per dialog."""
    ids = parse_id_list(dialog_ids, "dialog_ids") if dialog_ids else None
    total, per_dialog = await core.dialogs.unread_counts(actor, ids)
    return UnreadOut(total=total, dialogs=per_dialog)
