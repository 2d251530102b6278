"""Long-polling over HTTP POST at the base path and ``base/<anything>`` (bayeux-server §2.1-§2.3).

Always 200 for a processed request (Bayeux failures are ``successful:false``
inside), 400 with an empty body when the body is not Bayeux at all. A held
connect waits here for a delivery, a newer connect, a disconnect or its
deadline; if the client goes away meanwhile the connect is dropped unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.requests import Request
from starlette.responses import Response

from tidings.gateways.bayeux.mapping import BayeuxGateway, identity_from
from tidings.gateways.bayeux.messages import BadRequest, encode, parse_form, parse_json

JSON = "application/json;charset=UTF-8"
ALLOW_HEADERS = "content-type, gms_user, x-requested-with, authorization, apikey, x-api-key"


def cors_headers(request: Request) -> dict[str, str]:
    """§2.6: echo the Origin (never ``*``) with credentials, for browser clients."""
    origin = request.headers.get("origin")
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


async def preflight(request: Request) -> Response:
    return Response(status_code=204, headers=cors_headers(request))


async def long_polling(gateway: BayeuxGateway, request: Request) -> Response:
    headers = cors_headers(request)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    try:
        if "x-www-form-urlencoded" in content_type and not body.lstrip().startswith((b"[", b"{")):
            messages = parse_form(body)
        else:
            messages = parse_json(body)
    except BadRequest:
        return Response(status_code=400, headers=headers)
    outcome = await gateway.process(
        messages, transport="long-polling", attributes=identity_from(request.headers)
    )
    replies = outcome.replies
    if outcome.hold is not None:
        hold = outcome.hold
        event = gateway.register_hold(hold.client_id, hold.token)
        timeout = max(0.0, (hold.deadline - gateway.now()) / 1000)
        if not await _wait(event, timeout, request):
            gateway.abandon_hold(hold.client_id, hold.token)
            return Response(status_code=200, headers=headers)
        finished = gateway.finish_hold(hold.client_id, hold.token)
        replies = replies[: hold.index] + finished + replies[hold.index :]
    else:
        # Piggyback queued deliveries (§4.5): DDComet makes many short requests. Only
        # for sessions this request may act for: naming a clientId is not enough.
        for client_id in outcome.clients:
            session = gateway.server.sessions.get(client_id)
            if session is not None and not session.held:
                replies.extend(gateway.server.take(client_id))
    return Response(encode(replies), media_type=JSON, headers=headers)


async def _wait(event: asyncio.Event, seconds: float, request: Request) -> bool:
    """True when woken or timed out; False when the client disconnected first."""
    waiter = asyncio.create_task(event.wait())
    gone = asyncio.create_task(_disconnected(request))
    try:
        done, _ = await asyncio.wait({waiter, gone}, timeout=seconds, return_when="FIRST_COMPLETED")
        return gone not in done
    finally:
        for task in (waiter, gone):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
