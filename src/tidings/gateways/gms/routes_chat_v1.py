"""Chat API v1 (§6): ``{base}/1/service/{id}/ixn/chat[/{op}]``.

The service is looked up first (its errors are the Service API's, §1.5); the
chat's own errors answer ``{"message", "exception"}`` as GMS 8.x does. Every
operation answers the transcript since the chat's last position (``refresh``:
since the ``transcriptPosition`` the phone names).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import JSONResponse, Response

from tidings.core.callbacks import Callback
from tidings.domain.errors import DomainError, NotFound
from tidings.gateways.gms.endpoint import Call
from tidings.gateways.gms.mapping import interaction
from tidings.gateways.gms.protocol import profile_of

Act = Callable[[Call, str], Awaitable[None]]


async def _service(call: Call) -> Callback:
    return await call.core.callbacks.get(call.app, call.arg("service_id"), call.caller)


def _verbose(call: Call) -> bool:
    return call.params.get("_verbose", "false").lower() == "true"


def _error(exc: DomainError) -> Response:
    if isinstance(exc, NotFound):
        return JSONResponse({"message": exc.message, "exception": "NotFound"}, 404)
    return JSONResponse({"message": exc.message, "exception": exc.code}, exc.status)


async def create(call: Call) -> Response:
    """``POST {base}/1/service/{id}/ixn/chat`` (§6.1): open the chat of a chat service."""
    service = await _service(call)
    try:
        chat, entries = await call.core.gms_chats.create(
            call.app, service, service.gms_user, profile_of(call.params)
        )
    except DomainError as exc:
        return _error(exc)
    return JSONResponse(interaction(chat, entries, verbose=_verbose(call)))


async def _operate(call: Call, act: Act | None, *, refresh: bool = False) -> Response:
    service = await _service(call)
    chats = call.core.gms_chats
    try:
        chat, _ = await chats.transcript(call.app, service.id, 1 << 30)
        after = int(call.params.get("transcriptPosition") or 0) if refresh else chat.last_position
        if act is not None:
            await act(call, service.id)
        chat, entries = await chats.transcript(call.app, service.id, after)
    except DomainError as exc:
        return _error(exc)
    return JSONResponse(interaction(chat, entries, verbose=_verbose(call)))


async def _send(call: Call, service_id: str) -> None:
    await call.core.gms_chats.client_send(call.app, service_id, call.params.get("message", ""))


async def _send_if_any(call: Call, service_id: str) -> None:
    if call.params.get("message"):
        await call.core.gms_chats.client_send(call.app, service_id, call.params["message"])


async def _typing(call: Call, service_id: str) -> None:
    started = call.request.url.path.rstrip("/").endswith("startTyping")
    await call.core.gms_chats.client_typing(call.app, service_id, started)


async def _disconnect(call: Call, service_id: str) -> None:
    await call.core.gms_chats.client_disconnect(call.app, service_id)


async def send(call: Call) -> Response:
    """``POST …/ixn/chat/send`` (§6.2): ``message``."""
    return await _operate(call, _send)


async def refresh(call: Call) -> Response:
    """``POST …/ixn/chat/refresh`` (§6.3): the transcript after ``transcriptPosition``,
    sending ``message`` first when there is one."""
    return await _operate(call, _send_if_any, refresh=True)


async def typing(call: Call) -> Response:
    """``POST …/ixn/chat/startTyping`` and ``…/stopTyping`` (§6.4)."""
    return await _operate(call, _typing)


async def disconnect(call: Call) -> Response:
    """``POST …/ixn/chat/disconnect`` (§6.5): the phone leaves the chat."""
    return await _operate(call, _disconnect)


async def unknown_operation(call: Call) -> Response:
    """Any other ``…/ixn/chat/{op}``: 404 once the service is found."""
    await _service(call)
    return JSONResponse({"message": "unknown operation", "exception": "NotFound"}, 404)
