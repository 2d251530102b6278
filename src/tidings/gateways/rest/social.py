"""Contacts (the roster) and privacy lists (blocking)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tidings.domain.models import Contact, PrivacyItem, PrivacyList
from tidings.gateways.rest.deps import ActorDep, CoreDep, UserIdPath
from tidings.gateways.rest.schemas import (
    ActiveListIn,
    ContactIn,
    ContactList,
    PrivacyListIn,
    PrivacyNames,
)
from tidings.http_middleware import JsonBodyRoute

router = APIRouter(route_class=JsonBodyRoute)


@router.get("/contacts", response_model=ContactList, tags=["contacts"])
async def list_contacts(actor: ActorDep, core: CoreDep) -> ContactList:
    """Your contacts: ``confirmed``, ``requested`` (you asked) or ``pending`` (they asked)."""
    return ContactList(items=await core.contacts.list_contacts(actor))


@router.post("/contacts", status_code=201, response_model=Contact, tags=["contacts"])
async def request_contact(body: ContactIn, actor: ActorDep, core: CoreDep) -> Contact:
    """Ask to add a contact; if they already asked you, you are now contacts."""
    return await core.contacts.request(actor, body.user_id)


@router.post("/contacts/{user_id}/confirm", response_model=Contact, tags=["contacts"])
async def confirm_contact(user_id: UserIdPath, actor: ActorDep, core: CoreDep) -> Contact:
    return await core.contacts.confirm(actor, user_id)


@router.post(
    "/contacts/{user_id}/reject", status_code=204, response_class=Response, tags=["contacts"]
)
async def reject_contact(user_id: UserIdPath, actor: ActorDep, core: CoreDep) -> Response:
    await core.contacts.reject(actor, user_id)
    return Response(status_code=204)


@router.delete("/contacts/{user_id}", status_code=204, response_class=Response, tags=["contacts"])
async def remove_contact(user_id: UserIdPath, actor: ActorDep, core: CoreDep) -> Response:
    await core.contacts.remove(actor, user_id)
    return Response(status_code=204)


@router.get("/privacy/lists", response_model=PrivacyNames, tags=["privacy"])
async def list_privacy_lists(actor: ActorDep, core: CoreDep) -> PrivacyNames:
    names, active = await core.privacy.list_names(actor)
    return PrivacyNames(names=names, active=active)


@router.get("/privacy/lists/{name}", response_model=PrivacyList, tags=["privacy"])
async def get_privacy_list(name: str, actor: ActorDep, core: CoreDep) -> PrivacyList:
    return await core.privacy.get_list(actor, name)


@router.put("/privacy/lists/{name}", response_model=PrivacyList, tags=["privacy"])
async def put_privacy_list(
    name: str, body: PrivacyListIn, actor: ActorDep, core: CoreDep
) -> PrivacyList:
    """Create or replace a list. ``deny`` rules block a user: their 1-1 messages are
    refused (error ``blocked``) and their group messages are not delivered to you."""
    items = [PrivacyItem(**item.model_dump()) for item in body.items]
    return await core.privacy.put_list(actor, name, items)


@router.delete("/privacy/lists/{name}", status_code=204, response_class=Response, tags=["privacy"])
async def delete_privacy_list(name: str, actor: ActorDep, core: CoreDep) -> Response:
    await core.privacy.delete_list(actor, name)
    return Response(status_code=204)


@router.put("/privacy/active", response_model=PrivacyNames, tags=["privacy"])
async def set_active_list(body: ActiveListIn, actor: ActorDep, core: CoreDep) -> PrivacyNames:
    """Activate a list by name, or none with ``{"name": null}``."""
    await core.privacy.set_active(actor, body.name)
    names, active = await core.privacy.list_names(actor)
    return PrivacyNames(names=names, active=active)
