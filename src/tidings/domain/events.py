"""Domain events: what changed, published by core services after commit.

Every event of the system is declared here, so the bus, the gateways and a reader
find them in one place (docs/architecture.md lists them with their publishers and
listeners). Events are frozen dataclasses holding ids and plain values (no ORM
rows), so they survive the JSON round trip the Redis bus makes; the memory bus
makes the same round trip so an unserializable event fails where it is made, not
in production.

Each event names who should hear it in real time: ``recipients`` (user ids) or
``everyone`` (all connected users of the app, for broadcast dialogs). Gateways
deliver an event to the connections they hold for those users.

To declare one: subclass :class:`Event` under
``@dataclass(frozen=True, slots=True, kw_only=True)`` and give it a ``name`` (the
type clients and metrics see). Subclassing registers it for :meth:`Event.from_dict`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

_REGISTRY: dict[str, type[Event]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    app_id: int
    recipients: tuple[int, ...] = ()
    everyone: bool = False
    name: ClassVar[str] = "event"

    def __init_subclass__(cls) -> None:
        # No super(): zero-argument super() fails in slotted dataclasses (the class is
        # rebuilt), and object.__init_subclass__ does nothing. The rebuilt (slotted)
        # class is registered last, so it is the one from_dict builds.
        _REGISTRY[cls.__name__] = cls

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["recipients"] = list(self.recipients)
        data["type"] = type(self).__name__
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Event:
        data = dict(data)
        cls = _REGISTRY[data.pop("type")]
        data["recipients"] = tuple(data.get("recipients", ()))
        return cls(**data)


def event_types() -> dict[str, type[Event]]:
    """Every declared event by class name (the bus decodes with this; docs list it)."""
    return dict(_REGISTRY)


# -- messaging ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageCreated(Event):
    """A message was stored (or, if ``message['ephemeral']``, only relayed)."""

    name: ClassVar[str] = "message.created"

    dialog_id: str
    message: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageUpdated(Event):
    """A stored message was edited; ``message`` is its new state."""

    name: ClassVar[str] = "message.updated"

    dialog_id: str
    message: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDeleted(Event):
    """A message was removed for ``by_user_id`` only, or ``for_everyone``."""

    name: ClassVar[str] = "message.deleted"

    dialog_id: str
    message_id: str
    seq: int | None
    for_everyone: bool
    by_user_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagesDelivered(Event):
    """``user_id`` received every message of the dialog up to ``seq``."""

    name: ClassVar[str] = "message.delivered"

    dialog_id: str
    user_id: int
    seq: int
    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagesRead(Event):
    """``user_id`` read every message of the dialog up to ``seq``."""

    name: ClassVar[str] = "message.read"

    dialog_id: str
    user_id: int
    seq: int
    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TypingChanged(Event):
    """``user_id`` started or stopped typing in the dialog (never stored).

    ``chat_state``: the XEP-0085 state an XMPP client sent (``composing``, ``paused``,
    ``active``, ``inactive``, ``gone``), so other XMPP clients get that very state;
    empty when the typing came from elsewhere (``typing`` is all there is).
    """

    name: ClassVar[str] = "typing"

    dialog_id: str
    user_id: int
    typing: bool
    chat_state: str = ""

    def to_dict(self) -> dict[str, Any]:
        # Left out when empty, so the frames of the other gateways stay as they were.
        data = Event.to_dict(self)
        if not self.chat_state:
            del data["chat_state"]
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceChanged(Event):
    """``user_id`` came online or went offline (its contacts hear it)."""

    name: ClassVar[str] = "presence"

    user_id: int
    online: bool
    last_activity_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogUpdated(Event):
    """Created, renamed, members or admins or pins changed: clients refetch or patch."""

    name: ClassVar[str] = "dialog.updated"

    dialog_id: str
    change: str
    dialog: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogDeleted(Event):
    """The dialog was left (for the recipients) or deleted ``for_everyone``."""

    name: ClassVar[str] = "dialog.deleted"

    dialog_id: str
    for_everyone: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactChanged(Event):
    """``status`` is what ``user_id`` now sees for ``contact_id``."""

    name: ClassVar[str] = "contact.updated"

    user_id: int
    contact_id: int
    status: str
    #: The subscription presence ``user_id`` is told of (RFC 6121 §3: ``subscribe``,
    #: ``subscribed``, ``unsubscribe``, ``unsubscribed``; space-separated when several), if
    #: any. ``status`` is empty when the roster item did not change.
    presence: str | None = None
    #: The roster item's name and groups (RFC 6121 §2.1.2), as ``user_id`` set them.
    item_name: str | None = None
    groups: list[str] = dataclasses.field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class BlocksChanged(Event):
    """Who ``user_id`` blocks changed (their active privacy list's deny rules): the
    users newly ``blocked`` and ``unblocked``, for the user's own connections."""

    name: ClassVar[str] = "blocks.changed"

    user_id: int
    blocked: list[int] = dataclasses.field(default_factory=list)
    unblocked: list[int] = dataclasses.field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourcePresenceChanged(Event):
    """One XMPP resource of ``user_id`` became available or changed its presence
    (``show``, ``status``, ``priority``), or went unavailable (RFC 6121 §4).

    ``to_resource``: a directed presence for that one resource of the recipient.
    ``avatar_hash``: the SHA-1 of the user's avatar as the server knows it (XEP-0153
    §3.1), ``""`` when it was just removed, ``None`` when not said.
    """

    name: ClassVar[str] = "presence.resource"

    user_id: int
    resource: str
    available: bool
    show: str | None = None
    status: str | None = None
    priority: int = 0
    to_resource: str | None = None
    avatar_hash: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemMessageSent(Event):
    """``sender_id`` sent ``params`` (flat or nested strings) to the ``recipients``:
    an app-defined signal relayed live and never stored."""

    name: ClassVar[str] = "system_message"

    message_id: str
    sender_id: int
    params: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class PepChanged(Event):
    """``owner_id``'s personal eventing node ``node`` changed (XEP-0163 §4.3).

    ``change`` is ``published`` (``item_id`` now holds ``payload``, its element as
    XML text), ``retracted`` (``item_id`` is gone) or ``deleted`` (the whole node).
    The recipients are who may read the node: the owner, and for the ``presence`` and
    ``open`` access models the contacts subscribed to the owner's presence."""

    name: ClassVar[str] = "pep.changed"

    owner_id: int
    node: str
    change: str
    item_id: str | None = None
    payload: str | None = None


# -- service desk -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketChanged(Event):
    """A ticket changed in a way the console shows (inboxes, counts, the open ticket).

    ``change`` is ``created``, ``comment``, ``reopened``, ``reply``, ``assigned``,
    ``seen`` (an agent opened it: badges clear), ``note`` (an internal note, never
    sent to the customer), ``labels`` (priority or tags), ``rated`` (the customer rated
    it), ``gms_ended`` (the GMS customer left), or the status an agent set (``open``,
    ``closed``)."""

    name: ClassVar[str] = "ticket.changed"

    ticket_id: int
    dialog_id: str
    change: str


# -- callbacks and their chats ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GmsChatChanged(Event):
    """New transcript entries of a callback's chat: ``[position, kind, nickname, text,
    party, created_ms]`` each; ``chat`` is the chat's header (``chat_session_id``,
    ``state``, ``last_position``, ``started_ms``). ``gms_user`` is the phone's
    identity, so a gateway notifies only that phone's sessions."""

    name: ClassVar[str] = "gms.chat.changed"

    service_id: str
    gms_user: str
    chat: dict[str, Any]
    entries: list[list[Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackChanged(Event):
    """A GMS callback moved on (state, reason or push outcome): the console's callback
    queue redraws. ``state`` and ``reason`` are the new ones (gms-callback-chat-wire §3.4)."""

    name: ClassVar[str] = "gms.callback.changed"

    service_id: str
    state: str
    reason: str


# -- gateway relays -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayRelay(Event):
    """A gateway's note to its own instances on the other nodes, carried by the bus.

    Some gateway state is not domain state: a publish on an application channel of a
    long-polling protocol, or a client session that moves to the node its next request
    reached. The core never decides anything about it, so it has no event of its own:
    the gateway names itself in ``gateway``, picks a ``topic`` and an opaque,
    JSON-able ``payload``, and every node's instance of that gateway reads it back
    (every other listener ignores relays). ``app_id`` is the tenant the relay
    concerns (0 for none), so tenancy stays visible to the bus.
    """

    name: ClassVar[str] = "gateway.relay"

    gateway: str
    topic: str
    payload: dict[str, Any]
