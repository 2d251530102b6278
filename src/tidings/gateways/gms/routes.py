"""GMS REST under ``/genesys``: services, callbacks, dialog actions, Chat v1 and v2.

One dispatcher over path segments, so trailing slashes are accepted on every
route (§1.1) and ``/genesys/cometd`` (the Bayeux gateway) is matched first.
Errors use the shapes of §1.5 for each API family.

Who is asking: every request names its app by its ``apikey`` / ``x-api-key``
header (401 without one, or with a key no app has); the phone is its ``gms_user``
header. A phone sees only its own services and chats: with a ``gms_user`` a
service or chat of another user is "not found"; without one (an anonymous phone,
whose identity the server made up per service) the unguessable service id,
chat id or ``secureKey`` it was given is what it holds, and it lists nothing.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tidings import jsonbody
from tidings.core.callbacks import Callback
from tidings.core.hub import Core
from tidings.domain.errors import DomainError, NotFound
from tidings.gateways.gms import dialogs
from tidings.gateways.gms.mapping import error_body, interaction, record, v2_error, v2_response
from tidings.gateways.gms.protocol import iso_ms, parse_params, profile_of

CHAT_OPS = ("send", "refresh", "startTyping", "stopTyping", "disconnect")


def _ext(request: Request) -> str:
    """``{host}/genesys`` from the request's scheme and Host (§1.1)."""
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}/genesys"


def _caller(request: Request) -> str | None:
    """The phone's ``gms_user`` header (§1.3), or None for an anonymous phone."""
    return request.headers.get("gms_user") or None


def _api_key(request: Request) -> str | None:
    """GMSLibrary sends both header names; other clients one of them (§1.3)."""
    return request.headers.get("apikey") or request.headers.get("x-api-key") or None


def _err(code: int, message: str, exception: str = "CallbackException") -> JSONResponse:
    return JSONResponse(error_body(code, message, exception), code)


def _refused(parts: list[str], exc: DomainError) -> JSONResponse:
    """No app for this request (no key, an unknown key, GMS off): the §1.5 error body,
    merged with the Chat v2 fields on ``/2/chat`` so v2 decoders can read it too."""
    body = error_body(exc.status, exc.message)
    if parts[:2] == ["2", "chat"]:
        body = {**v2_error(exc.status, exc.message), **body}
    return JSONResponse(body, exc.status)


async def dispatch(core: Core, request: Request) -> Response:
    parts = [p for p in request.url.path.split("/") if p][1:]  # drop "genesys"
    body = await request.body()
    try:
        params = parse_params(request.url.query, body, request.headers.get("content-type", ""))
    except jsonbody.JsonError as exc:
        return _err(exc.status, exc.message)
    method = request.method
    try:
        app = await core.callbacks.gms_app(_api_key(request))
    except DomainError as exc:
        return _refused(parts, exc)
    caller = _caller(request)
    try:
        if parts[:2] == ["2", "chat"] and len(parts) >= 3:
            return await _chat_v2(core, app, caller, parts[2:], params)
        if parts[:2] != ["1", "service"] or len(parts) < 3:
            return _err(404, "unknown resource")
        rest = parts[2:]
        if rest[0] == "callback":
            return await _callback(core, app, caller, request, method, rest[1:], params)
        if rest == ["request-chat"] and method == "POST":
            service = await core.callbacks.start(app, "request-chat", params, caller, kind="chat")
            return JSONResponse(
                {
                    "_chatIxnAPI-CREATE-URL": f"/genesys/1/service/{service.id}/ixn/chat",
                    "_id": service.id,
                }
            )
        if len(rest) == 1 and method == "POST" and rest[0] in core.callbacks.services_of(app):
            return await _start(core, app, caller, request, rest[0], params)
        service = await core.callbacks.get(app, rest[0], caller)
        if len(rest) == 1:
            if method == "DELETE":
                await core.callbacks.cancel(app, service.id)
                return JSONResponse({})
            return JSONResponse(record(service, _ext(request)))
        if rest[1:3] == ["ixn", "chat"]:
            return await _chat_v1(core, app, request, service, rest[3:], params)
        if len(rest) == 2:
            return await _action(core, app, request, service, rest[1])
        return _err(404, "unknown resource")
    except NotFound as exc:
        return _err(404, exc.message)
    except DomainError as exc:
        return _err(exc.status, exc.message)


async def _start(
    core: Core, app: Any, caller: str | None, request: Request, name: str, params: dict[str, str]
) -> Response:
    callback = await core.callbacks.start(app, name, params, caller, kind="callback")
    out: dict[str, Any] = record(callback, _ext(request))
    out.update(_first_dialog(request, callback))
    return JSONResponse(out)


