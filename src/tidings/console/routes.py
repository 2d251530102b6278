"""Console pages and actions. Each handler authenticates the agent from the session
cookie, calls one core service and renders a template (or redirects after a
POST, so every action also works without JavaScript).

The cookie is ``HttpOnly`` and ``SameSite=Strict``: other sites cannot make an
agent's browser post to the console; POSTs also check ``Origin`` when sent.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Form, Request, WebSocket
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tidings.console.canned import canned_replies
from tidings.console.gms_view import gms_view
from tidings.core.desk_agents import PRIORITIES, VIEWS
from tidings.core.desk_models import RATING_MAX, RATING_TEXTS
from tidings.core.hub import Core
from tidings.domain.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from tidings.domain.models import Actor
from tidings.http_routes import route_class_answering

HERE = Path(__file__).parent
COOKIE = "tidings_console"


def _unavailable_page(exc: Unavailable) -> Response:
    """A lost database connection answers a 503 page with Retry-After, not a 500."""
    page = _page("unavailable.html", 503, message=exc.message)
    page.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return page


def _refused(exc: DomainError) -> Response:
    """A refused action answers its status: an unknown ticket, or another app's, is a
    404 alike; a bad note or search term is a 400 saying why."""
    return JSONResponse({"error": exc.message, "code": exc.code}, exc.status)


ConsoleRoute = route_class_answering({Unavailable: _unavailable_page, DomainError: _refused})


router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(ms: int) -> str:
    now = time.time()
    seconds = ms / 1000
    if now - seconds < 86400 and time.gmtime(now).tm_yday == time.gmtime(seconds).tm_yday:
        return time.strftime("%H:%M", time.gmtime(seconds))
    return time.strftime("%d %b", time.gmtime(seconds))


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


templates.filters.update(when=_when, iso=_iso, size=_size)
#: The satisfaction scale the phone drew: a ticket's rating shows as its stars and face.
templates.globals.update(rating_texts=RATING_TEXTS, rating_max=RATING_MAX)


def _core(request: Request | WebSocket) -> Core:
    return request.app.state.core


async def _agent(request: Request | WebSocket) -> Actor | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        actor = await _core(request).auth.authenticate(token)
    except Unauthenticated:
        return None
    return actor if actor.role in ("agent", "admin") else None


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status)


def _to_login() -> RedirectResponse:
    return RedirectResponse("/console/login", 303)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return RedirectResponse("/console/inbox" if await _agent(request) else "/console/login", 303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return _page("login.html", error=None, email="")


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, email: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""
) -> Response:
    core = _core(request)
    address = request.client.host if request.client else ""
    for app_id in await core.desk.find_agent_apps(email.strip()):
        try:
            session = await core.auth.login(app_id, email.strip(), password, client_address=address)
        except Unauthenticated:
            continue
        except RateLimited as exc:  # too many failed logins from this address
            page = _page("login.html", 429, error=exc.message, email=email)
            page.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            return page
        except Unavailable:
            raise  # the database is away: 503 (ConsoleRoute), not a login refusal
        except DomainError as exc:
            return _page("login.html", 429, error=exc.message, email=email)
        response = RedirectResponse("/console/inbox", 303)
        response.set_cookie(
            COOKIE,
            session.token,
            max_age=core.settings.session_ttl,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/console",
        )
        return response
    return _page("login.html", 401, error="Wrong email or password.", email=email)


@router.post("/logout")
async def logout(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        await _core(request).auth.logout(token)
    response = _to_login()
    response.delete_cookie(COOKIE, path="/console")
    return response


def _cursor(value: str | None) -> tuple[int, int] | None:
    """A page cursor from ``?after=<last_activity_ms>:<ticket_id>``; anything else is
    the first page."""
    ms, _, ticket_id = (value or "").partition(":")
    if ms.isdigit() and ticket_id.isdigit() and len(ms) < 16 and len(ticket_id) < 10:
        return int(ms), int(ticket_id)
    return None


async def _screen(
    request: Request,
    actor: Actor,
    view: str,
    ticket_id: int | None,
    *,
    q: str = "",
    after: tuple[int, int] | None = None,
    limit: int = 100,
    priority: str = "",
    tag: str = "",
) -> dict:
    core = _core(request)
    view = view if view in VIEWS else "open"
    # The ticket first: opening it marks its comments seen, which the counts then show.
    ticket = await core.desk.ticket(actor, ticket_id) if ticket_id else None
    search_error = None
    inbox = None
    if q.strip():
        try:
            inbox = await core.desk.search(actor, q, limit=limit, after=after)
        except InvalidInput as exc:
            search_error = exc.message
    # Filters: an unknown priority or a malformed tag filters nothing (a stale link).
    priority = priority if priority in PRIORITIES else ""
    tag = tag.strip().lower() if tag.strip() and len(tag) <= 32 else ""
    if inbox is None:
        try:
            inbox = await core.desk.inbox(
                actor, view, limit=limit, after=after, priority=priority or None, tag=tag or None
            )
        except InvalidInput:
            tag = ""
            inbox = await core.desk.inbox(
                actor, view, limit=limit, after=after, priority=priority or None
            )
    me, app = await core.desk.me(actor)
    agents = await core.desk.list_agents(actor) if ticket else []
    gms = await gms_view(core, actor, ticket) if ticket else None
    timeline: list[tuple[str, Any]] = [("comment", c) for c in ticket.comments] if ticket else []
    if gms is not None and ticket is not None:
        timeline = gms.timeline(ticket.comments)
    if ticket is not None:
        notes = [("note", n) for n in await core.desk.notes(actor, ticket.ticket_id)]
        timeline = list(heapq.merge(timeline, notes, key=lambda item: item[1].created_ms))
    return {
        "inbox": inbox,
        "view": view,
        "views": VIEWS,
        "q": q.strip() if inbox.view == "search" else "",
        "search_error": search_error,
        "ticket": ticket,
        "agents": agents,
        "me": me,
        "app": app,
        "selected": ticket_id,
        "gms": gms,
        "timeline": timeline,
        "notice": None,
        "priorities": PRIORITIES,
        "filters": {"priority": priority, "tag": tag},
        "labels": await core.desk.labels(actor, ticket.ticket_id) if ticket else None,
        "canned": canned_replies(app.config, ticket.author_name, core.settings.max_message_length)
        if ticket is not None
        else [],
    }


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(
    request: Request,
    view: str = "open",
    q: str = "",
    after: str = "",
    priority: str = "",
    tag: str = "",
) -> Response:
    actor = await _agent(request)
    if actor is None:
        return _to_login()
    context = await _screen(
        request, actor, view, None, q=q, after=_cursor(after), priority=priority, tag=tag
    )
    return _page("console.html", **context)


#: Flash messages a redirect may ask the ticket page to show (``?notice=``).
NOTICES = {"reopened": "Your reply reopened this ticket."}


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request, ticket_id: int, view: str = "open", notice: str = ""
) -> Response:
    actor = await _agent(request)
    if actor is None:
        return _to_login()
    try:
        context = await _screen(request, actor, view, ticket_id)
    except Unavailable:
        raise
    except DomainError:
        return _page("console.html", 404, **await _screen(request, actor, view, None))
    context["notice"] = NOTICES.get(notice)
    return _page("console.html", **context)


@router.get("/partials/list", response_class=HTMLResponse)
async def list_partial(
    request: Request,
    view: str = "open",
    selected: int = 0,
    q: str = "",
    after: str = "",
    limit: int = 100,
    priority: str = "",
    tag: str = "",
) -> Response:
    """The ticket list (a view, or search results with ``q``; filtered by ``priority``
    and ``tag``). With ``after`` only the next page's rows, for the list to append
    ("load more")."""
    actor = await _agent(request)
    if actor is None:
        return Response(status_code=401)
    cursor = _cursor(after)
    context = await _screen(
        request, actor, view, None, q=q, after=cursor, limit=limit, priority=priority, tag=tag
    )
    context["selected"] = selected
    return _page("_rows.html" if cursor else "_list.html", **context)


@router.get("/search.json")
async def search_json(request: Request, q: str = "", after: str = "", limit: int = 50) -> Response:
    """Search as JSON, for scripts: one page of matching tickets and the next cursor."""
    actor = await _agent(request)
    if actor is None:
        return JSONResponse({"error": "log in to the console"}, 401)
    page = await _core(request).desk.search(actor, q, limit=limit, after=_cursor(after))
    return JSONResponse(
        {
            "tickets": [
                {
                    "ticket_id": t.ticket_id,
                    "subject": t.subject,
                    "author_name": t.author_name,
                    "status": t.status,
                    "unread": t.unread_for_support,
                }
                for t in page.tickets
            ],
            "next": f"{page.next_after[0]}:{page.next_after[1]}" if page.next_after else None,
        }
    )


@router.get("/partials/thread/{ticket_id}", response_class=HTMLResponse)
async def thread_partial(
    request: Request, ticket_id: int, view: str = "open", notice: str = ""
) -> Response:
    actor = await _agent(request)
    if actor is None:
        return Response(status_code=401)
    context = await _screen(request, actor, view, ticket_id)
    context["notice"] = NOTICES.get(notice)
    return _page("_ticket.html", **context)


def _back(ticket_id: int, view: str) -> RedirectResponse:
    view = view if view in VIEWS else "open"
    return RedirectResponse(f"/console/tickets/{ticket_id}?view={view}", 303)


async def _acting(request: Request) -> Actor:
    actor = await _agent(request)
    if actor is None:
        raise Unauthenticated("log in to the console")
    if not _same_origin(request):
        raise Forbidden("cross-site request refused")
    return actor


@router.post("/upload/reply/{ticket_id}")
async def reply(request: Request, ticket_id: int) -> Response:
    """Text and files in one multipart form (the one console body that may be big)."""
    try:
        actor = await _acting(request)
    except (Unauthenticated, Forbidden):
        return _to_login()
    core = _core(request)
    form = await request.form()
    try:
        uids = []
        for value in form.getlist("files"):
            if isinstance(value, str) or not value.filename:
                continue

            async def chunks(part: Any = value) -> AsyncIterator[bytes]:
                while chunk := await part.read(64 * 1024):
                    yield chunk

            info = await core.files.upload(
                actor,
                chunks(),
                name=value.filename.replace("/", "_")[:255],
                content_type=value.content_type or "application/octet-stream",
            )
            uids.append(info.uid)
        body = str(form.get("body") or "")
        reopened = False
        if not uids and await core.gms_chats.of_ticket(actor, ticket_id) is not None:
            # A GMS chat: the reply also lands in its transcript and on the phone's Comet.
            await core.gms_chats.agent_reply(actor, ticket_id, body)
        else:
            reopened = (await core.desk.post_reply(actor, ticket_id, body, uids)).reopened
    finally:
        await form.close()
    if request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"reopened": reopened})
    back = _back(ticket_id, str(request.query_params.get("view", "open")))
    if reopened:
        back.headers["location"] += "&notice=reopened"
    return back


@router.post("/tickets/{ticket_id}/notes")
async def add_note(request: Request, ticket_id: int, body: Annotated[str, Form()] = "") -> Response:
    """An internal note: agents see it in the thread; the customer never does."""
    try:
        actor = await _acting(request)
    except (Unauthenticated, Forbidden):
        return _to_login()
    note_id = await _core(request).desk.add_note(actor, ticket_id, body)
    if request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"note_id": note_id})
    return _back(ticket_id, str(request.query_params.get("view", "open")))


@router.post("/tickets/{ticket_id}/labels")
async def set_labels(
    request: Request,
    ticket_id: int,
    priority: Annotated[str | None, Form()] = None,
    tags: Annotated[str | None, Form()] = None,
) -> Response:
    """Priority and/or tags (as typed: commas or spaces between tags)."""
    try:
        actor = await _acting(request)
    except (Unauthenticated, Forbidden):
        return _to_login()
    labels = await _core(request).desk.set_labels(actor, ticket_id, priority=priority, tags=tags)
    if request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"priority": labels.priority, "tags": list(labels.tags)})
    return _back(ticket_id, str(request.query_params.get("view", "open")))


@router.post("/tickets/{ticket_id}/assign")
async def assign(
    request: Request, ticket_id: int, assignee: Annotated[str, Form()] = ""
) -> Response:
    try:
        actor = await _acting(request)
    except (Unauthenticated, Forbidden):
        return _to_login()
    target = int(assignee) if assignee.isdigit() else None
    await _core(request).desk.assign(actor, ticket_id, target)
    if request.headers.get("x-requested-with") == "fetch":
        return Response(status_code=204)  # a keyboard shortcut
    return _back(ticket_id, str(request.query_params.get("view", "open")))


@router.post("/tickets/{ticket_id}/status")
async def status(request: Request, ticket_id: int, status: Annotated[str, Form()]) -> Response:
    try:
        actor = await _acting(request)
    except (Unauthenticated, Forbidden):
        return _to_login()
    await _core(request).desk.set_status(actor, ticket_id, status)
    if request.headers.get("x-requested-with") == "fetch":
        return Response(status_code=204)  # a keyboard shortcut
    return _back(ticket_id, str(request.query_params.get("view", "open")))


GMS_ACTIONS = ("join", "typing", "stoptyping", "leave")


@router.post("/tickets/{ticket_id}/gms/{action}")
async def gms_action(request: Request, ticket_id: int, action: str) -> Response:
    """Join, type, stop typing or leave a GMS chat (each is a transcript entry)."""
    try:
        actor = await _acting(request)
    except (Unauthenticated, Forbidden):
        return _to_login()
    chats = _core(request).gms_chats
    if action not in GMS_ACTIONS:
        return Response(status_code=404)
    try:
        if action == "join":
            await chats.agent_join(actor, ticket_id)
        elif action == "leave":
            await chats.agent_leave(actor, ticket_id)
        else:
            await chats.agent_typing(actor, ticket_id, action == "typing")
    except Unavailable:
        raise
    except DomainError:
        return Response(status_code=404)
    if request.headers.get("x-requested-with") == "fetch":
        return Response(status_code=204)  # the composer's typing reports
    return _back(ticket_id, str(request.query_params.get("view", "open")))


def _waited(ms: int) -> str:
    """A waiting time as an agent reads it: 45 s, 12 min, 3 h 5 min, 2 d."""
    seconds = ms // 1000
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d"


def _user_data(params: dict[str, str]) -> list[tuple[str, str]]:
    """What the customer's app attached (keys without ``_``; those are GMS controls)."""
    return [(k, v) for k, v in params.items() if not k.startswith("_")]


