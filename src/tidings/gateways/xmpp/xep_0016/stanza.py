"""XEP-0016 §2 lists as the SDK writes them: each blocked user is two items; pure.

Items come in pairs: the user's JID and ``muc.<domain>/<userId>`` (their nick in
any room). An item with no children blocks everything (a mutual block); one with
``<message/>``... children is a one-way block. The SDK reads items 0, 2, 4... of a
list, so lists are written back in the same pairs, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.stanza import E

NS = "jabber:iq:privacy"
ONE_WAY = ("message", "presence-in", "presence-out", "iq")


@dataclass(frozen=True, slots=True)
class Rule:
    user_id: int
    action: str
    order: int
    mutual: bool


def read_items(list_element: Element, domain: str, app_id: int) -> list[Rule]:
    """Rules by user; the MUC-nick twin of an item adds nothing new."""
    rules: dict[int, Rule] = {}
    muc = f"muc.{domain}"
    for index, entry in enumerate(list_element.findall(f"{{{NS}}}item")):
        value = entry.get("value", "")
        try:
            order = int(entry.get("order", index))
        except ValueError:
            order = index
        action = entry.get("action", "deny")
        mutual = len(entry) == 0
        user_id: int | None = None
        if value.startswith(muc + "/") and value.rsplit("/", 1)[1].isdigit():
            user_id = int(value.rsplit("/", 1)[1])
        else:
            try:
                jid = JID.parse(value)
                uid, app = parse_user_local(jid.local)
                if app == app_id:
                    user_id = uid
            except JidError:
                user_id = None
        if user_id is not None and user_id not in rules:
            rules[user_id] = Rule(user_id, action, order, mutual)
    return sorted(rules.values(), key=lambda r: r.order)


def list_element(name: str, rules: list[Rule], domain: str, app_id: int) -> Element:
    out = E(NS, "list", {"name": name})
    order = 1
    for rule in sorted(rules, key=lambda r: r.order):
        for value in (f"{rule.user_id}-{app_id}@{domain}", f"muc.{domain}/{rule.user_id}"):
            entry = E(
                NS,
                "item",
                {"type": "jid", "value": value, "action": rule.action, "order": str(order)},
            )
            if not rule.mutual:
                entry.extend(E(NS, kind) for kind in ONE_WAY)
            out.append(entry)
            order += 1
    return out
