"""XEP-0184 receipts, routed between the clients rather than made up by the server.

A ``<request/>`` is kept with the message (:mod:`extended`) and reaches the
recipient as sent. The recipient client's ``<received id/>`` names the id it saw
(the sender's own, see :mod:`xep_0359.ids`): it is mapped to the core's message
and marks it delivered (§5). The delivered event then becomes a ``<received/>``
for the sender's resources, naming the sender's original id, and only for a
message whose sender asked for one: the server never answers a request itself,
and never with an id of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain import events as ev
from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.stanza import E
from tidings.gateways.xmpp.xep_0184.stanza import receipt

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def received(session: Session, dialog_id: str, message_id: str) -> bool:
    """The recipient's client confirms ``message_id`` (its sender's id or the core's);
    False when the core has no such message (the caller routes the receipt as is)."""
    core_id = await session.core.messages.id_for_client_id(session.actor, dialog_id, message_id)
    if core_id is None:
        return False
    await session.core.receipts.mark_delivered(session.actor, dialog_id, core_id)
    return True


def receipt_for_event(session: Session, event: ev.MessagesDelivered) -> Element | None:
    """The sender's ``<received/>`` for a delivered event, when the sender asked for one."""
    sent = session.gateway.sent_ids.get(event.message_id)
    if sent is None or not sent.receipt_requested or sent.group:
        return None
    if sent.sender_id != session.user_id:
        return None
    reader = session.addressing.user(event.user_id, session.app_id)
    return E(
        ns.CLIENT,
        "message",
        {"type": "chat", "from": str(reader), "to": str(session.jid)},
        receipt(sent.client_id or event.message_id),
    )
