"""Apps, for operators: every app of the server, and a form that makes a new one
with its first admin (who then signs in here to set it up).

An operator is an admin of an app marked ``operator`` (``tidings app update APP_ID
--operator``): the panel is otherwise scoped to the admin's own app, and this page is
the one place that sees across apps. Everyone else gets a 403 here, and no "Apps"
link.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.admin.context import around
from tidings.admin.render import AdminRoute, page
from tidings.admin.session import acting, core_of, signed_in
from tidings.domain.errors import DomainError, Forbidden, InvalidInput
from tidings.domain.models import Actor, App

router = APIRouter(route_class=AdminRoute)


def is_operator(app: App) -> bool:
    return (app.config or {}).get("operator") is True


async def _operator(request: Request, actor: Actor) -> None:
    if not is_operator(await core_of(request).apps.get_app(actor.app_id)):
        raise Forbidden("only an operator's admins see every app", code="not_operator")


async def _page(request: Request, status: int = 200, **typed: str) -> Response:
    actor = await signed_in(request)
    await _operator(request, actor)
    core = core_of(request)
    context = await around(request, actor, "apps")
    created: App | None = None
    wanted = request.query_params.get("created", "")
    apps = await core.apps.list_apps()
    if wanted.isdigit():
        created = next((a for a in apps if a.id == int(wanted)), None)
    return page(
        "apps.html",
        status,
        **context,
        apps=apps,
        created=created,
        typed=typed,
        error=typed.get("error"),
    )


@router.get("/apps", response_class=HTMLResponse)
async def apps_page(request: Request) -> Response:
    return await _page(request)


@router.post("/apps", response_class=HTMLResponse)
async def create(
    request: Request,
    name: Annotated[str, Form()] = "",
    admin_login: Annotated[str, Form()] = "",
    admin_password: Annotated[str, Form()] = "",
) -> Response:
    """A new app and its first admin, in that order; if the admin cannot be made (a
    short password, say) the app goes again, so a refused form leaves nothing."""
    actor = await acting(request)
    await _operator(request, actor)
    core = core_of(request)
    login = admin_login.strip()
    if not login:
        return await _page(request, 400, name=name, admin_login=login, error="name its first admin")
    try:
        app = await core.apps.create_app(name)
    except InvalidInput as exc:
        return await _page(request, 400, name=name, admin_login=login, error=exc.message)
    try:
        await core.users.create_user(app.id, login=login, password=admin_password, role="admin")
    except DomainError as exc:
        await core.apps.delete_app(app.id)
        return await _page(request, 400, name=name, admin_login=login, error=exc.message)
    return RedirectResponse(f"/admin/apps?created={app.id}", 303)
