"""XEP-0357 ``<enable/>`` and ``<disable/>`` read into plain values; no I/O.

§5: ``<enable jid node>`` may carry one data form, the publish-options the server
must send with every notification (FORM_TYPE
``http://jabber.org/protocol/pubsub#publish-options``). §6: ``<disable jid [node]>``.
What is malformed raises :class:`PushRequestError` (answered ``bad-request``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.jid import JID, JidError
from tidings.gateways.xmpp.stanza import split

NS = "urn:xmpp:push:0"
DATA = "jabber:x:data"
PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options"

#: Bounds that keep a registration within one row of the device registry.
MAX_NODE = 128
MAX_FIELDS = 20
MAX_VALUE = 4096


class PushRequestError(ValueError):
    """The request breaks §5/§6; the text goes in the ``bad-request`` reply."""


@dataclass(frozen=True, slots=True)
class Enable:
    """§5: push to ``jid``'s ``node``, with these publish-options (var -> value)."""

    jid: str
    node: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Disable:
    """§6: stop pushing to ``jid`` (every node of it when ``node`` is None)."""

    jid: str
    node: str | None


def read(payload: Element) -> Enable | Disable:
    """The request in an iq set's payload (``<enable/>`` or ``<disable/>``)."""
    namespace, kind = split(payload.tag)
    if namespace != NS or kind not in ("enable", "disable"):
        raise PushRequestError("set an <enable/> or a <disable/>")
    jid = _service_jid(payload.get("jid"))
    node = payload.get("node")
    if node is not None and not _good_node(node):
        raise PushRequestError(f"a node is 1 to {MAX_NODE} printable characters")
    if kind == "disable":
        if len(payload):
            raise PushRequestError("a <disable/> has no children")
        return Disable(jid, node)
    if node is None:
        raise PushRequestError("an <enable/> names the node")
    return Enable(jid, node, _publish_options(payload))


def _service_jid(text: str | None) -> str:
    if not text:
        raise PushRequestError("name the app server's 'jid'")
    try:
        jid = JID.parse(text)
    except JidError as exc:
        raise PushRequestError("the 'jid' is not a JID") from exc
    return str(jid)


def _good_node(node: str) -> bool:
    return 1 <= len(node) <= MAX_NODE and node.isprintable()


def _publish_options(enable: Element) -> dict[str, str]:
    """§5: at most one form, of the publish-options type, single-valued fields."""
    forms = list(enable)
    if not forms:
        return {}
    if len(forms) > 1 or forms[0].tag != f"{{{DATA}}}x":
        raise PushRequestError("an <enable/> holds at most one publish-options data form")
    form = forms[0]
    if form.get("type") != "submit":
        raise PushRequestError("the publish-options form is of type 'submit'")
    fields = [c for c in form if c.tag == f"{{{DATA}}}field"]
    if len(fields) > MAX_FIELDS:
        raise PushRequestError(f"at most {MAX_FIELDS} publish-options")
    options: dict[str, str] = {}
    for item in fields:
        var = item.get("var")
        values = [v.text or "" for v in item if v.tag == f"{{{DATA}}}value"]
        if not var or len(values) > 1 or var in options:
            raise PushRequestError("each publish-option is one named field with one value")
        value = values[0] if values else ""
        if len(value) > MAX_VALUE or not value.isprintable():
            raise PushRequestError(f"publish-option {var!r} is too long or not printable")
        options[var] = value
    if options.pop("FORM_TYPE", None) != PUBLISH_OPTIONS:
        raise PushRequestError(f"the form's FORM_TYPE is {PUBLISH_OPTIONS}")
    return options
