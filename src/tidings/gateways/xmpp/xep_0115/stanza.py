"""XEP-0115 §5: the verification string of a disco#info answer, and ``<c/>``; pure.

The same function computes the server's own ``ver`` (from the ``<query/>`` its
disco#info returns) and checks a client's (from the ``<query/>`` the client
returned for ``node#ver``), so what is advertised is exactly what is answered.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.stanza import E, child

NS = "http://jabber.org/protocol/caps"
DATA = "jabber:x:data"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: The server's ``node`` (§4: a URI naming the software).
NODE = "https://tidings.dev"
#: §5.1 / the IANA hash function textual names -> hashlib; others are not verified.
HASHES = {
    "sha-1": "sha1",
    "sha-224": "sha224",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
}


class IllFormed(ValueError):
    """§5.4: duplicates that make the answer unusable for caps."""


@dataclass(frozen=True, slots=True)
class Caps:
    """What a ``<c/>`` in a presence announces."""

    hash: str
    node: str
    ver: str


def read_caps(presence: Element) -> Caps | None:
    """The presence's ``<c/>``; None without one, or for the legacy format (no
    ``hash``) or a hash function we cannot check (§5.4)."""
    found = child(presence, NS, "c")
    if found is None:
        return None
    hash_name = found.get("hash", "")
    node, ver = found.get("node", ""), found.get("ver", "")
    if hash_name not in HASHES or not node or not ver or len(ver) > 256 or len(node) > 1024:
        return None
    return Caps(hash_name, node, ver)


def caps_element(ver: str, node: str = NODE) -> Element:
    """``<c hash='sha-1' node=... ver=.../>`` (§4; as a stream feature, §6.3)."""
    return E(NS, "c", {"hash": "sha-1", "node": node, "ver": ver})


def verification_string(query: Element) -> str:
    """§5.1 on a disco#info ``<query/>``; raises :class:`IllFormed` (§5.4)."""
    identities = []
    for identity in query.findall(f"{{{ns.DISCO_INFO}}}identity"):
        identities.append(
            (
                identity.get("category", ""),
                identity.get("type", ""),
                identity.get(XML_LANG, ""),
                identity.get("name", ""),
            )
        )
    if len(set(identities)) != len(identities):
        raise IllFormed("the same identity twice")
    features = [f.get("var", "") for f in query.findall(f"{{{ns.DISCO_INFO}}}feature")]
    if len(set(features)) != len(features):
        raise IllFormed("the same feature twice")
    out = ["/".join(i) + "<" for i in sorted(identities)]
    out += [f + "<" for f in sorted(features)]
    forms: dict[str, list[tuple[str, list[str]]]] = {}
    for form in query.findall(f"{{{DATA}}}x"):
        form_type, fields = _form(form)
        if form_type is None:
            continue  # §5.4: no hidden FORM_TYPE, so not part of the string
        if form_type in forms:
            raise IllFormed("two forms with the same FORM_TYPE")
        forms[form_type] = fields
    for form_type in sorted(forms):
        out.append(form_type + "<")
        for var, values in sorted(forms[form_type]):
            out.append(var + "<")
            out += [v + "<" for v in sorted(values)]
    return "".join(out)


def _form(form: Element) -> tuple[str | None, list[tuple[str, list[str]]]]:
    form_type: str | None = None
    fields: list[tuple[str, list[str]]] = []
    for field in form.findall(f"{{{DATA}}}field"):
        values = [v.text or "" for v in field.findall(f"{{{DATA}}}value")]
        var = field.get("var", "")
        if var == "FORM_TYPE":
            if len(set(values)) > 1:
                raise IllFormed("a FORM_TYPE with several values")
            if field.get("type") != "hidden" or not values:
                return None, []
            form_type = values[0]
        else:
            fields.append((var, values))
    return form_type, fields


def ver_of(query: Element, hash_name: str = "sha-1") -> str:
    """§5.1: base64 of the hash of the verification string."""
    digest = hashlib.new(HASHES[hash_name], verification_string(query).encode()).digest()
    return base64.b64encode(digest).decode()


def matches(query: Element, caps: Caps) -> bool:
    """§5.4: whether the answer is what ``caps`` announced."""
    try:
        return ver_of(query, caps.hash) == caps.ver
    except IllFormed:
        return False


def notify_nodes(features: frozenset[str]) -> frozenset[str]:
    """XEP-0163 §4.3 (XEP-0060 §9.2): the nodes whose ``<node>+notify`` is a feature."""
    return frozenset(f.removesuffix("+notify") for f in features if f.endswith("+notify"))
