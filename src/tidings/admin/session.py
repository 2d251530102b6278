"""Who is signed in to the admin panel, and whether a form really comes from it.

Signing in makes an ordinary core session (``core.auth.login``) for a user whose
role is ``admin``; its token lives in an ``HttpOnly``, ``SameSite=Strict`` cookie
scoped to ``/admin``, as the console's does under ``/console``. An admin manages
their own app: every page reads ``actor.app_id`` and no URL names an app.

A POST must pass two checks: its ``Origin`` (when the browser sends one) is this
host, and its ``csrf`` field is the HMAC of the session token, which only a page
rendered for this session can know (the synchronizer-token pattern of the OWASP
CSRF cheat sheet; ``SameSite=Strict`` already stops most cross-site posts).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from tidings.core.hub import Core
from tidings.domain.errors import Forbidden, Unauthenticated
from tidings.domain.models import Actor

COOKIE = "tidings_admin"
PATH = "/admin"


def core_of(request: Request) -> Core:
    return request.app.state.core  # type: ignore[no-any-return]


async def signed_in(request: Request) -> Actor:
    """The admin of this request's session; ``Unauthenticated`` sends them to sign in."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise Unauthenticated("sign in to the admin panel")
    actor = await core_of(request).auth.authenticate(token)
    if not actor.is_admin:
        raise Unauthenticated("the admin panel is for app admins")
    return actor


def csrf_token(request: Request) -> str:
    """The form token of this request's session ('' without one)."""
    token = request.cookies.get(COOKIE, "")
    if not token:
        return ""
    return hmac.new(token.encode(), b"tidings-admin-form", hashlib.sha256).hexdigest()


async def acting(request: Request) -> Actor:
    """:func:`signed_in` for a POST: also same-origin, with this session's form token."""
    actor = await signed_in(request)
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("cross-site request refused", code="cross_site")
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise Forbidden(
            "this form is stale or was not made by the admin panel: reload and try again",
            code="bad_csrf",
        )
    return actor


def remember(response: Response, request: Request, token: str, ttl: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=ttl,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=PATH,
    )


def forget(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH)
