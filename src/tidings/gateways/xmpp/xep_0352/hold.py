"""XEP-0352 §3.2: what waits while the client says it is inactive. Pure: no I/O.

The XEP leaves the server's behaviour open; this follows the idea of Prosody's
mod_csi_simple. A stanza the user would want now is *important* and goes out at
once, after everything held (so order is kept). What is not important waits:

- availability presence (RFC 6121 §4: none or ``unavailable``): only the latest
  from each full JID is kept; an older one would be overwritten on arrival anyway.
  Subscription requests and answers (§3) ask something of the user and go at
  once, as does a room's presence about the user's own occupant (XEP-0045 status
  110: the answer to a join);
- chat states without a body (XEP-0085): only the latest from each sender;
  ``composing`` then ``paused`` means nothing once both arrive late;
- receipts and chat markers without a body (XEP-0184, XEP-0333): kept, all of
  them, in order; they move ticks, not the user's attention.

Important: any message with a body (or an error, a MUC invitation, anything
else we cannot judge), and what the server itself needs answered (the XEP-0198
``<r/>`` and XEP-0199 pings are written next to messages with bodies, so they
never wait). An iq is neither: it goes out at once (someone awaits the answer,
often the client itself) and leaves what is held where it is, as the iq has no
order to keep with presences or chat states. Nothing held is ever dropped but a
superseded presence or chat state; past :data:`MAX_HELD` the whole queue goes
out, as when the client turns active.
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import count
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.stanza import split

NS = "urn:xmpp:csi:0"
CHAT_STATES = "http://jabber.org/protocol/chatstates"
MUC_USER = "http://jabber.org/protocol/muc#user"
#: Payloads a message may carry alone and still wait (no body, nothing else).
_WAITING_PAYLOADS = frozenset({CHAT_STATES, "urn:xmpp:receipts", "urn:xmpp:chat-markers:0"})
#: Namespaces of bookkeeping children that never make a message important.
_BOOKKEEPING = frozenset({"urn:xmpp:sid:0", "urn:xmpp:delay", "urn:xmpp:hints"})
#: Held stanzas at most; one more flushes them all.
MAX_HELD = 200


class ClientState:
    """One session's CSI state and the stanzas it holds back."""

    def __init__(self) -> None:
        self.inactive = False
        # key -> stanza, in the order they are to be written. A superseding stanza
        # takes its key's place at the end: it is the newest.
        self._held: OrderedDict[object, Element] = OrderedDict()
        self._serial = count()

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, stanza: Element) -> bool:
        """Keep ``stanza`` back if the client is inactive and it can wait."""
        if not self.inactive:
            return False
        key = _waiting_key(stanza)
        if key is None:
            return False
        if key == "ordered":
            key = ("ordered", next(self._serial))
        self._held.pop(key, None)
        self._held[key] = stanza
        return True

    def releases(self, stanza: Element) -> bool:
        """Whether sending ``stanza`` (one not held) must first send what is held."""
        return bool(self._held) and split(stanza.tag)[1] != "iq"

    def overflowing(self) -> bool:
        return len(self._held) > MAX_HELD

    def release(self) -> list[Element]:
        """Everything held, oldest first; the queue is empty afterwards."""
        held = list(self._held.values())
        self._held.clear()
        return held


def _waiting_key(stanza: Element) -> object | None:
    """None: important. Else the key a newer stanza replaces it under, or "ordered"."""
    namespace, kind = split(stanza.tag)
    if namespace not in (ns.CLIENT, ""):
        return None
    sender = stanza.get("from", "")
    if kind == "presence":
        if stanza.get("type") not in (None, "unavailable") or _own_occupant(stanza):
            return None
        return ("presence", sender)
    if kind != "message" or stanza.get("type") == "error":
        return None
    payloads = {
        split(c.tag)[0] for c in stanza if split(c.tag)[0] not in _BOOKKEEPING | {ns.CLIENT}
    }
    if any(split(c.tag) == (ns.CLIENT, "body") for c in stanza):
        return None
    if not payloads or not payloads <= _WAITING_PAYLOADS:
        return None
    if payloads == {CHAT_STATES}:
        return ("chat-state", sender)
    return "ordered"


def _own_occupant(presence: Element) -> bool:
    return any(status.get("code") == "110" for status in presence.iter(f"{{{MUC_USER}}}status"))
