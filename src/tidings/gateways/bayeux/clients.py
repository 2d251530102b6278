"""One Bayeux session per ``clientId``: subscriptions, a bounded queue, deadlines (§4).

Sessions are not bound to a connection or a transport: a client may continue
the same ``clientId`` on a new socket or over long-polling (§2.4). They are bound
to the identity their handshake presented (the app, GMS ``gms_user``): a later
request may carry no credentials (WebSocket frames have no headers; the
``clientId`` is the bearer), but credentials it does carry must be the same.
"""

from __future__ import annotations

import json
import secrets
import string
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tidings.gateways.bayeux import channels
from tidings.gateways.bayeux.messages import Message
from tidings.gateways.bayeux.state import ClientState, Trigger, next_state

_ALPHABET = string.ascii_lowercase + string.digits
#: The attribute naming a session's app: broadcasts reach only sessions of their app.
TENANT = "app_id"


def new_client_id() -> str:
    """26 base-36 characters from ``secrets``: about 134 random bits (§3.4)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(26))


@dataclass(slots=True)
class ClientSession:
    id: str
    transport: str
    #: Transport identity the application layer cares about (e.g. ``gms_user``).
    attributes: dict[str, str] = field(default_factory=dict)
    state: ClientState = ClientState.HANDSHAKEN
    subscriptions: set[str] = field(default_factory=set)
    queue: deque[Message] = field(default_factory=deque)
    queue_bytes: int = 0
    connects: int = 0
    #: Token of the connect being held, if any; a newer connect supersedes it.
    held: int | None = None
    #: When the session expires if no connect arrives (None while one is held).
    expires_at: int | None = None
    #: The publish budget's GCRA state (:mod:`tidings.gcra`); None: untouched.
    publish_tat: float | None = None
    #: The CometD ack extension was agreed at handshake (:mod:`.acks`): deliveries
    #: leave only in connect replies, numbered, and stay here until acknowledged.
    ack: bool = False
    #: Number of the last batch handed to a connect reply.
    batch: int = 0
    #: Batches sent but not yet acknowledged, oldest first: (number, messages).
    unacked: list[tuple[int, list[Message]]] = field(default_factory=list)

    def move(self, trigger: Trigger) -> None:
        self.state = next_state(self.state, trigger)

    def answers_to(self, identity: dict[str, str]) -> bool:
        """Whether a request presenting ``identity`` may act for this session."""
        return all(self.attributes.get(k) == v for k, v in identity.items())

    def subscribed_to(self, channel: str) -> bool:
        return any(channels.matches(p, channel) for p in self.subscriptions)

    def push(self, message: Message, max_queue: int, max_bytes: int) -> bool:
        """Queue a delivery; False when the bound is passed (the session must go)."""
        size = message_size(message)
        if len(self.queue) >= max_queue or self.queue_bytes + size > max_bytes:
            return False
        self.queue.append(message)
        self.queue_bytes += size
        return True

    def drain(self) -> list[Message]:
        out = list(self.queue)
        self.queue.clear()
        self.queue_bytes = 0
        return out

    def to_dict(self) -> dict[str, Any]:
        """The session as JSON, to hand it to another node (a held connect stays behind)."""
        return {
            "id": self.id,
            "transport": self.transport,
            "attributes": dict(self.attributes),
            "state": self.state.value,
            "subscriptions": sorted(self.subscriptions),
            "queue": list(self.queue),
            "connects": self.connects,
            "ack": self.ack,
            "batch": self.batch,
            "unacked": [[number, list(messages)] for number, messages in self.unacked],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientSession:
        session = cls(
            id=str(data["id"]),
            transport=str(data.get("transport", "long-polling")),
            attributes=attributes_from(data.get("attributes")),
            state=ClientState(data.get("state", ClientState.HANDSHAKEN.value)),
            subscriptions={s for s in data.get("subscriptions", []) if isinstance(s, str)},
            connects=int(data.get("connects", 0)),
            ack=data.get("ack") is True,
            batch=int(data.get("batch", 0)),
        )
        for message in data.get("queue", []):
            session.push(message, 1 << 31, 1 << 62)
        for number, messages in data.get("unacked", []):
            session.unacked.append((int(number), list(messages)))
        return session


def message_size(message: Message) -> int:
    return len(json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str))


def attributes_from(values: Any) -> dict[str, str]:
    if not isinstance(values, dict):
        return {}
    return {str(k): str(v) for k, v in values.items() if isinstance(v, str | int)}
