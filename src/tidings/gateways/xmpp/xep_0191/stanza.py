"""XEP-0191 elements: the JIDs of ``<block/>``/``<unblock/>`` and the pushes; pure.

The server keeps blocks by user (``core.privacy``), so an item names a user of the
session's app by their JID (``<id>-<app>@<domain>``; a resource is ignored, the
user is blocked). A JID that does not parse is ``jid-malformed`` (§3.3); one that
names nobody here (another domain, another app, a room, no such user) is
``item-not-found``, the same answer whichever it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.stanza import E, stanza_error

NS = "urn:xmpp:blocking"
ERRORS_NS = "urn:xmpp:blocking:errors"
#: The most items one block or unblock may name.
MAX_ITEMS = 500


class ItemError(ValueError):
    """An item the server cannot act on; ``condition`` is the stanza error."""

    def __init__(self, condition: str, text: str) -> None:
        super().__init__(text)
        self.condition = condition
        self.text = text


def read_users(action: Element, domain: str, app_id: int) -> list[int]:
    """The user ids an action's items name, in order, without repeats."""
    items = action.findall(f"{{{NS}}}item")
    if len(items) > MAX_ITEMS:
        raise ItemError("policy-violation", f"at most {MAX_ITEMS} items at once")
    users: dict[int, None] = {}
    for item in items:
        text = item.get("jid")
        if not text:
            raise ItemError("bad-request", "an item has a 'jid'")
        try:
            jid = JID.parse(text)
        except JidError:
            raise ItemError("jid-malformed", f"{text!r} is not a JID") from None
        try:
            user_id, app = parse_user_local(jid.local)
        except JidError:
            raise ItemError("item-not-found", f"no user {jid.bare}") from None
        if app != app_id or jid.domain != domain:
            raise ItemError("item-not-found", f"no user {jid.bare}")
        users[user_id] = None
    return list(users)


def user_jid(user_id: int, app_id: int, domain: str) -> str:
    return f"{user_id}-{app_id}@{domain}"


def action_element(kind: str, user_ids: Sequence[int], app_id: int, domain: str) -> Element:
    """``<blocklist/>``, ``<block/>`` or ``<unblock/>`` with one item per user."""
    items = [E(NS, "item", {"jid": user_jid(u, app_id, domain)}) for u in user_ids]
    return E(NS, kind, {}, *items)


def push(
    kind: str, user_ids: Sequence[int], app_id: int, domain: str, to: str, id_: str
) -> Element:
    """§3.3/§3.4 push: an iq set from the server to one of the user's resources.
    An ``<unblock/>`` without items (unblock all, §3.5) is pushed as such."""
    return E(
        "jabber:client",
        "iq",
        {"type": "set", "id": id_, "to": to},
        action_element(kind, user_ids, app_id, domain),
    )


def blocked_error(text: str) -> Element:
    """§3.3: the user wrote to someone they block: ``not-acceptable`` and ``<blocked/>``."""
    error = stanza_error("not-acceptable", text, type_="cancel")
    error.append(E(ERRORS_NS, "blocked"))
    return error
