"""Devices (push subscriptions) and push events sent on purpose."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from tidings.gateways.rest.deps import ActorDep, CoreDep
from tidings.gateways.rest.schemas import Body, UserId
from tidings.http_middleware import JsonBodyRoute

router = APIRouter(tags=["push"], route_class=JsonBodyRoute)


class DeviceIn(Body):
    platform: Literal["apns", "fcm"]
    token: str = Field(min_length=1, max_length=4096)
    device_id: str = Field(min_length=1, max_length=200, description="Stable id of the device")
    environment: Literal["production", "development"] = "production"
    app_bundle: str | None = Field(
        default=None, max_length=200, description="iOS bundle id (apns-topic) of the app"
    )


class DeviceOut(BaseModel):
    device_id: str
    platform: str
    token: str
    environment: str
    app_bundle: str | None
    created_ms: int
    updated_ms: int


class DevicesOut(BaseModel):
    items: list[DeviceOut]


class PushEventIn(Body):
    user_ids: list[Annotated[int, UserId]] = Field(min_length=1, max_length=100)
    title: str = Field(default="", max_length=200)
    body: str = Field(default="", max_length=2000)
    data: dict[str, str] = Field(default_factory=dict, max_length=20)
    badge: int | None = Field(default=None, ge=0, le=99999)
    event_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,24}$",
        description="Client-chosen id: sending the same event twice queues it once",
    )


class PushEventOut(BaseModel):
    queued: int


def _out(device: Any) -> DeviceOut:
    return DeviceOut(**{k: v for k, v in device.to_dict().items() if k in DeviceOut.model_fields})


@router.post("/devices", status_code=201, response_model=DeviceOut)
async def register_device(body: DeviceIn, actor: ActorDep, core: CoreDep) -> DeviceOut:
    """Subscribe this device to pushes. Registering the same ``device_id`` again
    replaces its token."""
    device = await core.devices.register(
        actor,
        platform=body.platform,
        token=body.token,
        device_id=body.device_id,
        environment=body.environment,
        app_bundle=body.app_bundle,
    )
    return _out(device)


@router.get("/devices", response_model=DevicesOut)
async def list_devices(actor: ActorDep, core: CoreDep) -> DevicesOut:
    return DevicesOut(items=[_out(d) for d in await core.devices.list_devices(actor)])


@router.delete("/devices/{device_id}", status_code=204)
async def unregister_device(device_id: str, actor: ActorDep, core: CoreDep) -> Response:
    await core.devices.unregister(actor, device_id)
    return Response(status_code=204)


@router.post("/push/events", status_code=202, response_model=PushEventOut)
async def send_push_event(body: PushEventIn, actor: ActorDep, core: CoreDep) -> PushEventOut:
    """Push to chosen users of your app (each of their devices), unless they block you."""
    queued = await core.push.send_event(
        actor,
        body.user_ids,
        title=body.title,
        body=body.body,
        data=body.data,
        event_id=body.event_id,
        badge=body.badge,
    )
    return PushEventOut(queued=queued)
