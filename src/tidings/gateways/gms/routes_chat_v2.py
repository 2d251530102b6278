"""Chat API v2 over REST (§8): ``{base}/2/chat/{serviceName}[/{chatId}[/{op}]]``.

v2 decoders read ``statusCode`` rather than the HTTP status, so a chat's errors
are 200 with ``statusCode`` 2 (and 1 when the core refused the operation). A chat
is the phone's own: another ``gms_user``'s chat is unknown, and every operation
must carry the chat's ``secureKey``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import JSONResponse, Response

from tidings.domain.errors import DomainError, NotFound
from tidings.gateways.gms.endpoint import Answer, Call
from tidings.gateways.gms.mapping import v2_error, v2_response
from tidings.gateways.gms.protocol import profile_of

Act = Callable[[Call, str], Awaitable[None]]


async def create(call: Call) -> Response:
    """``POST {base}/2/chat/{serviceName}`` (§8.1): start a chat service and its chat,
    sending ``text`` as the first message when there is one."""
    core, app = call.core, call.app
    service = await core.callbacks.start(
        app, call.arg("service_name"), call.params, call.caller, kind="chat"
    )
    await core.gms_chats.create(app, service, service.gms_user, profile_of(call.params))
    if call.params.get("text"):
        await core.gms_chats.client_send(app, service.id, call.params["text"])
    chat, entries = await core.gms_chats.transcript(app, service.id, 0)
    return JSONResponse(v2_response(chat, entries))


async def _own_chat(call: Call) -> str:
    """The chat id of the path, once the chat is the caller's and the key matches."""
    chat_id = call.arg("chat_id")
    try:
        chat, _ = await call.core.gms_chats.transcript(call.app, chat_id, 1 << 30, call.caller)
    except NotFound:
        raise Answer(JSONResponse(v2_error(404, "unknown chat", chat_id))) from None
    if call.params.get("secureKey") != chat.secure_key:
        raise Answer(JSONResponse(v2_error(403, "secureKey does not match", chat_id)))
    return chat_id


async def _operate(call: Call, act: Act | None) -> Response:
    chat_id = await _own_chat(call)
    after = max(0, int(call.params.get("transcriptPosition") or 1) - 1)
    if act is not None:
        try:
            await act(call, chat_id)
        except DomainError as exc:
            return JSONResponse({**v2_error(400, exc.message, chat_id), "statusCode": 1})
    chat, entries = await call.core.gms_chats.transcript(call.app, chat_id, after)
    return JSONResponse(v2_response(chat, entries))


async def _send(call: Call, chat_id: str) -> None:
    await call.core.gms_chats.client_send(call.app, chat_id, call.params.get("message", ""))


async def _typing(call: Call, chat_id: str) -> None:
    started = call.request.url.path.rstrip("/").endswith("startTyping")
    await call.core.gms_chats.client_typing(call.app, chat_id, started)


async def _disconnect(call: Call, chat_id: str) -> None:
    await call.core.gms_chats.client_disconnect(call.app, chat_id)


async def refresh(call: Call) -> Response:
    """``…/2/chat/{serviceName}/{chatId}[/refresh]`` (§8.2): the transcript from
    ``transcriptPosition``."""
    return await _operate(call, None)


async def send(call: Call) -> Response:
    """``…/2/chat/{serviceName}/{chatId}/send`` (§8.2): ``message``."""
    return await _operate(call, _send)


async def typing(call: Call) -> Response:
    """``…/{chatId}/startTyping`` and ``…/{chatId}/stopTyping`` (§8.2)."""
    return await _operate(call, _typing)


async def disconnect(call: Call) -> Response:
    """``…/2/chat/{serviceName}/{chatId}/disconnect`` (§8.2): the phone leaves."""
    return await _operate(call, _disconnect)


async def unsupported(call: Call) -> Response:
    """Any other operation: 400 in the v2 shape, once the chat and key check out."""
    chat_id = await _own_chat(call)
    return JSONResponse(v2_error(400, f"unsupported operation {call.arg('op')}", chat_id))
