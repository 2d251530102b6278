"""Extended content kept with a message (RFC 6120 §8.4, "Route, don't rebuild").

What a client puts in a ``<message>`` besides what the core stores (body,
attachments, params) travels with it to XMPP recipients: live, from the offline
store and from the archive. :func:`keep` serializes those children into the
message's ``extensions`` column as one wrapper element::

    <kept xmlns="urn:tidings:xmpp:kept:0" type="normal" via="sdk" resource="...">
      <origin-id xmlns="urn:xmpp:sid:0" id="..."/>
      <request xmlns="urn:xmpp:receipts"/>
      <reactions xmlns="urn:xmpp:reactions:0" id="...">...</reactions>
    </kept>

``type`` is the sender's message type when it is not the dialog's default
(``normal`` in a 1-1 dialog). ``via="sdk"`` marks a message from the ConnectyCube
SDK (it carried ``<extraParams>``); a message from a standard client has no
``via``, and its wrapper is written even when there is nothing else to keep.
``resource`` is the standard client's resource: RFC 6120 §8.1.2.1 has the server
stamp the sender's full JID, and clients lock a chat onto it (profanity asks for
XEP-0184 receipts only from a full JID). The SDK's messages go out from the bare
JID, as it expects.
Whoever renders a stored message (live delivery, offline delivery, MAM) calls
:func:`restore` on ``message["extensions"]`` and appends ``Kept.children`` to the
stanza; :func:`tidings.gateways.xmpp.mapping.message_stanza` does all of it.

Not kept, because the server writes them itself or they are the server's to read:
the body, ``<extraParams>``, a client's ``<stanza-id>`` (XEP-0359 §3: never
trusted from a client) and ``<delay>``, ``<markable>``, ``<destroy>``, carbons
hints, and corrections/deletions (they change another message). The whole
wrapper is at most ``MAX_BYTES``; more is refused with ``policy-violation``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.stanza import E, serialize, split
from tidings.gateways.xmpp.xmlstream import XmlStreamError, parse_one

NS = "urn:tidings:xmpp:kept:0"
#: The serialized wrapper, at most (the core bounds the column the same way).
MAX_BYTES = 16384

#: (namespace, local name or "" for any) the server writes or reads itself.
_NOT_KEPT = {
    (ns.CLIENT, "body"),
    (ns.CLIENT, "extraParams"),
    ("urn:xmpp:sid:0", "stanza-id"),
    (ns.DELAY, ""),
    (ns.DESTROY, ""),
    (ns.CORRECT, ""),
    (ns.DELETE, ""),
    ("urn:xmpp:chat-markers:0", "markable"),
    ("urn:xmpp:carbons:2", ""),
}

#: Children that do not make a bodiless message worth storing: hints about the
#: message itself, not content (XEP-0085, XEP-0184, XEP-0333, XEP-0359, XEP-0334),
#: ``<thread>``/``<subject>``, and MUC's own elements (the room's business).
_NOT_CONTENT = {
    ns.CLIENT,
    "http://jabber.org/protocol/chatstates",
    "urn:xmpp:receipts",
    "urn:xmpp:chat-markers:0",
    "urn:xmpp:sid:0",
    "urn:xmpp:hints",
    ns.MUC_USER,
}


@dataclass(frozen=True)
class Kept:
    """A stored message's extended content, parsed (shared: never mutate)."""

    type: str | None = None
    sdk: bool = False
    children: list[Element] = field(default_factory=list)
    #: The sending resource of a standard client (a 1-1 message comes from it).
    resource: str | None = None

    @property
    def standard(self) -> bool:
        """Sent by a standard XMPP client (not the ConnectyCube SDK)."""
        return not self.sdk

    def requests_receipt(self) -> bool:
        return any(c.tag == "{urn:xmpp:receipts}request" for c in self.children)


def _kept(child: Element) -> bool:
    namespace, local = split(child.tag)
    return (namespace, local) not in _NOT_KEPT and (namespace, "") not in _NOT_KEPT


def keep(message: Element, *, sdk: bool, resource: str | None = None) -> str | None:
    """The ``extensions`` to store for ``message``, or None when there is nothing."""
    children = [c for c in message if _kept(c)]
    kind = message.get("type", "normal")
    type_ = kind if kind == "normal" else None
    if sdk and not children and type_ is None:
        return None
    attributes = {"type": type_, "via": "sdk" if sdk else None, "resource": None}
    if not sdk:
        attributes["resource"] = resource
    wrapper = E(NS, "kept", attributes, *children)
    return serialize(wrapper)


def has_content(message: Element) -> bool:
    """Whether a message without a body carries a payload to store and route
    (a XEP-0444 reaction, a XEP-0424 retraction, XEP-0439 quick responses, any
    unknown element), rather than only a chat state or a hint."""
    return any(_kept(c) and split(c.tag)[0] not in _NOT_CONTENT for c in message)


def too_large(extensions: str | None) -> bool:
    return extensions is not None and len(extensions.encode()) > MAX_BYTES


@functools.lru_cache(maxsize=256)
def restore(extensions: str | None) -> Kept | None:
    """A stored ``extensions`` value, parsed once per process for a fan-out."""
    if not extensions:
        return None
    try:
        wrapper = parse_one(extensions.encode(), max_stanza_bytes=MAX_BYTES * 2)
    except XmlStreamError:
        return None
    if wrapper.tag != f"{{{NS}}}kept":
        return None
    return Kept(
        type=wrapper.get("type") or None,
        sdk=wrapper.get("via") == "sdk",
        children=list(wrapper),
        resource=wrapper.get("resource") or None,
    )
