"""Push subscriptions and events (connectycube-wire §8), on the core's one device
registry (``core.devices``) and push service (``core.push``).

ConnectyCube channels map onto the core's platforms: ``apns`` → APNs, ``gcm`` → FCM.
VoIP and web push have no provider in tidings yet and are refused with a 422.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from tidings import jsonbody
from tidings.core.devices import Device
from tidings.domain.errors import InvalidInput, NotFound
from tidings.gateways.connectycube.deps import params, services, user_actor
from tidings.gateways.connectycube.mapping import iso, user_ids

router = APIRouter()

CHANNEL_TO_PLATFORM = {"apns": "apns", "gcm": "fcm"}
PLATFORM_TO_CHANNEL = {v: k for k, v in CHANNEL_TO_PLATFORM.items()}
DEVICE_PLATFORM = {"apns": "ios", "fcm": "android"}


def _wire(device: Device) -> dict[str, Any]:
    return {
        "subscription": {
            "id": device.id,
            "notification_channel": {"name": PLATFORM_TO_CHANNEL.get(device.platform)},
            "device": {
                "udid": device.device_id,
                "platform": {"name": DEVICE_PLATFORM.get(device.platform)},
            },
            "environment": device.environment,
            "created_at": iso(device.created_ms),
            "updated_at": iso(device.updated_ms),
        }
    }


@router.post("/subscriptions.json")
async def subscribe(request: Request) -> JSONResponse:
    actor = await user_actor(request)
    data = await params(request)
    token = data.get("push_token")
    device = data.get("device")
    if not isinstance(token, dict) or not isinstance(device, dict):
        raise InvalidInput("push_token and device are objects", field="push_token")
    channel = data.get("notification_channel")
    if channel not in CHANNEL_TO_PLATFORM:
        raise InvalidInput(
            "notification_channel is apns or gcm (voip and web push are not supported)",
            field="notification_channel",
        )
    registered = await services(request).core.devices.register(
        actor,
        platform=CHANNEL_TO_PLATFORM[channel],
        token=token.get("client_identification_sequence"),
        device_id=device.get("udid"),
        environment=token.get("environment") or "production",
        app_bundle=token.get("bundle_identifier"),
    )
    return JSONResponse([_wire(registered)], status_code=201)


@router.get("/subscriptions.json")
async def list_subscriptions(request: Request) -> JSONResponse:
    actor = await user_actor(request)
    devices = await services(request).core.devices.list_devices(actor)
    return JSONResponse([_wire(d) for d in devices])


@router.delete("/subscriptions/{subscription_id}.json")
async def unsubscribe(request: Request, subscription_id: str) -> Response:
    """By the subscription's integer id, as the SDK knows it."""
    actor = await user_actor(request)
    core = services(request).core
    found = [d for d in await core.devices.list_devices(actor) if str(d.id) == subscription_id]
    if not found:
        raise NotFound(f"no subscription {subscription_id!r}", code="subscription_not_found")
    await core.devices.unregister(actor, found[0].device_id)
    return Response(status_code=200)


def _payload(message: Any) -> dict[str, Any]:
    """``message`` is base64 of a JSON payload (universal push) or plain text."""
    if not isinstance(message, str) or not message:
        raise InvalidInput("event message is required", field="message")
    try:
        decoded = jsonbody.loads(base64.b64decode(message, validate=True).decode("utf-8"))
    except jsonbody.TooDeep as exc:
        raise InvalidInput(exc.message, field="message") from None
    except (binascii.Error, UnicodeError, ValueError):
        return {"message": message}
    return decoded if isinstance(decoded, dict) else {"message": str(decoded)}


@router.post("/events.json")
async def create_event(request: Request) -> JSONResponse:
    """A push to the users in ``event.user.ids``; queued now, delivered by the workers."""
    actor = await user_actor(request)
    data = await params(request)
    event = data.get("event")
    if not isinstance(event, dict):
        raise InvalidInput("event must be an object", field="event")
    target = event.get("user")
    if not isinstance(target, dict) or "ids" not in target:
        raise InvalidInput("event.user.ids is required (tags are not supported)", field="user")
    payload = _payload(event.get("message"))
    body = str(payload.pop("message", "") or "")
    title = str(payload.pop("title", "") or "")
    badge = payload.pop("ios_badge", None)
    event_id = secrets.token_hex(12)
    await services(request).core.push.send_event(
        actor,
        user_ids(target["ids"], "ids"),
        title=title,
        body=body,
        data={str(k): v for k, v in payload.items()},
        event_id=event_id,
        badge=int(badge) if isinstance(badge, int | str) and str(badge).isdigit() else None,
    )
    wire = {
        "id": event_id,
        "event_type": event.get("event_type", "one_shot"),
        "message": event.get("message"),
        "environment": event.get("environment", "production"),
        "notification_channel": {"name": event.get("push_type") or "universal"},
        "user_id": actor.user_id,
        "application_id": actor.app_id,
    }
    return JSONResponse([{"event": wire}], status_code=201)
