"""XEP-0280 §4: a resource enables or disables carbons for itself."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.stanza import error_reply, iq_result
from tidings.gateways.xmpp.xep_0280.stanza import NS, is_enable

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def handle(session: Session, iq: Element) -> Element:
    if iq.get("type") != "set":
        return error_reply(iq, "service-unavailable")  # §4: carbons are only set
    enabled = is_enable(iq)
    if enabled is None:
        return error_reply(iq, "bad-request", "carbons: <enable/> or <disable/>")
    session.carbons = enabled
    return iq_result(iq)


SERVICE = IqService(NS, handle, server_features=(NS,))
