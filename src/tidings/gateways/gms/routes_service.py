"""Service API (§2): ``{base}/1/service/{id}`` and its dialog actions (§2.3).

A service is a callback or a chat the phone started; every endpoint here but the
two starts looks the service up first, as the phone's own (a service of another
``gms_user`` is "not found").
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from tidings.core.callbacks import Callback
from tidings.gateways.gms import dialogs
from tidings.gateways.gms.endpoint import Call, err
from tidings.gateways.gms.mapping import record
from tidings.gateways.gms.protocol import iso_ms
from tidings.gateways.gms.routes_callback import dial, start, start_chat

CONFIRMATIONS = (
    "get-dialog-user-confirmation",
    "get-dialog-user-confirmation-provide_code-true",
    "get-dialog-user-confirmation-provide_code-false",
)


async def _service(call: Call) -> Callback:
    return await call.core.callbacks.get(call.app, call.arg("service_id"), call.caller)


async def request_chat(call: Call) -> Response:
    """``POST {base}/1/service/request-chat`` (§2.1): a chat service, answered with the
    root-relative URL to create its chat at (§1.1)."""
    service = await call.core.callbacks.start(
        call.app, "request-chat", call.params, call.caller, kind="chat"
    )
    return JSONResponse(
        {
            "_chatIxnAPI-CREATE-URL": f"/genesys/1/service/{service.id}/ixn/chat",
            "_id": service.id,
        }
    )


async def create_or_read(call: Call) -> Response:
    """``POST {base}/1/service/{name}`` starts a callback of service ``name`` (§2.1);
    a POST to a service id reads it, as a GET does."""
    name = call.arg("service_id")
    if name in call.core.callbacks.services_of(call.app):
        return await start(call, name)
    return await read(call)


async def read(call: Call) -> Response:
    """``GET {base}/1/service/{id}`` (§2.2)."""
    return JSONResponse(record(await _service(call), call.ext))


async def cancel(call: Call) -> Response:
    """``DELETE {base}/1/service/{id}`` (§2.2)."""
    service = await _service(call)
    await call.core.callbacks.cancel(call.app, service.id)
    return JSONResponse({})


async def confirmation(call: Call) -> Response:
    """``{base}/1/service/{id}/get-dialog-user-confirmation[-provide_code-true|false]``
    (§2.3): the suffix, or else the service's own setting, says whether to ask for a code."""
    cb = await _service(call)
    action = call.request.url.path.rstrip("/").rsplit("/", 1)[-1]
    provide = action.endswith("-true") or (action == CONFIRMATIONS[0] and cb.provide_code)
    expires = iso_ms(call.core.now_ms() + 15 * 60_000)
    return JSONResponse(dialogs.user_confirmation(call.ext, cb.id, provide, expires))


async def start_chat_dialog(call: Call) -> Response:
    """``{base}/1/service/{id}/get-dialog-start-chat`` (§2.3)."""
    return JSONResponse(start_chat(call, await _service(call)))


async def connect_inbound(call: Call) -> Response:
    """``{base}/1/service/{id}/connect-inbound`` (§2.3): the phone calls in."""
    cb = await _service(call)
    await call.core.callbacks.connect(call.app, cb.id)
    return JSONResponse(dial(cb))


async def connect_outbound(call: Call) -> Response:
    """``{base}/1/service/{id}/connect-outbound`` (§2.3): the agent calls out."""
    cb = await _service(call)
    await call.core.callbacks.connect(call.app, cb.id)
    return JSONResponse(dialogs.confirmation(cb.id, dialogs.CALL_SHORTLY))


async def connect(call: Call) -> Response:
    """``{base}/1/service/{id}/connect`` (§2.3): whichever way the service goes."""
    cb = await _service(call)
    await call.core.callbacks.connect(call.app, cb.id)
    if cb.is_chat:
        return JSONResponse(start_chat(call, cb))
    if cb.user_terminated:
        return JSONResponse(dialogs.confirmation(cb.id, dialogs.CALL_SHORTLY))
    return JSONResponse(dial(cb))


async def wait_for_agent(call: Call) -> Response:
    """``{base}/1/service/{id}/wait-for-agent`` (§2.3)."""
    cb = await _service(call)
    return JSONResponse(dialogs.confirmation(cb.id, dialogs.NOTIFY_LATER))


async def snooze(call: Call) -> Response:
    """``{base}/1/service/{id}/snooze`` (§2.3): ask again in five minutes."""
    cb = await _service(call)
    await call.core.callbacks.snooze(call.app, cb.id)
    return JSONResponse(dialogs.confirmation(cb.id, "We will ask you again in 5 minutes"))


async def cancel_dialog(call: Call) -> Response:
    """``{base}/1/service/{id}/cancel`` (§2.3)."""
    cb = await _service(call)
    await call.core.callbacks.cancel(call.app, cb.id)
    return JSONResponse(dialogs.confirmation(cb.id, "Your request has been cancelled"))


async def queue_position(call: Call) -> Response:
    """``{base}/1/service/{id}/check-queue-position`` (§2.3)."""
    cb = await _service(call)
    waiting = [
        c.id
        for c in await call.core.callbacks.query(call.app, cb.service_name, {})
        if c.state in ("QUEUED", "SCHEDULED")
    ]
    position = waiting.index(cb.id) + 1 if cb.id in waiting else 0
    return JSONResponse(
        {
            "_position": str(position),
            "_eta": str(position * 60),
            "_total_waiting": str(len(waiting)),
            "_agent_ready_threshold_passed": cb.state == "ROUTING",
        }
    )


async def unknown_action(call: Call) -> Response:
    """Any other ``{base}/1/service/{id}/{action}``: 404 once the service is found."""
    await _service(call)
    return err(404, f"unknown action {call.arg('action')}")
