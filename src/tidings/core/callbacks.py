"""GMS callback services: start, cancel, reschedule, query, and the pushes that follow.

A callback waits in the core until an agent takes it from the console (or its
``_desired_time`` arrives); then the customer's phone gets an APNs/FCM push
through the outbox, written in the same transaction as the state change, and the
app asks the gateway for the dialog of that action (gms-callback-chat-wire §3.7, §5).

The core decides *that* a phone is pushed and with which action; how that push
looks on the wire is the gateway's: the gateway that speaks the callback protocol
sets :attr:`CallbackService.ready_push` when it starts, and the core calls it
inside the transaction, so the outbox row is still written with the change.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.outbox import enqueue
from tidings.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from tidings.domain.models import Actor, App
from tidings.store import callbacks as store
from tidings.store.gms_rows import ServiceRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

log = logging.getLogger("tidings.callbacks")

OPEN_STATES = ("SCHEDULED", "QUEUED", "ROUTING", "PROCESSING")
DEFAULT_SERVICES = ("callback-for-mobile",)
EXPIRY_MS = 24 * 3600_000
SNOOZE_MS = 5 * 60_000
PUSH_PLATFORMS = {"ios": "apns", "apns": "apns", "fcm": "fcm", "gcm": "fcm", "android": "fcm"}
_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_service_id() -> str:
    """32 upper-case alphanumerics, the shape GMS shows (§1.4)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(32))


def anonymous_user() -> str:
    """A fresh identity for a phone that sent no ``gms_user`` (§1.3).

    GMS leaves the anonymous key to the server; a constant (say ``anon:<service>``)
    would make every anonymous phone one user, each receiving the others' chats.
    The value goes back to its phone as ``_user_header`` and is unguessable, so only
    that phone can present it.
    """
    return "anon:" + secrets.token_urlsafe(18)


