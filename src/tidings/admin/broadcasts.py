"""Broadcast dialogs: one-way channels to every user of the app (ConnectyCube's
broadcast dialogs, "created only via the admin panel"). The core makes every
user of the app a member, now and as they sign up, and lets the owner and dialog
admins post; members get the messages live and pushes are not sent for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.admin.context import around
from tidings.admin.render import AdminRoute, page
from tidings.admin.session import acting, core_of, signed_in
from tidings.domain.errors import InvalidInput, NotFound

router = APIRouter(route_class=AdminRoute)


async def _page(request: Request, status: int = 200, **typed: str) -> Response:
    actor = await signed_in(request)
    context = await around(request, actor, "broadcasts")
    _total, dialogs = await core_of(request).dialogs.list_dialogs(
        actor, types=["broadcast"], limit=100
    )
    return page(
        "broadcasts.html", status, **context, dialogs=dialogs, typed=typed, error=typed.get("error")
    )


@router.get("/broadcasts", response_class=HTMLResponse)
async def broadcasts_page(request: Request) -> Response:
    return await _page(request)


@router.post("/broadcasts", response_class=HTMLResponse)
async def create(
    request: Request,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    actor = await acting(request)
    try:
        await core_of(request).dialogs.create_dialog(
            actor, "broadcast", name=name.strip(), description=description.strip() or None
        )
    except InvalidInput as exc:
        return await _page(request, 400, name=name, description=description, error=exc.message)
    return RedirectResponse("/admin/broadcasts?done=broadcast", 303)


@router.post("/broadcasts/{dialog_id}/messages", response_class=HTMLResponse)
async def post(request: Request, dialog_id: str, body: Annotated[str, Form()] = "") -> Response:
    """Post to a broadcast of this app; any other dialog id (another app's, or not a
    broadcast) is a 404."""
    actor = await acting(request)
    core = core_of(request)
    dialog = await core.dialogs.get_dialog(actor, dialog_id)
    if dialog.type != "broadcast":
        raise NotFound(f"no broadcast dialog {dialog_id}", code="dialog_not_found")
    if not body.strip():
        return await _page(request, 400, post_to=dialog_id, error="write a message to post")
    try:
        await core.messages.send_message(actor, dialog_id, body.strip())
    except InvalidInput as exc:
        return await _page(request, 400, post_to=dialog_id, body=body, error=exc.message)
    return RedirectResponse("/admin/broadcasts?done=posted", 303)
