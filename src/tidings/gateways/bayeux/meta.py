"""The five meta channels: handshake, connect, disconnect, subscribe, unsubscribe (§5).

Each function takes the server's sessions and one request message and returns
the reply; connect may instead ask the caller to hold it (§4.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.gateways.bayeux import acks, channels
from tidings.gateways.bayeux.advice import HANDSHAKE_AGAIN, STOP, BayeuxConfig
from tidings.gateways.bayeux.clients import ClientSession, attributes_from, new_client_id
from tidings.gateways.bayeux.messages import (
    BAD_MESSAGE,
    UNAUTHORIZED,
    UNKNOWN_CLIENT,
    UNSUPPORTED_TRANSPORT,
    Message,
    reply_to,
    subscription_denied,
)
from tidings.gateways.bayeux.state import Trigger

VERSION = "1.0"


def unknown_client(message: Message, **extra: Any) -> Message:
    """``402`` with handshake advice: JS and aiocometd re-handshake on it (§5.2)."""
    return reply_to(
        message, successful=False, error=UNKNOWN_CLIENT, advice=dict(HANDSHAKE_AGAIN), **extra
    )


def unauthorized(message: Message) -> Message:
    """``401`` with ``reconnect:"none"``: the handshake named no app, or an unknown one
    (§3.6); retrying with the same credentials cannot succeed."""
    return reply_to(message, successful=False, error=UNAUTHORIZED, advice=dict(STOP))


def handshake(
    config: BayeuxConfig,
    message: Message,
    transport: str,
    attributes: dict[str, str],
    now: int,
) -> tuple[Message, ClientSession | None]:
    version = message.get("version", VERSION)
    if not isinstance(version, str) or not version.startswith("1"):
        return reply_to(message, successful=False, error=BAD_MESSAGE, advice=dict(STOP)), None
    offered = message.get("supportedConnectionTypes", ["long-polling"])
    if not isinstance(offered, list) or not any(t in config.transports for t in offered):
        return (
            reply_to(
                message,
                successful=False,
                error=UNSUPPORTED_TRANSPORT,
                supportedConnectionTypes=list(config.transports),
                advice=dict(STOP),
            ),
            None,
        )
    ext = message.get("ext")
    attrs = dict(attributes)
    if isinstance(ext, dict):
        # GMS §7.2: identity from headers, else from the handshake ext.
        for key, value in attributes_from(ext).items():
            attrs.setdefault(key, value)
    session = ClientSession(id=new_client_id(), transport=transport, attributes=attrs)
    session.expires_at = now + config.interval_ms + config.max_interval_ms
    session.ack = acks.requested(ext)
    reply = reply_to(
        message,
        successful=True,
        version=VERSION,
        minimumVersion=VERSION,
        clientId=session.id,
        supportedConnectionTypes=list(config.transports),
        advice=config.advice(),
    )
    if session.ack:
        reply["ext"] = {"ack": True}  # the extension is agreed (acks.py)
    return reply, session


@dataclass(frozen=True, slots=True)
class ConnectDecision:
    """Reply now (``hold_ms == 0``) or hold for ``hold_ms``; ``superseded`` is the old hold."""

    hold_ms: int
    superseded: int | None


def connect(
    config: BayeuxConfig, session: ClientSession, message: Message
) -> ConnectDecision | Message:
    connection_type = message.get("connectionType")
    if connection_type is not None and connection_type not in config.transports:
        return reply_to(message, successful=False, error=UNSUPPORTED_TRANSPORT)
    superseded = session.held
    session.held = None
    first = session.connects == 0
    session.connects += 1
    session.move(Trigger.CONNECT)
    advice = message.get("advice")
    client_timeout = advice.get("timeout") if isinstance(advice, dict) else None
    if first or session.queue:
        return ConnectDecision(0, superseded)
    return ConnectDecision(config.hold_ms(client_timeout), superseded)


def connect_reply(
    config: BayeuxConfig, message: Message, *, stop: bool = False, batch: int | None = None
) -> Message:
    """``batch``: the number of the deliveries this reply carries (ack extension)."""
    advice = dict(STOP) if stop else config.advice()
    reply = reply_to(message, successful=True, advice=advice)
    if batch is not None:
        reply["ext"] = {"ack": batch}
    return reply


def _subscriptions(message: Message) -> list[str] | None:
    value = message.get("subscription")
    items: list[Any] = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(s, str) for s in items):
        return None
    return items


def subscribe(session: ClientSession, message: Message) -> Message:
    """All-or-nothing over an array; ``/meta/**`` and wildcards reaching into a reserved
    namespace (``/**``, ``/*``, ``/_genesys/**``…) are refused with 403 (§5.4)."""
    items = _subscriptions(message)
    if items is None:
        return reply_to(message, successful=False, error=BAD_MESSAGE)
    echo = message.get("subscription")
    for item in items:
        if channels.is_meta(item):
            return reply_to(
                message, successful=False, subscription=echo, error=subscription_denied(item)
            )
        if not channels.is_valid_pattern(item):
            return reply_to(message, successful=False, subscription=echo, error=BAD_MESSAGE)
        if channels.covers_reserved(item):
            return reply_to(
                message, successful=False, subscription=echo, error=subscription_denied(item)
            )
    session.subscriptions.update(items)
    return reply_to(message, successful=True, subscription=echo)


def unsubscribe(session: ClientSession, message: Message) -> Message:
    items = _subscriptions(message)
    if items is None:
        return reply_to(message, successful=False, error=BAD_MESSAGE)
    session.subscriptions.difference_update(items)
    return reply_to(message, successful=True, subscription=message.get("subscription"))
