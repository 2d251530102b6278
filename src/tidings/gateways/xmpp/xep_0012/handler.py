"""XEP-0012 §4: seconds since a user was last active; 0 while online.

The reply's ``from`` is the user's JID: the SDK takes the user id from it
(connectycube-wire §10.13).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.stanza import E, error_reply, iq_result

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

NS = "jabber:iq:last"


async def handle(session: Session, iq: Element) -> Element:
    try:
        target = JID.parse(iq.get("to", ""))
        user_id, app_id = parse_user_local(target.local)
    except JidError:
        return error_reply(iq, "bad-request", "ask a user's JID")
    if app_id != session.app_id:
        return error_reply(iq, "item-not-found")
    presence = await session.core.presence.get_presence(session.actor, user_id)
    seconds = 0
    if not presence.online and presence.last_activity_ms:
        seconds = max(0, (session.core.now_ms() - presence.last_activity_ms) // 1000)
    return iq_result(iq, E(NS, "query", {"seconds": str(seconds)}), from_=target.bare)


SERVICE = IqService(NS, handle, server_features=(NS,), for_accounts=True)
