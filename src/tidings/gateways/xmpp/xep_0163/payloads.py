"""An item's payload: one element in, XML text to the core, one element back out."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.xmlstream import XmlStreamError, parse_one


def payload_of(item: Element) -> Element | str:
    """The one payload element of a published item (XEP-0060 §7.1.3.6), or why not."""
    if len(item) != 1:
        return "an item carries exactly one payload element"
    if (item.text or "").strip() or (item[0].tail or "").strip():
        return "an item carries an element, not text"
    return item[0]


def parse_payload(text: str) -> Element | None:
    """A stored payload as an element again (``None`` if it cannot be read back)."""
    try:
        return parse_one(text.encode())
    except XmlStreamError:
        return None
