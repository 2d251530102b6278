"""XEP-0085 §5: the five chat states; ``composing`` is typing, the others are not.

The core's typing is a yes or no for every gateway; the exact state rides along
(``TypingChanged.chat_state``) so an XMPP client gets the state the other sent.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, children_in, split

NS = "http://jabber.org/protocol/chatstates"
STATES = ("active", "composing", "paused", "inactive", "gone")


def chat_state(message: Element) -> str | None:
    """The message's chat state, None when there is none."""
    for element in children_in(message, NS):
        state = split(element.tag)[1]
        if state in STATES:
            return state
    return None


def state_element(typing: bool, state: str = "") -> Element:
    """The state as sent (``state``), else what ``typing`` says (§5: composing/paused)."""
    if state not in STATES:
        state = "composing" if typing else "paused"
    return E(NS, state)
