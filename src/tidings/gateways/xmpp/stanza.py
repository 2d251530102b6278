"""Stanzas as ElementTree elements: building, reading and writing them (RFC 6120 §8).

Elements use Clark names (``{namespace}local``). :func:`serialize` writes a
default ``xmlns`` wherever the namespace changes instead of ``ns0:`` prefixes,
because the ConnectyCube SDK's parser (ltx) matches children by literal name and
``xmlns`` attribute (connectycube-wire §9.1). Only the streams namespace gets its
conventional ``stream:`` prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from tidings.gateways.xmpp import namespaces as ns

#: RFC 6120 §8.3.3 condition -> (error type, legacy code the SDK reads, XEP-0086).
STANZA_ERRORS: dict[str, tuple[str, str]] = {
    "bad-request": ("modify", "400"),
    "not-authorized": ("auth", "401"),
    "forbidden": ("auth", "403"),
    "item-not-found": ("cancel", "404"),
    "not-allowed": ("cancel", "405"),
    "not-acceptable": ("modify", "406"),
    "conflict": ("cancel", "409"),
    "policy-violation": ("modify", "406"),
    "resource-constraint": ("wait", "500"),
    "internal-server-error": ("wait", "500"),
    "feature-not-implemented": ("cancel", "501"),
    "service-unavailable": ("cancel", "503"),
    "recipient-unavailable": ("wait", "404"),
}


def split(tag: str) -> tuple[str, str]:
    """``{ns}local`` -> (ns, local); a tag without a namespace has ns ''."""
    if tag.startswith("{"):
        namespace, local = tag[1:].split("}", 1)
        return namespace, local
    return "", tag


def E(  # noqa: N802 - reads like the element it builds
    namespace: str,
    local: str,
    attrs: Mapping[str, str | None] | None = None,
    *children: Element | None,
    text: str | None = None,
) -> Element:
    """Build ``<local xmlns=namespace ...>``; ``None`` attributes and children are left out."""
    element = Element(f"{{{namespace}}}{local}", {k: v for k, v in (attrs or {}).items() if v})
    element.extend(c for c in children if c is not None)
    if text is not None:
        element.text = text
    return element


def child(element: Element, namespace: str, local: str) -> Element | None:
    return element.find(f"{{{namespace}}}{local}")


def children_in(element: Element, namespace: str) -> Iterable[Element]:
    return (c for c in element if split(c.tag)[0] == namespace)


def text_of(element: Element, namespace: str, local: str) -> str | None:
    found = child(element, namespace, local)
    return None if found is None else (found.text or "")


def serialize(
    element: Element, parent_ns: str = "", *, stream_prefix_declared: bool = False
) -> str:
    """XML text of ``element``; ``parent_ns`` is the default namespace already in scope."""
    out: list[str] = []
    _write(element, parent_ns, stream_prefix_declared, out)
    return "".join(out)


def _write(element: Element, parent_ns: str, prefix_declared: bool, out: list[str]) -> None:
    namespace, local = split(element.tag)
    declarations = ""
    if namespace == ns.STREAMS:
        name = f"stream:{local}"
        if not prefix_declared:
            declarations = f' xmlns:stream="{ns.STREAMS}"'
            prefix_declared = True
        inner_ns = parent_ns
    else:
        name = local
        if namespace != parent_ns:
            declarations = f" xmlns={quoteattr(namespace)}"
        inner_ns = namespace
    out.append(f"<{name}{declarations}")
    for key, value in element.attrib.items():
        if key.startswith("{http://www.w3.org/XML/1998/namespace}"):
            key = "xml:" + key.split("}", 1)[1]
        elif key.startswith("{"):
            continue  # foreign-namespaced attributes are not used by XMPP clients we serve
        out.append(f" {key}={quoteattr(value)}")
    if not len(element) and not element.text:
        out.append("/>")
    else:
        out.append(">")
        if element.text:
            out.append(escape(element.text))
        for sub in element:
            _write(sub, inner_ns, prefix_declared, out)
            if sub.tail:
                out.append(escape(sub.tail))
        out.append(f"</{name}>")


def stanza_error(
    condition: str, text: str | None = None, *, type_: str | None = None, code: str | None = None
) -> Element:
    """``<error>`` with the RFC 6120 condition, a legacy ``code`` and optional text."""
    default_type, default_code = STANZA_ERRORS.get(condition, ("cancel", "500"))
    return E(
        ns.CLIENT,
        "error",
        {"type": type_ or default_type, "code": code or default_code},
        E(ns.STANZAS, condition),
        E(ns.STANZAS, "text", text=text) if text else None,
    )


def error_reply(stanza: Element, condition: str, text: str | None = None) -> Element:
    """The stanza bounced back with ``type="error"`` (RFC 6120 §8.3.1), addresses swapped."""
    kind = split(stanza.tag)[1]
    reply = E(
        ns.CLIENT,
        kind,
        {
            "type": "error",
            "id": stanza.get("id"),
            "from": stanza.get("to"),
            "to": stanza.get("from"),
        },
    )
    if kind != "iq":
        reply.extend(c for c in stanza if split(c.tag)[0] != ns.CLIENT or c.tag.endswith("}body"))
    reply.append(stanza_error(condition, text))
    return reply


def iq_result(iq: Element, *payload: Element | None, from_: str | None = None) -> Element:
    return E(
        ns.CLIENT,
        "iq",
        {"type": "result", "id": iq.get("id"), "to": iq.get("from"), "from": from_ or iq.get("to")},
        *payload,
    )
