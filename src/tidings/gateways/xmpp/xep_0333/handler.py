"""XEP-0333 chat markers both ways: the core's delivered/read state, on the wire.

Inbound, a ``received``/``displayed`` marker names the id its client saw (the
sender's own id, or the core's) and moves the reader's delivered/read marker in
the core. Outbound, each delivered/read event becomes a marker naming the id the
author's client knows. A group message from a standard client gets its markers
from the room (``from=room/reader``, ``type="groupchat"``, XEP-0333 §5 in MUC);
the ConnectyCube SDK reads markers only as 1-1 ``chat`` messages with
``<extraParams>`` (connectycube-wire §10.5), which its messages keep getting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain import events as ev
from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.ext_connectycube.stanza import write_extra
from tidings.gateways.xmpp.stanza import E
from tidings.gateways.xmpp.xep_0333.stanza import marker

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def marked(session: Session, dialog_id: str, meaning: str, message_id: str) -> bool:
    """The reader's client marks ``message_id`` delivered or read; False when the core
    has no such message (the caller routes the marker as is)."""
    core, actor = session.core, session.actor
    core_id = await core.messages.id_for_client_id(actor, dialog_id, message_id)
    if core_id is None:
        return False
    if meaning == "read":
        await core.receipts.mark_read(actor, dialog_id, core_id)
    else:
        await core.receipts.mark_delivered(actor, dialog_id, core_id)
    return True


def marker_for_event(session: Session, event: ev.MessagesDelivered | ev.MessagesRead) -> Element:
    meaning = "read" if isinstance(event, ev.MessagesRead) else "delivered"
    sent = session.gateway.sent_ids.get(event.message_id)
    wire_id = (sent.client_id if sent is not None else None) or event.message_id
    if sent is not None and sent.standard and sent.group:
        room = session.addressing.room(session.app_id, event.dialog_id, event.user_id)
        return E(
            ns.CLIENT,
            "message",
            {"type": "groupchat", "from": str(room), "to": str(session.jid)},
            marker(meaning, wire_id),
        )
    reader = session.addressing.user(event.user_id, session.app_id)
    return E(
        ns.CLIENT,
        "message",
        {"type": "chat", "from": str(reader), "to": str(session.jid)},
        marker(meaning, wire_id),
        write_extra(dialog_id=event.dialog_id),
    )
