"""XEP-0060 elements as PEP (XEP-0163) uses them; pure: reading and building, no I/O.

Publish-options are a XEP-0004 form (XEP-0060 §7.1.5); node configuration is the
``pubsub#node_config`` form (§16.4). Errors carry the general RFC 6120 condition and
the application-specific one of ``pubsub#errors`` (§7.1.3, §6.5.9).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.stanza import E, error_reply, split

PUBSUB = "http://jabber.org/protocol/pubsub"
OWNER = "http://jabber.org/protocol/pubsub#owner"
EVENT = "http://jabber.org/protocol/pubsub#event"
ERRORS = "http://jabber.org/protocol/pubsub#errors"
DATA = "jabber:x:data"
PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options"
NODE_CONFIG = "http://jabber.org/protocol/pubsub#node_config"

#: XEP-0060 §10 features this PEP service implements (XEP-0163 §6: on the account).
FEATURES = tuple(
    f"{PUBSUB}#{name}"
    for name in (
        "access-open",
        "access-presence",
        "access-whitelist",
        "auto-create",
        "config-node",
        "delete-items",
        "delete-nodes",
        "filtered-notifications",
        "item-ids",
        "last-published",
        "persistent-items",
        "publish",
        "publish-options",
        "retract-items",
        "retrieve-items",
    )
)


class FormError(ValueError):
    """A publish-options or configuration form the service cannot honour."""


def _truth(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true"):
        return True
    if lowered in ("0", "false"):
        return False
    raise FormError(f"not a boolean: {text!r}")


@dataclass(frozen=True, slots=True)
class Options:
    """What a form asks of a node (``None``: not asked); ``max_items`` 0 is ``max``."""

    access_model: str | None = None
    persist_items: bool | None = None
    max_items: int | None = None


def read_options(form: Element | None, form_type: str) -> Options:
    """The node options a XEP-0004 form asks for; fields this service does not keep
    (``pubsub#send_last_published_item``, ``pubsub#notify_retract``...) are ignored.

    A wrong ``FORM_TYPE`` or an unreadable value is a :class:`FormError`.
    """
    if form is None:
        return Options()
    access: str | None = None
    persist: bool | None = None
    max_items: int | None = None
    for field in form.findall(f"{{{DATA}}}field"):
        var = field.get("var", "")
        value = field.findtext(f"{{{DATA}}}value") or ""
        if var == "FORM_TYPE":
            if value != form_type:
                raise FormError(f"FORM_TYPE is {form_type}")
        elif var == "pubsub#access_model":
            access = value
        elif var == "pubsub#persist_items":
            persist = _truth(value)
        elif var == "pubsub#max_items":
            if value == "max":
                max_items = 0
            elif value.isdigit() and int(value) > 0:
                max_items = int(value)
            else:
                raise FormError(f"pubsub#max_items is a positive number or max, not {value!r}")
    return Options(access, persist, max_items)


def config_form(access_model: str, persist_items: bool, max_items: int) -> Element:
    """§8.2.1: the node's configuration as a ``form`` to fill."""

    def field(var: str, value: str, type_: str | None = None) -> Element:
        return E(DATA, "field", {"var": var, "type": type_}, E(DATA, "value", text=value))

    return E(
        DATA,
        "x",
        {"type": "form"},
        field("FORM_TYPE", NODE_CONFIG, "hidden"),
        field("pubsub#access_model", access_model, "list-single"),
        field("pubsub#persist_items", "true" if persist_items else "false", "boolean"),
        field("pubsub#max_items", str(max_items), "text-single"),
    )


def pubsub_error(iq: Element, condition: str, specific: str | None, text: str) -> Element:
    """An iq error with a ``pubsub#errors`` condition beside the RFC 6120 one."""
    reply = error_reply(iq, condition, text)
    if specific:
        error = reply[-1]
        extra = E(ERRORS, specific)
        if specific == "unsupported":
            extra.set("feature", text)
        error.insert(1, extra)
    return reply


def event_message(
    from_: str, to: str, node: str, *content: Element, delayed: Element | None = None
) -> Element:
    """XEP-0060 §7.1.2.1 / XEP-0163 §4.3: a ``headline`` notification."""
    if content and split(content[0].tag)[1] == "delete":
        event = E(EVENT, "event", {}, *content)
    else:
        event = E(EVENT, "event", {}, E(EVENT, "items", {"node": node}, *content))
    return E(ns.CLIENT, "message", {"type": "headline", "from": from_, "to": to}, event, delayed)


def event_item(item_id: str, payload: Element | None) -> Element:
    return E(EVENT, "item", {"id": item_id}, payload)


def result_items(node: str, items: list[tuple[str, Element | None]]) -> Element:
    """§6.5.2: ``<pubsub><items node=...><item id=...>payload</item>...``."""
    return E(
        PUBSUB,
        "pubsub",
        {},
        E(PUBSUB, "items", {"node": node}, *(E(PUBSUB, "item", {"id": i}, p) for i, p in items)),
    )
