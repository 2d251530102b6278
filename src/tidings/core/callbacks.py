"""GMS callback services: start, cancel, reschedule, query, and the pushes that follow.

A callback waits in the core until an agent takes it from the console (or its
``_desired_time`` arrives); then the customer's phone gets an APNs/FCM push
through the outbox, written in the same transaction as the state change, and the
app asks the gateway for the dialog of that action (gms-callback-chat-wire §3.7, §5).

Its state follows what really happens (§3.4's recommended set)::

    SCHEDULED --time comes--> ROUTING (pushed) --chat starts/connect--> PROCESSING
    QUEUED --agent notifies--> ROUTING     PROCESSING --chat ends/agent done--> COMPLETED
    ROUTING --push dead--> QUEUED (an agent may notify again, or call the number)

``COMPLETED`` carries its reason: ``SUCCESS`` (the chat ended after an agent took
part, or the agent marked it done), ``ABANDONED`` (the customer left before any
agent joined), ``CANCELLED`` (the phone or an agent cancelled) or ``EXPIRED`` (the
desired time plus the app's ``gms.expire_after_s`` passed without the customer).
The outbox tells the core what became of a push (:meth:`CallbackService.push_settled`).

The core decides *that* a phone is pushed and with which action; how that push
looks on the wire is the gateway's: the gateway that speaks the callback protocol
sets :attr:`CallbackService.ready_push` when it starts, and the core calls it
inside the transaction, so the outbox row is still written with the change.
"""

from __future__ import annotations

import contextlib
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
from tidings.domain.events import CallbackChanged
from tidings.domain.models import Actor, App
from tidings.store import callbacks as store
from tidings.store.gms_rows import ServiceRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

log = logging.getLogger("tidings.callbacks")

OPEN_STATES = ("SCHEDULED", "QUEUED", "ROUTING", "PROCESSING")
#: Open states a callback leaves by expiring: nobody is talking to the customer yet.
EXPIRING_STATES = ("SCHEDULED", "QUEUED", "ROUTING")
REASONS = ("SUCCESS", "CANCELLED", "ABANDONED", "EXPIRED")
DEFAULT_SERVICES = ("callback-for-mobile",)
EXPIRY_MS = 24 * 3600_000
#: Bounds of an app's ``gms.expire_after_s`` (how long after its desired time a
#: callback waits for the customer before it expires).
EXPIRY_BOUNDS_S = (1, 30 * 86400)
PUSH_KEY_PREFIX = "callback:"
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
    push_state: str | None = None
    push_error: str | None = None
    updated_ms: int = 0

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

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
        push_state=row.push_state,
        push_error=row.push_error,
        updated_ms=row.updated_ms,
    )


