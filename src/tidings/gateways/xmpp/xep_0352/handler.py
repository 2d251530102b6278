"""XEP-0352 §4.2: the client's ``<active/>`` and ``<inactive/>`` nonzas.

The stream advertises ``<csi xmlns='urn:xmpp:csi:0'/>`` once authenticated
(§4.1, :mod:`..protocol`); what is held meanwhile is decided in :mod:`.hold`.
Any other element in the namespace is ignored: §4.2 defines no answer, and an
unknown state is no reason to end the stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import split
from tidings.gateways.xmpp.xep_0352.hold import NS

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

__all__ = ["NS", "handle"]


def handle(session: Session, element: Element) -> None:
    local = split(element.tag)[1]
    if local == "inactive":
        session.client_state(inactive=True)
    elif local == "active":
        session.client_state(inactive=False)
