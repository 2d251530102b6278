"""XEP-0163 personal eventing iqs -> ``core.pep``: the XEP-0060 subset PEP clients use.

Served on the user's own bare JID (or with no ``to``): publish with publish-options
(§7.1, §7.1.5), retract (§7.2), retrieve items (§6.5), and as owner delete (§8.4) and
configure (§8.2). Retrieving is also served on a contact's bare JID (``for_accounts``):
the node's access model decides. Publishing, retracting or configuring another user's
node is ``forbidden`` (§7.1.3.1). Subscriptions are implicit (XEP-0163 §4: presence and
entity capabilities), so ``subscribe`` and the rest are ``feature-not-implemented``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.core.pep import NodeOptions
from tidings.domain.errors import DomainError
from tidings.gateways.xmpp import mapping
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.stanza import child, error_reply, iq_result, serialize, split
from tidings.gateways.xmpp.xep_0163 import stanza as ps
from tidings.gateways.xmpp.xep_0163.payloads import parse_payload, payload_of
from tidings.gateways.xmpp.xep_0402 import stanza as bookmarks

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

#: Node configuration a publish creates unless its publish-options say otherwise.
NODE_DEFAULTS: dict[str, NodeOptions] = {
    # XEP-0402 §3.2: bookmarks are the owner's alone, as many as the server keeps.
    bookmarks.NODE: NodeOptions(access_model="whitelist", persist_items=True, max_items=0),
    bookmarks.LEGACY: NodeOptions(access_model="whitelist"),
}

#: core error code -> (RFC 6120 condition, pubsub#errors condition).
ERRORS: dict[str, tuple[str, str | None]] = {
    "node_required": ("bad-request", "nodeid-required"),
    "bad_node": ("bad-request", None),
    "bad_item": ("bad-request", None),
    "payload_too_big": ("not-acceptable", "payload-too-big"),
    "max_nodes": ("not-allowed", "max-nodes-exceeded"),  # RFC 3920 clients lack policy-violation
    "precondition_not_met": ("conflict", "precondition-not-met"),
    "unsupported_access": ("not-acceptable", "unsupported-access-model"),
    "bad_options": ("bad-request", "invalid-options"),
    "node_not_found": ("item-not-found", None),
    "item_not_found": ("item-not-found", None),
    "user_not_found": ("item-not-found", None),
    "presence_subscription_required": ("not-authorized", "presence-subscription-required"),
    "closed_node": ("not-allowed", "closed-node"),
}

#: XEP-0060 §10 feature names of the actions not served, for ``<unsupported/>``.
UNSUPPORTED = {
    "subscribe": "subscribe",
    "unsubscribe": "subscribe",
    "options": "subscription-options",
    "subscriptions": "retrieve-subscriptions",
    "affiliations": "retrieve-affiliations",
    "create": "create-nodes",
    "configure": "config-node",
    "purge": "purge-nodes",
    "default": "retrieve-default",
}


def node_options(asked: ps.Options) -> NodeOptions:
    return NodeOptions(asked.access_model, asked.persist_items, asked.max_items)


def error_for(iq: Element, exc: DomainError) -> Element:
    found = ERRORS.get(exc.code)
    if found is None:
        reply = error_reply(iq, "bad-request")
        reply.remove(reply[-1])
        reply.append(mapping.error_for(exc.code, exc.status, exc.message))
        return reply
    return ps.pubsub_error(iq, found[0], found[1], exc.message)


def unsupported(iq: Element, action: str) -> Element:
    feature = UNSUPPORTED.get(action, action)
    return ps.pubsub_error(iq, "feature-not-implemented", "unsupported", feature)


def owner_of(session: Session, iq: Element) -> int | None:
    """The user whose PEP service the iq addresses: ``to``'s bare JID, else the sender."""
    to = iq.get("to")
    if not to:
        return session.user_id
    try:
        jid = JID.parse(to)
        user_id, app_id = parse_user_local(jid.local)
    except JidError:
        return None
    if app_id != session.app_id or not session.addressing.is_local(jid):
        return None
    return user_id


async def handle(session: Session, iq: Element) -> Element:
    pubsub = child(iq, ps.PUBSUB, "pubsub")
    if pubsub is None or len(pubsub) == 0:
        return error_reply(iq, "bad-request", "a pubsub iq carries <pubsub/> with an action")
    owner_id = owner_of(session, iq)
    if owner_id is None:
        return error_reply(iq, "service-unavailable", "PEP is served at a user's bare JID")
    kind = iq.get("type")
    publish = child(pubsub, ps.PUBSUB, "publish")
    action = publish if publish is not None else pubsub[0]
    name = split(action.tag)[1]
    try:
        if kind == "set":
            if name not in ("publish", "retract"):
                return unsupported(iq, name)
            if owner_id != session.user_id:
                return error_reply(iq, "forbidden", "only the owner publishes to a PEP node")
            if name == "publish":
                return await _publish(session, iq, pubsub, action)
            return await _retract(session, iq, action)
        if kind == "get" and name == "items":
            return await _items(session, iq, owner_id, action)
        return unsupported(iq, name)
    except DomainError as exc:
        return error_for(iq, exc)