def _first_dialog(request: Request, cb: Callback) -> dict[str, Any]:
    """The reply to a start (§3.7's table, column "Reply to 3.1")."""
    if cb.is_chat:
        if cb.wait_for_agent:
            return dialogs.confirmation(cb.id, dialogs.NOTIFY_LATER)
        return _start_chat(request, cb)
    if cb.state == "SCHEDULED":
        return dialogs.confirmation(cb.id, f"Your call is booked for {iso_ms(cb.desired_ms or 0)}")
    if cb.wait_for_agent:
        return dialogs.confirmation(cb.id, dialogs.NOTIFY_LATER)
    if cb.user_terminated:
        return dialogs.confirmation(cb.id, dialogs.CALL_SHORTLY)
    return _dial(cb)


def _dial(cb: Callback) -> dict[str, Any]:
    number = cb.params.get("_access_number") or "+18005550199"
    code = cb.id[-4:] if cb.provide_code else None
    return dialogs.dial_number(cb.id, f"tel:{number}", code)


def _start_chat(request: Request, cb: Callback) -> dict[str, Any]:
    ext = _ext(request)
    return dialogs.start_chat(
        ext, cb.id, f"{ext}/cometd", cb.gms_user, cb.params.get("subject") or "None"
    )


async def _action(core: Core, app: Any, request: Request, cb: Callback, action: str) -> Response:
    """``POST|GET {base}/1/service/{id}/{action}`` (§2.3): the body is ignored."""
    ext = _ext(request)
    if action.startswith("get-dialog-user-confirmation"):
        provide = action.endswith("-true") or (
            action == "get-dialog-user-confirmation" and cb.provide_code
        )
        if action not in (
            "get-dialog-user-confirmation",
            "get-dialog-user-confirmation-provide_code-true",
            "get-dialog-user-confirmation-provide_code-false",
        ):
            return _err(404, f"unknown action {action}")
        expires = iso_ms(core.now_ms() + 15 * 60_000)
        return JSONResponse(dialogs.user_confirmation(ext, cb.id, provide, expires))
    if action == "get-dialog-start-chat":
        return JSONResponse(_start_chat(request, cb))
    if action == "connect-inbound":
        await core.callbacks.connect(app, cb.id)
        return JSONResponse(_dial(cb))
    if action == "connect-outbound":
        await core.callbacks.connect(app, cb.id)
        return JSONResponse(dialogs.confirmation(cb.id, dialogs.CALL_SHORTLY))
    if action == "connect":
        await core.callbacks.connect(app, cb.id)
        if cb.is_chat:
            return JSONResponse(_start_chat(request, cb))
        if cb.user_terminated:
            return JSONResponse(dialogs.confirmation(cb.id, dialogs.CALL_SHORTLY))
        return JSONResponse(_dial(cb))
    if action == "wait-for-agent":
        return JSONResponse(dialogs.confirmation(cb.id, dialogs.NOTIFY_LATER))
    if action == "snooze":
        await core.callbacks.snooze(app, cb.id)
        return JSONResponse(dialogs.confirmation(cb.id, "We will ask you again in 5 minutes"))
    if action == "cancel":
        await core.callbacks.cancel(app, cb.id)
        return JSONResponse(dialogs.confirmation(cb.id, "Your request has been cancelled"))
    if action == "check-queue-position":
        queue = [
            c
            for c in await core.callbacks.query(app, cb.service_name, {})
            if c.state in ("QUEUED", "SCHEDULED")
        ]
        ids = [c.id for c in queue]
        position = ids.index(cb.id) + 1 if cb.id in ids else 0
        return JSONResponse(
            {
                "_position": str(position),
                "_eta": str(position * 60),
                "_total_waiting": str(len(ids)),
                "_agent_ready_threshold_passed": cb.state == "ROUTING",
            }
        )
    return _err(404, f"unknown action {action}")


