"""Templates and the answers every admin page shares: the page itself, the
sign-in redirect, and error pages for what a handler lets through.

The admin panel looks like the console (it links the console's stylesheet and adds
a few rules of its own), so an operator who knows one knows the other.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tidings.core.canned_replies import MAX_BODY, MAX_CANNED, MAX_TITLE
from tidings.domain.errors import DomainError, Unauthenticated, Unavailable
from tidings.http_routes import route_class_answering

HERE = Path(__file__).parent

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(ms: int | None) -> str:
    if not ms:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


templates.filters.update(when=_when)
#: The canned-reply editor's limits, shown on the form and set on its fields.
templates.globals.update(
    canned_max=MAX_CANNED, canned_title_max=MAX_TITLE, canned_body_max=MAX_BODY
)


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status)


def to_login() -> RedirectResponse:
    return RedirectResponse("/admin/login", 303)


def _unavailable(exc: Unavailable) -> Response:
    """A lost database answers a 503 page with Retry-After, not a 500."""
    answer = page("error.html", 503, message=exc.message, actor=None)
    answer.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return answer


def _refused(exc: DomainError) -> Response:
    """What a core service refused: another app's id is a 404 here, as it is
    everywhere (an admin cannot tell another app's rows from missing ones)."""
    return page("error.html", exc.status, message=exc.message, actor=None)


AdminRoute = route_class_answering(
    {
        Unavailable: _unavailable,
        Unauthenticated: lambda _exc: to_login(),
        DomainError: _refused,
    }
)
