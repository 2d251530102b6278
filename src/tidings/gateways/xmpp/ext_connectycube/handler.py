"""The ConnectyCube SDK's own iqs: mobile state and status streaming, acknowledged.

The SDK sends them after login and waits for a result; what they ask (less
presence traffic while in the background) is a hint the server may ignore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.stanza import iq_result

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def acknowledge(session: Session, iq: Element) -> Element:
    del session
    return iq_result(iq)


MOBILE = IqService(ns.MOBILE, acknowledge)
STATUS_STREAMING = IqService(ns.STATUS_STREAMING, acknowledge)
