"""Callback Services API (§3): ``{base}/1/service/callback/{name}[/{id}]``.

A phone sees only its own callbacks: with a ``gms_user`` a callback of another
user is "not found"; without one (an anonymous phone, whose identity the server
made up per service) the unguessable id it was given is what it holds, and it
lists nothing. Starting a callback also answers its first dialog (§3.7), which
the Service API's start shares (:func:`start`).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from tidings.core.callbacks import Callback
from tidings.domain.errors import NotFound
from tidings.gateways.gms import dialogs
from tidings.gateways.gms.endpoint import Answer, Call, err
from tidings.gateways.gms.mapping import record
from tidings.gateways.gms.protocol import iso_ms

#: §1.5: an unknown callback service is a ``CallbackExceptionResource``.
UNKNOWN = "CallbackExceptionResource"


async def start(call: Call, name: str) -> Response:
    """Start a callback of service ``name`` and answer its first dialog."""
    callback = await call.core.callbacks.start(
        call.app, name, call.params, call.caller, kind="callback"
    )
    out: dict[str, Any] = record(callback, call.ext)
    out.update(first_dialog(call, callback))
    return JSONResponse(out)


def first_dialog(call: Call, cb: Callback) -> dict[str, Any]:
    """The reply to a start (§3.7's table, column "Reply to 3.1")."""
    if cb.is_chat:
        if cb.wait_for_agent:
            return dialogs.confirmation(cb.id, dialogs.NOTIFY_LATER)
        return start_chat(call, cb)
    if cb.state == "SCHEDULED":
        return dialogs.confirmation(cb.id, f"Your call is booked for {iso_ms(cb.desired_ms or 0)}")
    if cb.wait_for_agent:
        return dialogs.confirmation(cb.id, dialogs.NOTIFY_LATER)
    if cb.user_terminated:
        return dialogs.confirmation(cb.id, dialogs.CALL_SHORTLY)
    return dial(cb)


def dial(cb: Callback) -> dict[str, Any]:
    """The "dial this number" dialog (§4)."""
    number = cb.params.get("_access_number") or "+18005550199"
    code = cb.id[-4:] if cb.provide_code else None
    return dialogs.dial_number(cb.id, f"tel:{number}", code)


def start_chat(call: Call, cb: Callback) -> dict[str, Any]:
    """The "start chat" dialog (§4), pointing the phone at ``{base}/cometd``."""
    ext = call.ext
    return dialogs.start_chat(
        ext, cb.id, f"{ext}/cometd", cb.gms_user, cb.params.get("subject") or "None"
    )


def _service_name(call: Call) -> str:
    name = call.arg("name")
    if name not in call.core.callbacks.services_of(call.app):
        raise Answer(err(404, f"no callback service {name}", UNKNOWN))
    return name


async def find(call: Call) -> Response:
    """``GET {base}/1/service/callback?_id=…`` (§3.4): one callback by id."""
    if "_id" not in call.params:
        return err(404, "name the callback service", UNKNOWN)
    cb = await call.core.callbacks.get(call.app, call.params["_id"], call.caller)
    return JSONResponse(record(cb, call.ext))


async def create(call: Call) -> Response:
    """``POST {base}/1/service/callback/{name}`` (§3.1)."""
    name = _service_name(call)
    return await start(call, name)


async def query(call: Call) -> Response:
    """``GET {base}/1/service/callback/{name}`` (§3.3): the caller's callbacks."""
    name = _service_name(call)
    if call.caller is None:
        # An anonymous phone has an identity per callback, none to list by.
        return JSONResponse([])
    params = dict(call.params)
    any_of = params.pop("operand", "AND").upper() == "OR"
    found = await call.core.callbacks.query(
        call.app, name, params, owner=call.caller, any_of=any_of
    )
    return JSONResponse([record(c, call.ext) for c in found])


async def availability(call: Call) -> Response:
    """``GET {base}/1/service/callback/{name}/availability`` (§3.6): fifteen-minute slots
    for the next four hours, each with capacity 5 (assumption)."""
    _service_name(call)
    first = (call.core.now_ms() // 900_000 + 1) * 900_000
    return JSONResponse({iso_ms(first + i * 900_000): 5 for i in range(16)})


async def _callback(call: Call) -> Callback:
    name = _service_name(call)
    cb = await call.core.callbacks.get(call.app, call.arg("callback_id"), call.caller)
    if cb.service_name != name:
        raise NotFound(f"no callback {call.arg('callback_id')} in {name}", code="unknown_service")
    return cb


async def read(call: Call) -> Response:
    """``GET {base}/1/service/callback/{name}/{id}`` (§3.4)."""
    cb = await _callback(call)
    return JSONResponse(record(cb, call.ext))


async def reschedule(call: Call) -> Response:
    """``PUT {base}/1/service/callback/{name}/{id}`` (§3.5): a new desired time."""
    cb = await _callback(call)
    if call.params.get("_new_desired_time"):
        await call.core.callbacks.reschedule(call.app, cb.id, call.params["_new_desired_time"])
    return JSONResponse({})


async def cancel(call: Call) -> Response:
    """``DELETE {base}/1/service/callback/{name}/{id}`` (§3.2)."""
    cb = await _callback(call)
    await call.core.callbacks.cancel(call.app, cb.id)
    return JSONResponse({})
