"""XEP-0191 iqs -> ``core.privacy``, and the pushes of every change of blocks.

The block list is the active privacy list's deny rules (XEP-0191 §5: one store for
both protocols), so a block over XMPP holds for every API, and a privacy list
changed elsewhere is pushed here too: each change of blocks is a ``BlocksChanged``
event, turned into ``<block/>``/``<unblock/>`` pushes (§3.3, §3.4) for the user's
resources that asked for the block list in this stream (§3.2).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from weakref import WeakSet
from xml.etree.ElementTree import Element

from tidings.domain.errors import InvalidInput, LimitReached, NotFound
from tidings.domain.events import BlocksChanged
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.stanza import error_reply, iq_result, split
from tidings.gateways.xmpp.xep_0191.stanza import NS, ItemError, action_element, push, read_users

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

#: Sessions that retrieved the block list: they get the pushes (§3.3).
_INTERESTED: WeakSet[Session] = WeakSet()


async def handle(session: Session, iq: Element) -> Element:
    if iq.get("to") not in (None, "", session.jid.bare, session.addressing.domain):
        return error_reply(iq, "service-unavailable")  # only one's own list
    payload = iq[0]
    kind = split(payload.tag)[1]
    domain, app_id = session.addressing.domain, session.app_id
    privacy = session.core.privacy
    if iq.get("type") == "get":
        if kind != "blocklist":
            return error_reply(iq, "bad-request", "get a <blocklist/>")
        _INTERESTED.add(session)
        users = await privacy.blocked(session.actor)
        return iq_result(iq, action_element("blocklist", users, app_id, domain), from_=None)
    if kind not in ("block", "unblock"):
        return error_reply(iq, "bad-request", "set a <block/> or an <unblock/>")
    try:
        users = read_users(payload, domain, app_id)
        if kind == "block":
            if not users:
                return error_reply(iq, "bad-request", "a <block/> names at least one JID")
            await privacy.block(session.actor, users)
        else:
            await privacy.unblock(session.actor, users or None)  # §3.5: none is all
    except ItemError as exc:
        return error_reply(iq, exc.condition, exc.text)
    except NotFound:
        return error_reply(iq, "item-not-found", "no such user")
    except LimitReached as exc:
        return error_reply(iq, "resource-constraint", exc.message)
    except InvalidInput as exc:
        return error_reply(iq, "not-acceptable", exc.message)
    return iq_result(iq, from_=None)


def pushes_for(session: Session, event: BlocksChanged) -> list[Element]:
    """The pushes a change of blocks means for this session (none if it never asked)."""
    if session not in _INTERESTED:
        return []
    domain, app_id, to = session.addressing.domain, session.app_id, str(session.jid)
    out = []
    if event.blocked:
        out.append(push("block", event.blocked, app_id, domain, to, _push_id()))
    if event.unblocked:
        out.append(push("unblock", event.unblocked, app_id, domain, to, _push_id()))
    return out


def _push_id() -> str:
    return "block-" + secrets.token_hex(6)


SERVICE = IqService(NS, handle, server_features=(NS,))
