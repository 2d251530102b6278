"""RFC 6121 §4.7: reading and writing presence stanzas (show, status, priority); pure."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E
from tidings.gateways.xmpp.xep_0153.stanza import avatar_update

CLIENT = "jabber:client"
SHOWS = ("away", "chat", "dnd", "xa")
#: §4.7.2.2: one status of reasonable length; longer ones are cut, not refused.
MAX_STATUS = 1024


def read(presence: Element) -> dict[str, Any]:
    """The parts of an available presence that others see (§4.7.2), checked."""
    show = (presence.findtext(f"{{{CLIENT}}}show") or "").strip()
    status = presence.findtext(f"{{{CLIENT}}}status")
    try:
        priority = int((presence.findtext(f"{{{CLIENT}}}priority") or "0").strip())
    except ValueError:
        priority = 0
    data: dict[str, Any] = {"priority": max(-128, min(127, priority))}
    if show in SHOWS:
        data["show"] = show
    if status:
        data["status"] = status[:MAX_STATUS]
    return data


def write(
    from_: str,
    to: str,
    *,
    available: bool,
    show: str | None = None,
    status: str | None = None,
    priority: int = 0,
    type_: str | None = None,
    photo: str | None = None,
) -> Element:
    """A presence from ``from_``; ``type_`` for subscription presences (§3).

    ``photo``: the sender's avatar hash as the server knows it, carried as XEP-0153
    §3.1 ``<x xmlns='vcard-temp:x:update'><photo/></x>`` (``""``: no avatar)."""
    if type_ is None and not available:
        type_ = "unavailable"
    return E(
        CLIENT,
        "presence",
        {"from": from_, "to": to, "type": type_},
        E(CLIENT, "show", text=show) if available and show in SHOWS else None,
        E(CLIENT, "status", text=status) if status and available else None,
        E(CLIENT, "priority", text=str(priority)) if available and priority else None,
        avatar_update(photo) if available and photo is not None else None,
    )
