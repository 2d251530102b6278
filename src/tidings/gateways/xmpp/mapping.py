"""Core objects and errors -> stanzas (RFC 6121 §5, connectycube-wire §10).

Pure: given plain dicts from domain events and the server's JID scheme, build
what a client receives. Decisions (who, whether) are the core's and
:mod:`connection`'s.
"""

from __future__ import annotations

import datetime
from typing import Any
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.ext_connectycube.stanza import write_extra
from tidings.gateways.xmpp.extended import restore
from tidings.gateways.xmpp.jid import JID
from tidings.gateways.xmpp.stanza import E, stanza_error
from tidings.gateways.xmpp.xep_0333.stanza import markable
from tidings.gateways.xmpp.xep_0359.stanza import stanza_id

#: Domain error code -> (RFC 6120 condition, legacy code). The SDK shows ``code``.
ERRORS: dict[str, tuple[str, str]] = {
    "blocked": ("service-unavailable", "503"),
    "not_a_member": ("forbidden", "403"),
    "forbidden": ("forbidden", "403"),
    "dialog_not_found": ("item-not-found", "404"),
    "user_not_found": ("item-not-found", "404"),
    "message_not_found": ("item-not-found", "404"),
    "invalid_input": ("bad-request", "400"),
    "too_large": ("policy-violation", "406"),
    "rate_limited": ("resource-constraint", "500"),
}


def wire_id(message: dict[str, Any]) -> str:
    """The id XMPP clients know a message by: its sender's own, else the core's."""
    return str(message.get("client_id") or message["id"])


def error_for(code: str, status: int, text: str) -> Element:
    condition, legacy = ERRORS.get(code, ("", ""))
    if not condition:
        condition, legacy = {
            403: ("forbidden", "403"),
            404: ("item-not-found", "404"),
            409: ("conflict", "409"),
            400: ("bad-request", "400"),
        }.get(status, ("service-unavailable", "503"))
    if code == "blocked":
        text = "Service not available."
    return stanza_error(condition, text, code=legacy)


def stamp(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def delay(ms: int, by: str) -> Element:
    """XEP-0203: when a stored message was originally sent."""
    return E(ns.DELAY, "delay", {"stamp": stamp(ms), "from": by})


def message_stanza(
    message: dict[str, Any],
    *,
    type_: str,
    sender: JID,
    to: JID,
    archive: str,
    delayed: bool = False,
) -> Element:
    """A stored (or relayed) message as its recipients receive it: under the id its
    sender gave it, with its type and the extension elements it came with
    (:mod:`extended`); the core's id is the archive's ``<stanza-id>``."""
    body = message.get("body") or ""
    kept = restore(message.get("extensions"))
    if kept is not None and kept.type and type_ == "chat":
        type_ = kept.type  # RFC 6121 §5.2.2: ``normal`` stays ``normal``
    if kept is not None and kept.resource and type_ != "groupchat" and not sender.resource:
        sender = JID(sender.local, sender.domain, kept.resource)  # RFC 6120 §8.1.2.1
    stanza = E(
        ns.CLIENT,
        "message",
        {"type": type_, "from": str(sender), "to": str(to), "id": wire_id(message)},
        E(ns.CLIENT, "body", text=body) if body else None,
        write_extra(
            dialog_id=message["dialog_id"],
            date_sent=message["created_ms"] // 1000,
            params=message.get("params") or {},
            attachments=message.get("attachments") or [],
            save_to_history=not message.get("ephemeral"),
            destroy_after=message.get("self_destroy_after"),
        ),
        markable(),
        stanza_id(message["id"], archive),
    )
    if kept is not None:
        stanza.extend(kept.children)
    if message.get("self_destroy_after"):
        stanza.append(E(ns.DESTROY, "destroy", {"after": str(message["self_destroy_after"])}))
    if delayed:
        stanza.append(delay(message["created_ms"], archive))
    return stanza
