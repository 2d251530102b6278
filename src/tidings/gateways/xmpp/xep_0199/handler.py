"""XEP-0199 §4.3: a ping to the server (or, on its behalf, to an account) is answered
with an empty result."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.stanza import error_reply, iq_result
from tidings.gateways.xmpp.xep_0199.stanza import NS, is_ping

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def handle(session: Session, iq: Element) -> Element:
    del session
    if not is_ping(iq):
        return error_reply(iq, "service-unavailable")  # only a get <ping/> is served
    return iq_result(iq)


SERVICE = IqService(NS, handle, server_features=(NS,), account_features=(NS,), for_accounts=True)
