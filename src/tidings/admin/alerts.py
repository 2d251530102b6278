"""Chat alerts: the text of the push an offline user gets for a new message.

The template lives in the app's config (``chat_alerts.template``) and says
``{sender}`` and ``{message}`` where the sender's name and the message preview go;
``tidings.core.push`` fills it in when it queues the push. Without one, a push
shows the message text.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.admin.context import around
from tidings.admin.render import AdminRoute, page
from tidings.admin.session import acting, core_of, signed_in
from tidings.core.push import alert_template, render_alert
from tidings.domain.errors import InvalidInput

router = APIRouter(route_class=AdminRoute)

MAX_TEMPLATE = 500
#: Anything in braces: each must be a placeholder we fill, so a typo shows at once.
BRACED = re.compile(r"\{([^{}]*)\}")
EXAMPLE = {"sender": "Alice Liddell", "message": "are you there?"}


def checked_template(text: str) -> str:
    template = text.strip()
    if not template:
        raise InvalidInput("the template is empty: write the push text, or remove it")
    if len(template) > MAX_TEMPLATE:
        raise InvalidInput(f"the template is at most {MAX_TEMPLATE} characters")
    unknown = sorted({n for n in BRACED.findall(template) if n not in EXAMPLE})
    if unknown:
        names = ", ".join("{" + n + "}" for n in unknown)
        raise InvalidInput(f"unknown placeholder {names}: use {{sender}} and {{message}}")
    return template


async def _page(request: Request, status: int = 200, **extra: object) -> Response:
    actor = await signed_in(request)
    context = await around(request, actor, "alerts")
    current = alert_template(context["app"].config) or ""
    example = render_alert(current, **EXAMPLE) if current else EXAMPLE["message"]
    values = {"template": current, "example": example, **extra}
    return page("alerts.html", status, **context, values=values, error=extra.get("error"))


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(request: Request) -> Response:
    return await _page(request)


@router.post("/alerts", response_class=HTMLResponse)
async def save_alerts(
    request: Request, template: Annotated[str, Form()] = "", remove: Annotated[str, Form()] = ""
) -> Response:
    actor = await acting(request)
    if remove:
        await core_of(request).apps.update_app(actor.app_id, config={"chat_alerts": None})
        return RedirectResponse("/admin/alerts?done=alerts-cleared", 303)
    try:
        checked = checked_template(template)
    except InvalidInput as exc:
        return await _page(request, 400, template=template, error=exc.message)
    await core_of(request).apps.update_app(
        actor.app_id, config={"chat_alerts": {"template": checked}}
    )
    return RedirectResponse("/admin/alerts?done=alerts", 303)
