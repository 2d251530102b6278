"""XEP-0153 §3.1: the ``<x xmlns='vcard-temp:x:update'/>`` element of a presence; pure."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E

NS = "vcard-temp:x:update"


def avatar_update(photo: str) -> Element:
    """``<x><photo>SHA1</photo></x>``; an empty ``photo`` says "no avatar" (§3.1)."""
    return E(NS, "x", {}, E(NS, "photo", text=photo))