templates.filters.update(waited=_waited, user_data=_user_data)

#: What an agent may do with a callback in each state (the queue's buttons).
CALLBACK_ACTIONS = {
    "SCHEDULED": ("notify", "reschedule", "cancel"),
    "QUEUED": ("notify", "reschedule", "cancel", "done"),
    "ROUTING": ("notify", "cancel", "done"),
    "PROCESSING": ("done", "cancel"),
}


async def _queue_context(request: Request, actor: Actor) -> dict[str, Any]:
    core = _core(request)
    me, app = await core.desk.me(actor)
    return {
        "queue": await core.callbacks.queue(actor),
        "actions": CALLBACK_ACTIONS,
        "me": me,
        "app": app,
    }


@router.get("/callbacks", response_class=HTMLResponse)
async def callbacks(request: Request) -> Response:
    """The GMS callback queue: open callbacks with what fits each state."""
    actor = await _agent(request)
    if actor is None:
        return _to_login()
    return _page("callbacks.html", **await _queue_context(request, actor))


@router.get("/partials/callbacks", response_class=HTMLResponse)
async def callbacks_partial(request: Request) -> Response:
    actor = await _agent(request)
    if actor is None:
        return Response(status_code=401)
    return _page("_callbacks.html", **await _queue_context(request, actor))