async def _callback(
    core: Core,
    app: Any,
    caller: str | None,
    request: Request,
    method: str,
    rest: list[str],
    params: dict[str, str],
) -> Response:
    ext = _ext(request)
    if not rest:
        if "_id" in params:
            return JSONResponse(record(await core.callbacks.get(app, params["_id"], caller), ext))
        return _err(404, "name the callback service", "CallbackExceptionResource")
    name = rest[0]
    if name not in core.callbacks.services_of(app):
        return _err(404, f"no callback service {name}", "CallbackExceptionResource")
    if len(rest) == 1:
        if method == "POST":
            return await _start(core, app, caller, request, name, params)
        if caller is None:
            # An anonymous phone has an identity per callback, none to list by.
            return JSONResponse([])
        any_of = params.pop("operand", "AND").upper() == "OR"
        found = await core.callbacks.query(app, name, params, owner=caller, any_of=any_of)
        return JSONResponse([record(c, ext) for c in found])
    if rest[1] == "availability":
        return JSONResponse(_availability(core))
    cb = await core.callbacks.get(app, rest[1], caller)
    if cb.service_name != name:
        raise NotFound(f"no callback {rest[1]} in {name}", code="unknown_service")
    if method == "DELETE":
        await core.callbacks.cancel(app, cb.id)
        return JSONResponse({})
    if method == "PUT":
        if params.get("_new_desired_time"):
            await core.callbacks.reschedule(app, cb.id, params["_new_desired_time"])
        return JSONResponse({})
    return JSONResponse(record(cb, ext))


def _availability(core: Core) -> dict[str, int]:
    """Fifteen-minute slots for the next four hours, each with capacity 5 (assumption)."""
    start = (core.now_ms() // 900_000 + 1) * 900_000
    return {iso_ms(start + i * 900_000): 5 for i in range(16)}


async def _chat_v1(
    core: Core, app: Any, request: Request, service: Callback, op: list[str], params: dict[str, str]
) -> Response:
    verbose = params.get("_verbose", "false").lower() == "true"
    try:
        if not op:
            chat, entries = await core.gms_chats.create(
                app, service, service.gms_user, profile_of(params)
            )
            return JSONResponse(interaction(chat, entries, verbose=verbose))
        if len(op) != 1 or op[0] not in CHAT_OPS:
            return JSONResponse({"message": "unknown operation", "exception": "NotFound"}, 404)
        name = op[0]
        chat, _ = await core.gms_chats.transcript(app, service.id, 1 << 30)
        after = chat.last_position
        if name == "send":
            await core.gms_chats.client_send(app, service.id, params.get("message", ""))
        elif name == "refresh":
            after = int(params.get("transcriptPosition") or 0)
            if params.get("message"):
                await core.gms_chats.client_send(app, service.id, params["message"])
        elif name in ("startTyping", "stopTyping"):
            await core.gms_chats.client_typing(app, service.id, name == "startTyping")
        elif name == "disconnect":
            await core.gms_chats.client_disconnect(app, service.id)
        chat, entries = await core.gms_chats.transcript(app, service.id, after)
        return JSONResponse(interaction(chat, entries, verbose=verbose))
    except NotFound as exc:
        return JSONResponse({"message": exc.message, "exception": "NotFound"}, 404)
    except DomainError as exc:
        return JSONResponse({"message": exc.message, "exception": exc.code}, exc.status)


async def _chat_v2(
    core: Core, app: Any, caller: str | None, rest: list[str], params: dict[str, str]
) -> Response:
    """Chat v2 REST (§8): errors are 200 with ``statusCode`` 2."""
    svc = rest[0]
    if len(rest) == 1:
        service = await core.callbacks.start(app, svc, params, caller, kind="chat")
        await core.gms_chats.create(app, service, service.gms_user, profile_of(params))
        if params.get("text"):
            await core.gms_chats.client_send(app, service.id, params["text"])
        chat, entries = await core.gms_chats.transcript(app, service.id, 0)
        return JSONResponse(v2_response(chat, entries))
    chat_id, op = rest[1], (rest[2] if len(rest) > 2 else "refresh")
    try:
        chat, _ = await core.gms_chats.transcript(app, chat_id, 1 << 30, caller)
    except NotFound:
        return JSONResponse(v2_error(404, "unknown chat", chat_id))
    if params.get("secureKey") != chat.secure_key:
        return JSONResponse(v2_error(403, "secureKey does not match", chat_id))
    after = max(0, int(params.get("transcriptPosition") or 1) - 1)
    try:
        if op == "send":
            await core.gms_chats.client_send(app, chat_id, params.get("message", ""))
        elif op in ("startTyping", "stopTyping"):
            await core.gms_chats.client_typing(app, chat_id, op == "startTyping")
        elif op == "disconnect":
            await core.gms_chats.client_disconnect(app, chat_id)
        elif op != "refresh":
            return JSONResponse(v2_error(400, f"unsupported operation {op}", chat_id))
    except DomainError as exc:
        return JSONResponse({**v2_error(400, exc.message, chat_id), "statusCode": 1})
    chat, entries = await core.gms_chats.transcript(app, chat_id, after)
    return JSONResponse(v2_response(chat, entries))
