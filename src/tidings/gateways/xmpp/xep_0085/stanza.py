"""XEP-0085 §5: ``<composing/>`` starts typing, any other state stops it."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, children_in, split

NS = "http://jabber.org/protocol/chatstates"
STATES = ("active", "composing", "paused", "inactive", "gone")


def typing_state(message: Element) -> bool | None:
    """True for composing, False for the other states, None when there is none."""
    for element in children_in(message, NS):
        state = split(element.tag)[1]
        if state in STATES:
            return state == "composing"
    return None


def state_element(typing: bool) -> Element:
    return E(NS, "composing" if typing else "paused")
