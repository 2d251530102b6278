"""XEP-0016 iqs -> ``core.privacy``. The default list is enforced as the active one
(the SDK never sets an active list; connectycube-wire §10.12)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.stanza import E, child, error_reply, iq_result
from tidings.gateways.xmpp.xep_0016.stanza import NS, list_element, read_items

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def handle(session: Session, iq: Element) -> Element:
    query = child(iq, NS, "query")
    if query is None:
        return error_reply(iq, "feature-not-implemented", "only a privacy <query/> is served")
    privacy = session.core.privacy
    domain, app_id = session.addressing.domain, session.app_id
    if iq.get("type") == "get":
        wanted = query.find(f"{{{NS}}}list")
        if wanted is None:
            names, active = await privacy.list_names(session.actor)
            children = []
            if active:
                children += [E(NS, "active", {"name": active}), E(NS, "default", {"name": active})]
            children += [E(NS, "list", {"name": n}) for n in names]
            return iq_result(iq, E(NS, "query", {}, *children), from_=None)
        found = await privacy.get_list(session.actor, wanted.get("name", ""))
        rules = [_rule(i.user_id, i.action, i.order, i.mutual) for i in found.items]
        return iq_result(iq, E(NS, "query", {}, list_element(found.name, rules, domain, app_id)))
    for element in query:
        local = element.tag.rsplit("}", 1)[-1]
        name = element.get("name")
        if local == "list" and name:
            if len(element) == 0:
                await privacy.delete_list(session.actor, name)
            else:
                rules = read_items(element, domain, app_id)
                items = [
                    {"user_id": r.user_id, "action": r.action, "order": r.order, "mutual": r.mutual}
                    for r in rules
                ]
                await privacy.put_list(session.actor, name, items)
        elif local in ("default", "active"):
            await privacy.set_active(session.actor, name or None)
        else:
            return error_reply(iq, "bad-request", f"unexpected <{local}/>")
    return iq_result(iq)


SERVICE = IqService(NS, handle, server_features=(NS,))


def _rule(user_id: int, action: str, order: int, mutual: bool):  # type: ignore[no-untyped-def]
    from tidings.gateways.xmpp.xep_0016.stanza import Rule

    return Rule(user_id, action, order, mutual)