@router.get("/callbacks.json")
async def callbacks_json(request: Request) -> Response:
    """The queue as JSON, for scripts and dashboards: the same states the phone reads."""
    actor = await _agent(request)
    if actor is None:
        return JSONResponse({"error": "log in to the console"}, 401)
    queue = await _core(request).callbacks.queue(actor)
    return JSONResponse(
        [
            {
                "id": e.callback.id,
                "service_name": e.callback.service_name,
                "state": e.callback.state,
                "reason": e.callback.reason,
                "customer_number": e.callback.customer_number,
                "media": "chat" if e.callback.is_chat else "voice",
                "position": e.position,
                "waiting_ms": e.waiting_ms,
                "desired_time": _iso(e.callback.desired_ms or e.callback.created_ms),
                "push_state": e.callback.push_state,
                "push_error": e.callback.push_error,
                "ticket_id": e.ticket_id,
                "user_data": {k: v for k, v in e.callback.params.items() if not k.startswith("_")},
            }
            for e in queue
        ]
    )


@router.post("/callbacks/{service_id}/{action}")
async def callback_action(
    request: Request,
    service_id: str,
    action: str,
    when: Annotated[str, Form()] = "",
) -> Response:
    """Notify the customer (push), cancel, mark done or reschedule (``when``: an ISO
    time, or a browser's ``datetime-local`` value, read as UTC)."""
    try:
        actor = await _acting(request)
    except (Unauthenticated, Forbidden):
        return _to_login()
    callbacks = _core(request).callbacks
    try:
        if action == "notify":
            await callbacks.notify(actor, service_id)
        elif action == "cancel":
            await callbacks.agent_cancel(actor, service_id)
        elif action == "done":
            await callbacks.agent_done(actor, service_id)
        elif action == "reschedule":
            await callbacks.agent_reschedule(actor, service_id, when)
        else:
            return Response(status_code=404)
    except Unavailable:
        raise
    except DomainError as exc:
        if exc.status == 404:
            return Response(status_code=404)
        return JSONResponse({"error": exc.message, **exc.details}, exc.status)
    if request.headers.get("x-requested-with") == "fetch":
        return Response(status_code=204)
    return RedirectResponse("/console/callbacks", 303)


@router.get("/files/{file_id}")
async def attachment(request: Request, file_id: int, download: int = 0) -> Response:
    actor = await _agent(request)
    if actor is None:
        return Response(status_code=401)
    try:
        info, body = await _core(request).desk.open_attachment(actor, file_id)
    except Unavailable:
        raise
    except DomainError:
        return Response(status_code=404)
    inline = not download and info.content_type.startswith(("image/", "text/plain", "video/"))
    disposition = "inline" if inline else "attachment"
    headers = {
        "Content-Length": str(info.size),
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(info.name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
    return StreamingResponse(body, media_type=info.content_type, headers=headers)


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    actor = await _agent(websocket)
    if actor is None:
        await websocket.close(code=4401)
        return
    from tidings.console.live import ConsoleLive

    state = websocket.app.state
    if getattr(state, "console_live", None) is None:
        state.console_live = ConsoleLive(_core(websocket))
    await state.console_live.serve(websocket, actor.app_id)


def install_console(app: FastAPI) -> None:
    """Mount the console's pages, socket and static files on the server's app."""
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
