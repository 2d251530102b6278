"""Users and agents of the app: find, deactivate, delete, set a password.

The same core calls ``tidings user …`` makes; deactivating also does what the CLI
does: the password hash is cleared (no password matches) and every session ends,
and setting a password makes the account usable again. Every id is looked up in
the admin's own app first, so another app's user is a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.admin.context import around
from tidings.admin.render import AdminRoute, page
from tidings.admin.session import acting, core_of, signed_in
from tidings.domain.errors import Forbidden, InvalidInput
from tidings.domain.models import ROLES, Actor

router = APIRouter(route_class=AdminRoute)
PAGE_SIZE = 100


async def _page(
    request: Request, q: str = "", role: str = "", status: int = 200, error: str | None = None
) -> Response:
    actor = await signed_in(request)
    context = await around(request, actor, "people")
    found = await core_of(request).users.list_users(actor, text=q.strip() or None, limit=PAGE_SIZE)
    if role in ROLES:
        found = [u for u in found if u.role == role]
    return page(
        "people.html", status, **context, users=found, q=q, role=role, roles=ROLES, error=error
    )


@router.get("/people", response_class=HTMLResponse)
async def people_page(request: Request, q: str = "", role: str = "") -> Response:
    return await _page(request, q, role)


def _not_self(actor: Actor, user_id: int, what: str) -> None:
    if user_id == actor.user_id:
        raise Forbidden(f"you cannot {what} your own account here (you would be locked out)")


@router.post("/people/{user_id}/deactivate")
async def deactivate(request: Request, user_id: int) -> Response:
    actor = await acting(request)
    _not_self(actor, user_id, "deactivate")
    await core_of(request).users.deactivate_user(actor, user_id)  # another app's id: 404
    return RedirectResponse("/admin/people?done=deactivated", 303)


@router.post("/people/{user_id}/delete")
async def remove(request: Request, user_id: int) -> Response:
    actor = await acting(request)
    _not_self(actor, user_id, "delete")
    await core_of(request).users.delete_user(actor, user_id)
    return RedirectResponse("/admin/people?done=deleted", 303)


@router.post("/people/{user_id}/password", response_class=HTMLResponse)
async def set_password(
    request: Request, user_id: int, password: Annotated[str, Form()] = ""
) -> Response:
    actor = await acting(request)
    try:
        await core_of(request).users.update_user(actor, user_id, password=password)
    except InvalidInput as exc:
        return await _page(request, status=400, error=exc.message)
    return RedirectResponse("/admin/people?done=password", 303)
