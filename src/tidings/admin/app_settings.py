"""App settings: service desk, canned replies, push credentials, GMS, API keys. Each form saves
through ``core.apps.update_app``, as ``tidings app update`` does; a refused form
comes back with what was typed and the reason, and nothing is saved."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.admin.context import around
from tidings.admin.render import AdminRoute, page
from tidings.admin.session import acting, core_of, signed_in
from tidings.admin.settings_forms import FORMS, canned_rows, section
from tidings.domain.errors import InvalidInput, NotFound
from tidings.domain.models import App

router = APIRouter(route_class=AdminRoute)


def shown(app: App) -> dict[str, dict[str, Any]]:
    """What the forms show: current values, secrets only as set or not."""
    config = app.config
    apns = section(config, "apns")
    gms = config.get("gms")
    account = section(section(config, "fcm"), "credentials")
    return {
        "desk": {
            "auth_url": app.auth_url or "",
            "webhook_url": app.webhook_url or "",
            "webhook_secret_set": bool(config.get("webhook_secret")),
            "welcome_message": config.get("welcome_message") or "",
            "chat_title": config.get("chat_title") or "",
            "agent_name": config.get("agent_name") or "",
            "rating_on_close": config.get("rating_on_close") is True,
        },
        "canned": {"entries": canned_entries(config)},
        "apns": {
            "key_id": apns.get("key_id") or "",
            "team_id": apns.get("team_id") or "",
            "bundle": apns.get("topic") or "",
            "environment": apns.get("environment") or "",
            "key_set": bool(apns.get("key") or apns.get("key_path")),
        },
        "fcm": {
            "project_id": account.get("project_id") or "",
            "client_email": account.get("client_email") or "",
        },
        "gms": {
            "enabled": isinstance(gms, dict),
            "services": ", ".join(section(config, "gms").get("callback_services") or []),
            "expire_after_s": str(section(config, "gms").get("expire_after_s") or ""),
        },
    }


def canned_entries(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored canned replies as editor rows (a bare string, which the console
    accepts, is shown as its own title)."""
    stored = config.get("canned_replies")
    rows = []
    for entry in stored if isinstance(stored, list) else []:
        if isinstance(entry, str):
            rows.append({"title": entry, "body": entry, "delete": False})
        elif isinstance(entry, dict):
            title, body = entry.get("title"), entry.get("body")
            rows.append(
                {
                    "title": title if isinstance(title, str) else "",
                    "body": body if isinstance(body, str) else "",
                    "delete": False,
                }
            )
    return rows


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request) -> Response:
    actor = await signed_in(request)
    context = await around(request, actor, "settings")
    return page("settings.html", **context, values=shown(context["app"]))


@router.post("/settings/keys/rotate")
async def rotate_keys(request: Request) -> Response:
    actor = await acting(request)
    await core_of(request).apps.rotate_keys(actor.app_id)
    return RedirectResponse("/admin/settings?done=keys#keys", 303)


@router.post("/settings/{name}", response_class=HTMLResponse)
async def save(request: Request, name: str) -> Response:
    actor = await acting(request)
    read = FORMS.get(name)
    if read is None:
        raise NotFound(f"no settings form {name}")
    core = core_of(request)
    app = await core.apps.get_app(actor.app_id)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        await core.apps.update_app(actor.app_id, **read(form, app.config))
    except InvalidInput as exc:
        context = await around(request, actor, "settings")
        values = shown(app)
        typed = {k: v for k, v in form.items() if k != "csrf"}
        values[name] = {**values[name], **typed, "enabled": bool(form.get("enabled"))}
        if name == "canned":
            values[name]["entries"] = canned_rows(form)
        if name == "desk":
            values[name]["rating_on_close"] = bool(form.get("rating_on_close"))
        context["errors"] = {name: exc.message}
        return page("settings.html", 400, **context, values=values)
    return RedirectResponse(f"/admin/settings?done={name}#{name}", 303)