async def _publish(session: Session, iq: Element, pubsub: Element, publish: Element) -> Element:
    node = publish.get("node") or ""
    items = publish.findall(f"{{{ps.PUBSUB}}}item")
    if not items:
        return ps.pubsub_error(iq, "bad-request", "item-required", "publish one <item/>")
    if len(items) > 1:
        return ps.pubsub_error(iq, "bad-request", "invalid-payload", "publish one item at once")
    payload = payload_of(items[0])
    if isinstance(payload, str):
        return ps.pubsub_error(iq, "bad-request", "invalid-payload", payload)
    form_holder = child(pubsub, ps.PUBSUB, "publish-options")
    form = None if form_holder is None else child(form_holder, ps.DATA, "x")
    try:
        options = node_options(ps.read_options(form, ps.PUBLISH_OPTIONS))
    except ps.FormError as exc:
        return ps.pubsub_error(iq, "bad-request", "invalid-options", str(exc))
    item_id = await session.core.pep.publish(
        session.actor,
        node,
        items[0].get("id"),
        serialize(payload),
        options,
        NODE_DEFAULTS.get(node),
    )
    done = ps.E(ps.PUBSUB, "publish", {"node": node}, ps.E(ps.PUBSUB, "item", {"id": item_id}))
    return iq_result(iq, ps.E(ps.PUBSUB, "pubsub", {}, done), from_=None)


async def _retract(session: Session, iq: Element, retract: Element) -> Element:
    node = retract.get("node") or ""
    ids = [i.get("id") or "" for i in retract.findall(f"{{{ps.PUBSUB}}}item")]
    if not ids or not all(ids):
        return ps.pubsub_error(iq, "bad-request", "item-required", "retract <item id='...'/>")
    notify = (retract.get("notify") or "").lower() in ("1", "true")
    for item_id in ids:
        await session.core.pep.retract(session.actor, node, item_id, notify=notify)
    return iq_result(iq, from_=None)


async def _items(session: Session, iq: Element, owner_id: int, items: Element) -> Element:
    node = items.get("node") or ""
    wanted = [i.get("id") or "" for i in items.findall(f"{{{ps.PUBSUB}}}item")]
    newest: int | None = None
    max_text = items.get("max_items")
    if max_text is not None:
        if not max_text.isdigit() or int(max_text) < 1:
            return error_reply(iq, "bad-request", "max_items is a positive number")
        newest = int(max_text)
    found = await session.core.pep.items(
        session.actor, owner_id, node, item_ids=[w for w in wanted if w], newest=newest
    )
    return iq_result(
        iq, ps.result_items(node, [(i.item_id, parse_payload(i.payload)) for i in found])
    )


SERVICE = IqService(
    ps.PUBSUB,
    handle,
    account_features=(*ps.FEATURES, bookmarks.NODE, bookmarks.COMPAT),
    for_accounts=True,
)


async def handle_owner(session: Session, iq: Element) -> Element:
    """§8: the owner's own nodes: ``delete`` (§8.4) and ``configure`` (§8.2)."""
    pubsub = child(iq, ps.OWNER, "pubsub")
    if pubsub is None or len(pubsub) != 1:
        return error_reply(iq, "bad-request", "a pubsub#owner iq carries one action")
    owner_id = owner_of(session, iq)
    if owner_id is None:
        return error_reply(iq, "service-unavailable", "PEP is served at a user's bare JID")
    if owner_id != session.user_id:
        return error_reply(iq, "forbidden", "only the owner manages a PEP node")
    action = pubsub[0]
    name = split(action.tag)[1]
    node = action.get("node") or ""
    kind = iq.get("type")
    pep = session.core.pep
    try:
        if name == "delete" and kind == "set":
            await pep.delete_node(session.actor, node)
            return iq_result(iq, from_=None)
        if name == "configure" and kind == "get":
            config = await pep.configuration(session.actor, node)
            filled = ps.config_form(config.access_model, config.persist_items, config.max_items)
            form = ps.E(ps.OWNER, "configure", {"node": node}, filled)
            return iq_result(iq, ps.E(ps.OWNER, "pubsub", {}, form), from_=None)
        if name == "configure" and kind == "set":
            try:
                options = node_options(ps.read_options(child(action, ps.DATA, "x"), ps.NODE_CONFIG))
            except ps.FormError as exc:
                return ps.pubsub_error(iq, "bad-request", "invalid-options", str(exc))
            await pep.configure(session.actor, node, options)
            return iq_result(iq, from_=None)
    except DomainError as exc:
        return error_for(iq, exc)
    return unsupported(iq, name)


OWNER = IqService(ps.OWNER, handle_owner)