def parse_time(value: str) -> int:
    """Any ISO-8601 on input (§1.4); naive times are UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"not an ISO-8601 time: {value!r}", field="_desired_time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def truthy(value: object) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True, slots=True)
class Callback:
    id: str
    app_id: int
    kind: str
    service_name: str
    state: str
    reason: str
    customer_number: str
    gms_user: str
    desired_ms: int | None
    expiration_ms: int
    params: dict[str, str]
    pushed_action: str | None
    created_ms: int

    @property
    def is_chat(self) -> bool:
        return self.params.get("_media_type", "").lower() == "chat"

    @property
    def user_terminated(self) -> bool:
        return self.params.get("_call_direction", "USERTERMINATED").upper() != "USERORIGINATED"

    @property
    def wait_for_agent(self) -> bool:
        return truthy(self.params.get("_wait_for_agent", "false"))

    @property
    def provide_code(self) -> bool:
        return truthy(self.params.get("_provide_code", "false"))

    @property
    def push_action(self) -> str:
        """What the push asks the app to fetch when the agent is ready (§3.7)."""
        if self.is_chat:
            return "get-dialog-start-chat"
        code = "true" if self.provide_code and not self.user_terminated else "false"
        return f"get-dialog-user-confirmation-provide_code-{code}"


#: The outbox payload of the push telling a phone its callback is ready, for a
#: delivery kind (``apns`` or ``fcm``).
ReadyPush = Callable[[Callback, str], dict[str, Any]]


def _callback(row: ServiceRow) -> Callback:
    return Callback(
        id=row.id,
        app_id=row.app_id,
        kind=row.kind,
        service_name=row.service_name,
        state=row.state,
        reason=row.reason,
        customer_number=row.customer_number,
        gms_user=row.gms_user,
        desired_ms=row.desired_ms,
        expiration_ms=row.expiration_ms,
        params=dict(row.params or {}),
        pushed_action=row.pushed_action,
        created_ms=row.created_ms,
    )


class CallbackService:
    def __init__(self, core: Core) -> None:
        self.core = core
        #: The wire shape of "your callback is ready" pushes, set by the gateway that
        #: speaks the callback protocol when it starts; without one, nothing is pushed.
        self.ready_push: ReadyPush | None = None

    async def gms_app(self, api_key: str | None) -> App:
        """The app a GMS request speaks for: the one whose ``auth_key`` is its API key.

        Every GMS request names its app by its own key; there is no default app, so a
        request without a key, or with a key no app has, is refused.
        """
        if not api_key:
            raise Unauthenticated("an apikey header is required", code="gms_apikey_required")
        app = await self.core.apps.find_by_auth_key(api_key)
        if app is None:
            raise Unauthenticated("unknown apikey", code="gms_apikey_unknown")
        return self._serving(app)

    async def gms_app_of(self, app_id: int) -> App:
        """The app a Comet session was bound to at its handshake, if it serves GMS."""
        return self._serving(await self.core.apps.get_app(app_id))

    @staticmethod
    def _serving(app: App) -> App:
        if not isinstance(app.config.get("gms"), dict):
            raise Forbidden("GMS is not enabled for this app", code="gms_not_enabled")
        return app

    @staticmethod
    def services_of(app: App) -> tuple[str, ...]:
        config = app.config.get("gms") or {}
        names = config.get("callback_services") if isinstance(config, dict) else None
        return tuple(names) if isinstance(names, list) and names else DEFAULT_SERVICES

    async def start(
        self,
        app: App,
        service_name: str,
        params: dict[str, str],
        gms_user: str | None,
        *,
        kind: str,
    ) -> Callback:
        """Store a callback (``kind`` callback) or a plain chat service (``kind`` chat)
        for the phone ``gms_user``; without one the service gets an anonymous identity
        of its own (:func:`anonymous_user`)."""
        now = self.core.now_ms()
        if kind == "callback":
            if service_name not in self.services_of(app):
                raise NotFound(f"no callback service {service_name}", code="unknown_service")
            if not params.get("_customer_number"):
                raise InvalidInput("_customer_number is mandatory", field="_customer_number")
        desired = parse_time(params["_desired_time"]) if params.get("_desired_time") else None
        if desired is not None and desired < now - 60_000:
            raise InvalidInput("_desired_time is in the past", field="_desired_time")
        scheduled = desired is not None and desired > now
        state = params.get("_callback_state") or ("SCHEDULED" if scheduled else "QUEUED")
        platform = PUSH_PLATFORMS.get(params.get("_device_os", "").lower())
        row: dict[str, Any] = {
            "id": new_service_id(),
            "app_id": app.id,
            "kind": kind,
            "service_name": service_name,
            "state": state,
            "reason": "",
            "customer_number": params.get("_customer_number", ""),
            "gms_user": gms_user or anonymous_user(),
            "desired_ms": desired if desired is not None else now,
            "expiration_ms": (desired or now) + EXPIRY_MS,
            "params": params,
            "device_os": platform,
            "device_token": params.get("_device_notification_id") or None,
            "notify_at_ms": desired if scheduled else None,
            "pushed_action": None,
            "created_ms": now,
            "updated_ms": now,
        }
        async with self.core.db.transaction() as conn:
            await store.insert_service(conn, **row)
            found = await store.get_service(conn, row["id"])
        assert found is not None  # inserted just above
        return _callback(found)

    async def get(self, app: App, service_id: str, owner: str | None = None) -> Callback:
        """A live service of ``app``; with ``owner`` (the caller's ``gms_user``) only if
        it is that phone's. Someone else's service is "not found", never "forbidden",
        so ids cannot be probed."""
        async with self.core.db.read() as conn:
            row = await store.get_service(conn, service_id)
        if (
            row is None
            or row.app_id != app.id
            or row.expiration_ms < self.core.now_ms()
            or (owner is not None and row.gms_user != owner)
        ):
            raise NotFound(f"no service {service_id}", code="unknown_service")
        return _callback(row)

    async def query(
        self,
        app: App,
        service_name: str | None,
        filters: dict[str, str],
        *,
        owner: str | None = None,
        any_of: bool = False,
    ) -> list[Callback]:
        """Callbacks of ``app`` matching ``filters``; with ``owner`` only that phone's
        (``operand=OR`` joins the filters, never the owner condition)."""
        columns: dict[str, str] = {}
        extra: dict[str, str] = {}
        for key, value in filters.items():
            column = {
                "_callback_state": "state",
                "_callback_reason": "reason",
                "_customer_number": "customer_number",
                "_id": "id",
            }.get(key)
            if column:
                columns[column] = value
            else:
                extra[key] = value
        async with self.core.db.read() as conn:
            rows = await store.list_services(
                conn,
                app.id,
                service_name=service_name,
                columns=columns,
                any_of=any_of,
                gms_user=owner,
            )
        found = [_callback(r) for r in rows]
        if extra:
            match = [all(c.params.get(k) == v for k, v in extra.items()) for c in found]
            if any_of:
                found = [c for c, m in zip(found, match, strict=True) if m or not columns]
            else:
                found = [c for c, m in zip(found, match, strict=True) if m]
        return found

    async def cancel(self, app: App, service_id: str, owner: str | None = None) -> Callback:
        return await self._set(
            app, service_id, owner, state="COMPLETED", reason="CANCELLED", notify_at_ms=None
        )

    async def reschedule(
        self, app: App, service_id: str, new_time: str, owner: str | None = None
    ) -> Callback:
        desired = parse_time(new_time)
        if desired < self.core.now_ms() - 60_000:
            raise InvalidInput("_new_desired_time is in the past", field="_new_desired_time")
        return await self._set(
            app,
            service_id,
            owner,
            state="SCHEDULED",
            desired_ms=desired,
            notify_at_ms=desired,
            expiration_ms=desired + EXPIRY_MS,
        )

    async def snooze(self, app: App, service_id: str, owner: str | None = None) -> Callback:
        return await self._set(
            app, service_id, owner, state="SCHEDULED", notify_at_ms=self.core.now_ms() + SNOOZE_MS
        )

    async def connect(self, app: App, service_id: str, owner: str | None = None) -> Callback:
        return await self._set(app, service_id, owner, state="PROCESSING", notify_at_ms=None)

    async def _set(self, app: App, service_id: str, owner: str | None, **values: Any) -> Callback:
        await self.get(app, service_id, owner)
        async with self.core.db.transaction() as conn:
            await store.update_service(conn, service_id, updated_ms=self.core.now_ms(), **values)
            row = await store.get_service(conn, service_id)
        assert row is not None  # get() above found it
        return _callback(row)

    # -- agents and the scheduler ---------------------------------------------------

    async def queue(self, actor: Actor) -> list[Callback]:
        """Open callbacks of the agent's app, oldest first (the console's callback queue)."""
        if actor.role not in ("agent", "admin"):
            raise Forbidden("only support agents may do this", code="not_an_agent")
        async with self.core.db.read() as conn:
            rows = await store.list_services(conn, actor.app_id, states=OPEN_STATES)
        return [_callback(r) for r in rows]

    async def notify(self, actor: Actor, service_id: str) -> Callback:
        """An agent is ready: push ``{_id, _action}`` to the customer's phone now."""
        if actor.role not in ("agent", "admin"):
            raise Forbidden("only support agents may do this", code="not_an_agent")
        async with self.core.db.transaction() as conn:
            row = await store.get_service(conn, service_id)
            if row is None or row.app_id != actor.app_id or row.state not in OPEN_STATES:
                raise NotFound(f"no open callback {service_id}", code="unknown_service")
            callback = await self._push(conn, _callback(row), row)
        return callback

    async def run_due(self) -> int:
        """Push every callback whose scheduled (or snoozed) time has come."""
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            rows = await store.list_due(conn, now)
            for row in rows:
                await self._push(conn, _callback(row), row)
        return len(rows)

    async def _push(self, conn: AsyncConnection, callback: Callback, row: ServiceRow) -> Callback:
        action = callback.push_action
        now = self.core.now_ms()
        await store.update_service(
            conn,
            callback.id,
            state="ROUTING",
            notify_at_ms=None,
            pushed_action=action,
            updated_ms=now,
        )
        stored = await store.get_service(conn, callback.id)
        assert stored is not None  # updated just above
        pushed = _callback(stored)
        if row.device_os and row.device_token:
            if self.ready_push is None:
                log.warning("no push shape installed: callback %s is not pushed", callback.id)
                return pushed
            await enqueue(
                conn,
                app_id=callback.app_id,
                kind=row.device_os,
                destination=row.device_token,
                payload=self.ready_push(pushed, row.device_os),
                idempotency_key=f"callback:{callback.id}:{now}",
                now_ms=now,
            )
        return pushed
