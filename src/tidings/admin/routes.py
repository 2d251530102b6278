"""The admin panel's router: sign-in and sign-out here, each page in a module of
its own (``overview``, ``app_settings``, ``alerts``, ``broadcasts``, ``people``,
``outbox``, and ``apps`` for operators), every form a POST that redirects back (so
it works without JavaScript).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.admin import alerts, app_settings, apps, broadcasts, outbox, overview, people
from tidings.admin.render import AdminRoute, page, to_login
from tidings.admin.session import COOKIE, core_of, forget, remember
from tidings.domain.errors import DomainError, RateLimited, Unauthenticated, Unavailable

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=AdminRoute)


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return RedirectResponse("/admin/overview", 303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return page("login.html", error=None, login="")


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, login: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""
) -> Response:
    """Any app where ``login`` is an admin whose password matches; agents are sent
    to the console (their session is ended at once)."""
    core = core_of(request)
    name = login.strip()
    address = request.client.host if request.client else ""
    not_admin = False
    for app_id in await core.desk.find_agent_apps(name):
        try:
            session = await core.auth.login(app_id, name, password, client_address=address)
        except Unauthenticated:
            continue
        except RateLimited as exc:
            answer = page("login.html", 429, error=exc.message, login=name)
            answer.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            return answer
        except Unavailable:
            raise
        except DomainError as exc:
            return page("login.html", 400, error=exc.message, login=name)
        actor = await core.auth.authenticate(session.token)
        if not actor.is_admin:
            await core.auth.logout(session.token)
            not_admin = True
            continue
        response = RedirectResponse("/admin/overview", 303)
        remember(response, request, session.token, core.settings.session_ttl)
        return response
    error = (
        "This account is an agent, not an app admin: use the console."
        if not_admin
        else "Wrong login or password."
    )
    return page("login.html", 401 if not not_admin else 403, error=error, login=name)


@router.post("/logout")
async def logout(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        await core_of(request).auth.logout(token)
    response = to_login()
    forget(response)
    return response


for module in (overview, app_settings, alerts, broadcasts, people, outbox, apps):
    router.include_router(module.router)