def expiry_ms(app: App) -> int:
    """How long after its desired time a callback waits: the app's ``gms.expire_after_s``
    (bounded), else a day."""
    config = app.config.get("gms") or {}
    value = config.get("expire_after_s") if isinstance(config, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = EXPIRY_BOUNDS_S
        return int(min(max(value, low), high) * 1000)
    return EXPIRY_MS


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
        if state not in OPEN_STATES:
            raise InvalidInput(f"unknown _callback_state {state}", field="_callback_state")
        chat_now = (
            params.get("_media_type", "").lower() == "chat"
            and not truthy(params.get("_wait_for_agent", "false"))
            and not scheduled
        )
        if kind == "callback" and chat_now and "_callback_state" not in params:
            # Its first reply is StartChat: the customer is on the way to a chat already.
            state = "ROUTING"
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
            "expiration_ms": (desired or now) + expiry_ms(app),
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
        callback = _callback(found)
        if kind == "callback":
            await self._changed(callback)  # a new line in the console's queue
        return callback

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
        """The phone cancels or deletes the service (§2.2, §3.2): ``COMPLETED``/
        ``CANCELLED`` (a finished callback keeps how it finished), and a chat still
        running on it ends as if the phone had left."""
        await self.get(app, service_id, owner)
        cancelled = await self._finish(service_id, "CANCELLED")
        await self.core.gms_chats.service_deleted(app, service_id)
        return cancelled

    async def reschedule(
        self, app: App, service_id: str, new_time: str, owner: str | None = None
    ) -> Callback:
        """A new desired time (§3.3): ``SCHEDULED`` again, pushed when it comes."""
        await self.get(app, service_id, owner)
        return await self._reschedule(app, service_id, new_time)

    async def _reschedule(self, app: App, service_id: str, new_time: str) -> Callback:
        desired = parse_time(new_time)
        if desired < self.core.now_ms() - 60_000:
            raise InvalidInput("_new_desired_time is in the past", field="_new_desired_time")
        return await self._move(
            service_id,
            OPEN_STATES,
            state="SCHEDULED",
            reason="",
            desired_ms=desired,
            notify_at_ms=desired,
            expiration_ms=desired + expiry_ms(app),
        )

    async def snooze(self, app: App, service_id: str, owner: str | None = None) -> Callback:
        await self.get(app, service_id, owner)
        return await self._move(
            service_id,
            EXPIRING_STATES,
            state="SCHEDULED",
            notify_at_ms=self.core.now_ms() + SNOOZE_MS,
        )

    async def connect(self, app: App, service_id: str, owner: str | None = None) -> Callback:
        """The customer takes the call (connect, connect-inbound/-outbound)."""
        await self.get(app, service_id, owner)
        return await self._move(service_id, OPEN_STATES, state="PROCESSING", notify_at_ms=None)

    # -- what the chat of a callback tells it -------------------------------------------

    async def chat_started(self, service_id: str) -> None:
        """The customer opened the chat of this service: ``PROCESSING``."""
        with contextlib.suppress(NotFound):  # a chat outlives a deleted service
            await self._move(service_id, EXPIRING_STATES, state="PROCESSING", notify_at_ms=None)

    async def chat_ended(self, service_id: str, *, answered: bool) -> None:
        """The chat ended: ``SUCCESS`` if an agent took part, else ``ABANDONED``."""
        with contextlib.suppress(NotFound):
            await self._finish(service_id, "SUCCESS" if answered else "ABANDONED")

    # -- transitions ------------------------------------------------------------------

    async def _finish(self, service_id: str, reason: str) -> Callback:
        return await self._move(
            service_id, OPEN_STATES, state="COMPLETED", reason=reason, notify_at_ms=None
        )

    async def _move(self, service_id: str, from_states: tuple[str, ...], **values: Any) -> Callback:
        """Apply ``values`` if the service is in one of ``from_states`` (under a row
        lock, so a push outcome and a customer's action cannot cross); publish the
        change. A service elsewhere is returned unchanged: the moves are idempotent."""
        async with self.core.db.transaction() as conn:
            row = await store.get_service(conn, service_id, lock=True)
            if row is None:
                raise NotFound(f"no service {service_id}", code="unknown_service")
            if row.state not in from_states:
                return _callback(row)
            await store.update_service(conn, service_id, updated_ms=self.core.now_ms(), **values)
            row = await store.get_service(conn, service_id)
        assert row is not None  # locked and updated just above
        callback = _callback(row)
        await self._changed(callback)
        return callback

    async def _changed(self, callback: Callback) -> None:
        await self.core.publish(
            CallbackChanged(
                app_id=callback.app_id,
                service_id=callback.id,
                state=callback.state,
                reason=callback.reason,
            )
        )

    # -- agents and the scheduler ---------------------------------------------------

    @staticmethod
    def _require_agent(actor: Actor) -> None:
        if actor.role not in ("agent", "admin"):
            raise Forbidden("only support agents may do this", code="not_an_agent")

    async def of_agent(self, actor: Actor, service_id: str) -> Callback:
        """A service (callback or chat) of the agent's app, whatever its state."""
        self._require_agent(actor)
        async with self.core.db.read() as conn:
            row = await store.get_service(conn, service_id)
        if row is None or row.app_id != actor.app_id:
            raise NotFound(f"no callback {service_id}", code="unknown_service")
        return _callback(row)

    async def queue(self, actor: Actor) -> list[QueueEntry]:
        """Open callbacks of the agent's app, by desired time (the console's queue), each
        with its place among those waiting for an agent, how long it has waited and
        the ticket of its chat, if one started."""
        self._require_agent(actor)
        async with self.core.db.read() as conn:
            rows = await store.list_services(conn, actor.app_id, states=OPEN_STATES)
            tickets = await store.tickets_of_services(conn, [r.id for r in rows])
        now = self.core.now_ms()
        callbacks = sorted(
            (_callback(r) for r in rows), key=lambda c: (c.desired_ms or c.created_ms, c.id)
        )
        entries: list[QueueEntry] = []
        position = 0
        for cb in callbacks:
            waiting = cb.state == "QUEUED"
            position += waiting
            since = cb.desired_ms or cb.created_ms
            entries.append(
                QueueEntry(
                    callback=cb,
                    position=position if waiting else 0,
                    waiting_ms=max(0, now - since),
                    ticket_id=tickets.get(cb.id),
                )
            )
        return entries

    async def notify(self, actor: Actor, service_id: str) -> Callback:
        """An agent is ready: push ``{_id, _action}`` to the customer's phone now."""
        self._require_agent(actor)
        async with self.core.db.transaction() as conn:
            row = await store.get_service(conn, service_id, lock=True)
            if (
                row is None
                or row.app_id != actor.app_id
                or row.state not in ("SCHEDULED", "QUEUED", "ROUTING")
            ):
                raise NotFound(f"no waiting callback {service_id}", code="unknown_service")
            callback = await self._push(conn, _callback(row), row)
        await self._changed(callback)
        return callback

    async def agent_cancel(self, actor: Actor, service_id: str) -> Callback:
        await self.of_agent(actor, service_id)
        return await self._finish(service_id, "CANCELLED")

    async def agent_done(self, actor: Actor, service_id: str) -> Callback:
        """The agent handled it (called the customer, say): ``SUCCESS``."""
        await self.of_agent(actor, service_id)
        return await self._finish(service_id, "SUCCESS")

    async def agent_reschedule(self, actor: Actor, service_id: str, new_time: str) -> Callback:
        await self.of_agent(actor, service_id)
        app = await self.core.apps.get_app(actor.app_id)
        return await self._reschedule(app, service_id, new_time)

    async def run_due(self) -> int:
        """Push every callback whose scheduled (or snoozed) time has come, and expire
        those whose customer never came. Returns how many moved."""
        now = self.core.now_ms()
        pushed: list[Callback] = []
        async with self.core.db.transaction() as conn:
            rows = await store.list_due(conn, now)
            for row in rows:
                if row.state in EXPIRING_STATES:
                    pushed.append(await self._push(conn, _callback(row), row))
                else:
                    await store.update_service(conn, row.id, notify_at_ms=None, updated_ms=now)
        expired: list[Callback] = []
        async with self.core.db.transaction() as conn:
            for row in await store.list_expiring(conn, now, EXPIRING_STATES):
                await store.update_service(
                    conn,
                    row.id,
                    state="COMPLETED",
                    reason="EXPIRED",
                    notify_at_ms=None,
                    updated_ms=now,
                )
                found = await store.get_service(conn, row.id)
                assert found is not None  # updated just above
                expired.append(_callback(found))
        for callback in pushed + expired:
            await self._changed(callback)
        return len(pushed) + len(expired)

    async def push_settled(self, idempotency_key: str, delivered: bool, error: str = "") -> None:
        """The outbox is done with a delivery: if it was a callback's push, record what
        became of it. A dead push puts a ``ROUTING`` callback back in the queue (the
        phone never heard), where the console shows why; other keys are ignored."""
        if not idempotency_key.startswith(PUSH_KEY_PREFIX):
            return
        service_id = idempotency_key[len(PUSH_KEY_PREFIX) :].split(":", 1)[0]
        changed: Callback | None = None
        async with self.core.db.transaction() as conn:
            row = await store.get_service(conn, service_id, lock=True)
            if row is None or row.push_state != "queued":
                return
            values: dict[str, Any] = {"updated_ms": self.core.now_ms()}
            if delivered:
                values.update(push_state="delivered", push_error=None)
            else:
                values.update(push_state="dead", push_error=(error or "not delivered")[:500])
                if row.state == "ROUTING":
                    values["state"] = "QUEUED"
                log.warning("callback %s: push not delivered (%s)", service_id, error)
            await store.update_service(conn, service_id, **values)
            found = await store.get_service(conn, service_id)
            assert found is not None  # updated just above
            changed = _callback(found)
        await self._changed(changed)

    async def _push(self, conn: AsyncConnection, callback: Callback, row: ServiceRow) -> Callback:
        action = callback.push_action
        now = self.core.now_ms()
        has_target = bool(row.device_os and row.device_token)
        why_not = None
        if not has_target:
            why_not = "the phone gave no push token"
        elif self.ready_push is None:
            why_not = "no gateway shapes callback pushes"
        await store.update_service(
            conn,
            callback.id,
            state="ROUTING",
            notify_at_ms=None,
            pushed_action=action,
            push_state="queued" if why_not is None else None,
            push_error=why_not,
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
                idempotency_key=f"{PUSH_KEY_PREFIX}{callback.id}:{now}",
                now_ms=now,
            )
        return pushed


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One line of the console's callback queue."""

    callback: Callback
    #: Place among the callbacks waiting for an agent (``QUEUED``), from 1; 0 for others.
    position: int
    #: Since the desired time (for a scheduled one not yet due: 0).
    waiting_ms: int
    ticket_id: int | None
