"""Devices: the one registry of push subscriptions, used by every gateway.

A device is (user, device id, platform, token, environment). The native REST
API, ConnectyCube subscriptions, Pyrus ``SetPushToken`` and GMS push all
register here, so a user gets one push per phone whichever SDK the app uses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tidings.domain.errors import InvalidInput, NotFound
from tidings.domain.models import Actor
from tidings.store import devices as store
from tidings.store.rows import DeviceRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

PLATFORMS = ("apns", "fcm")
ENVIRONMENTS = ("production", "development")
MAX_TOKEN = 4096
MAX_DEVICE_ID = 200


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    user_id: int
    device_id: str
    platform: str
    token: str
    environment: str
    app_bundle: str | None
    created_ms: int
    updated_ms: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def device_from_row(row: DeviceRow) -> Device:
    return Device(
        id=row.id,
        user_id=row.user_id,
        device_id=row.device_id,
        platform=row.platform,
        token=row.token,
        environment=row.environment,
        app_bundle=row.app_bundle,
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
    )


class DeviceService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def register(
        self,
        actor: Actor,
        *,
        platform: str,
        token: object,
        device_id: object,
        environment: str = "production",
        app_bundle: str | None = None,
    ) -> Device:
        """Subscribe the actor's device; registering again refreshes the token. A token
        registered by another user moves to this one (the phone changed hands)."""
        if platform not in PLATFORMS:
            raise InvalidInput(f"platform is one of {', '.join(PLATFORMS)}", field="platform")
        if environment not in ENVIRONMENTS:
            raise InvalidInput(
                f"environment is one of {', '.join(ENVIRONMENTS)}", field="environment"
            )
        if (
            not isinstance(token, str)
            or not 1 <= len(token) <= MAX_TOKEN
            or not token.isprintable()
        ):
            raise InvalidInput(f"a token is 1 to {MAX_TOKEN} printable characters", field="token")
        if platform == "apns" and not all(c in "0123456789abcdefABCDEF" for c in token):
            raise InvalidInput("an APNs device token is hexadecimal", field="token")
        if not isinstance(device_id, str) or not 1 <= len(device_id) <= MAX_DEVICE_ID:
            raise InvalidInput(f"a device id is 1 to {MAX_DEVICE_ID} characters", field="device_id")
        if app_bundle is not None and (not isinstance(app_bundle, str) or len(app_bundle) > 200):
            raise InvalidInput("app_bundle is at most 200 characters", field="app_bundle")
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            row = await store.upsert_device(
                conn,
                app_id=actor.app_id,
                user_id=actor.user_id,
                device_id=device_id,
                platform=platform,
                token=token if platform != "apns" else token.lower(),
                environment=environment,
                app_bundle=app_bundle or None,
                created_ms=now,
                updated_ms=now,
            )
        return device_from_row(row)

    async def list_devices(self, actor: Actor) -> list[Device]:
        async with self.core.db.read() as conn:
            return [device_from_row(r) for r in await store.list_devices(conn, actor.user_id)]

    async def unregister(self, actor: Actor, device_id: str) -> None:
        async with self.core.db.transaction() as conn:
            found = await store.delete_device(conn, actor.user_id, device_id)
        if not found:
            raise NotFound(f"no device {device_id!r}", code="device_not_found")

    async def forget_token(self, app_id: int, platform: str, token: str) -> int:
        """For providers' feedback: the token is dead, whoever registered it."""
        async with self.core.db.transaction() as conn:
            return await store.delete_token(conn, app_id, platform, token)
