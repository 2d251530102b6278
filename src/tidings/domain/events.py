"""Domain events: what changed, published by core services after commit.

Events are frozen dataclasses holding ids and plain values (no ORM rows), so they
survive the JSON round trip the Redis bus makes; the memory bus makes the same
round trip so an unserializable event fails where it is made, not in production.

Each event names who should hear it in real time: ``recipients`` (user ids) or
``everyone`` (all connected users of the app, for broadcast dialogs). Gateways
deliver an event to the connections they hold for those users.
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


def _event(name: str):  # type: ignore[no-untyped-def]
    def wrap(cls):  # type: ignore[no-untyped-def]
        cls = dataclass(frozen=True, slots=True, kw_only=True)(cls)
        cls.name = name
        _REGISTRY[cls.__name__] = cls
        return cls

    return wrap


@_event("message.created")
class MessageCreated(Event):
    """A message was stored (or, if ``message['ephemeral']``, only relayed)."""

    dialog_id: str
    message: dict[str, Any]


@_event("message.updated")
class MessageUpdated(Event):
    dialog_id: str
    message: dict[str, Any]


@_event("message.deleted")
class MessageDeleted(Event):
    dialog_id: str
    message_id: str
    seq: int | None
    for_everyone: bool
    by_user_id: int


@_event("message.delivered")
class MessagesDelivered(Event):
    """``user_id`` received every message of the dialog up to ``seq``."""

    dialog_id: str
    user_id: int
    seq: int
    message_id: str


@_event("message.read")
class MessagesRead(Event):
    """``user_id`` read every message of the dialog up to ``seq``."""

    dialog_id: str
    user_id: int
    seq: int
    message_id: str


@_event("typing")
class TypingChanged(Event):
    dialog_id: str
    user_id: int
    typing: bool


@_event("presence")
class PresenceChanged(Event):
    user_id: int
    online: bool
    last_activity_ms: int


@_event("dialog.updated")
class DialogUpdated(Event):
    """Created, renamed, members or admins or pins changed: clients refetch or patch."""

    dialog_id: str
    change: str
    dialog: dict[str, Any]


@_event("dialog.deleted")
class DialogDeleted(Event):
    dialog_id: str
    for_everyone: bool


@_event("contact.updated")
class ContactChanged(Event):
    """``status`` is what ``user_id`` now sees for ``contact_id``."""

    user_id: int
    contact_id: int
    status: str
