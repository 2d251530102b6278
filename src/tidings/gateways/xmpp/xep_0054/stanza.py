"""XEP-0054 vCards as the server keeps them (FN and PHOTO); pure.

Only what maps onto the user's profile is read: ``FN`` (the full name) and
``PHOTO`` with an inline ``BINVAL`` (the avatar, XEP-0153 §4.1). Other fields are
not kept, and a card is written back with these two only.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E

NS = "vcard-temp"
#: The longest FN kept (the profile's full name column).
MAX_NAME = 200


class CardError(ValueError):
    """A card that cannot be kept: ``condition`` is the RFC 6120 §8.3.3 stanza error."""

    def __init__(self, condition: str, text: str) -> None:
        super().__init__(text)
        self.condition = condition
        self.text = text


@dataclass(frozen=True, slots=True)
class Card:
    full_name: str | None
    photo: bytes | None


def read(vcard: Element, max_photo_bytes: int) -> Card:
    """The card a client sets; raises :class:`CardError` for what cannot be kept.

    A ``PHOTO`` whose base64 would decode to more than ``max_photo_bytes`` is refused
    before it is decoded (``not-acceptable``); text that is not base64 is a
    ``bad-request``; an ``EXTVAL`` (a URL, XEP-0054 §4) is not fetched by the server,
    so it is ``feature-not-implemented``. An empty or missing ``PHOTO`` clears the
    avatar (XEP-0153 §3.1).
    """
    name = (vcard.findtext(f"{{{NS}}}FN") or "").strip() or None
    if name is not None and len(name) > MAX_NAME:
        raise CardError("not-acceptable", f"FN is at most {MAX_NAME} characters")
    photo = vcard.find(f"{{{NS}}}PHOTO")
    if photo is None:
        return Card(name, None)
    if photo.find(f"{{{NS}}}EXTVAL") is not None:
        raise CardError("feature-not-implemented", "only an inline BINVAL photo is kept")
    encoded = "".join((photo.findtext(f"{{{NS}}}BINVAL") or "").split())
    if not encoded:
        return Card(name, None)
    if len(encoded) * 3 // 4 > max_photo_bytes + 2:
        raise CardError("not-acceptable", f"a PHOTO is at most {max_photo_bytes} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise CardError("bad-request", "BINVAL is not base64") from None
    if len(data) > max_photo_bytes:
        raise CardError("not-acceptable", f"a PHOTO is at most {max_photo_bytes} bytes")
    return Card(name, data or None)


def write(full_name: str | None, photo: bytes | None, photo_type: str | None) -> Element:
    """``<vCard>`` with FN and PHOTO (TYPE, BINVAL) when set; empty when neither is."""
    picture = None
    if photo is not None:
        picture = E(
            NS,
            "PHOTO",
            {},
            E(NS, "TYPE", text=photo_type or "image/png"),
            E(NS, "BINVAL", text=base64.b64encode(photo).decode("ascii")),
        )
    return E(NS, "vCard", {}, E(NS, "FN", text=full_name) if full_name else None, picture)
