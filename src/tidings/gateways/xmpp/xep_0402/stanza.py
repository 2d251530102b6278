"""XEP-0402 bookmarks and their XEP-0048 twin, translated both ways; pure.

XEP-0402 keeps one PEP item per room in ``urn:xmpp:bookmarks:1`` (item id = the room's
JID, payload ``<conference/>``). XEP-0048 keeps every room in one ``<storage
xmlns='storage:bookmarks'/>`` element (here in XEP-0049 private storage). XEP-0402 §3
asks a server that advertises ``#compat`` to show the same bookmarks through both: the
items are the truth, the ``<storage/>`` element is built from them and split into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.jid import JID, JidError
from tidings.gateways.xmpp.stanza import E

NODE = "urn:xmpp:bookmarks:1"
LEGACY = "storage:bookmarks"
#: XEP-0402 §3: bookmarks in XEP-0049 private storage are these items too.
COMPAT = f"{NODE}#compat"


@dataclass(frozen=True, slots=True)
class Bookmark:
    room: str
    name: str | None
    autojoin: bool
    nick: str | None
    password: str | None


def _autojoin(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true")


def _room(text: str | None) -> str | None:
    try:
        jid = JID.parse(text or "")
    except JidError:
        return None
    return jid.bare if jid.local and not jid.resource else None


def from_item(item_id: str, conference: Element | None) -> Bookmark | None:
    """A XEP-0402 item (§3.1); ``None`` if its id is no room JID or it holds no conference."""
    room = _room(item_id)
    if room is None or conference is None or conference.tag != f"{{{NODE}}}conference":
        return None
    return Bookmark(
        room,
        conference.get("name"),
        _autojoin(conference.get("autojoin")),
        conference.findtext(f"{{{NODE}}}nick"),
        conference.findtext(f"{{{NODE}}}password"),
    )


def to_item(bookmark: Bookmark) -> Element:
    """The ``<conference xmlns='urn:xmpp:bookmarks:1'/>`` payload of one item."""
    return E(
        NODE,
        "conference",
        {"name": bookmark.name, "autojoin": "true" if bookmark.autojoin else "false"},
        E(NODE, "nick", text=bookmark.nick) if bookmark.nick else None,
        E(NODE, "password", text=bookmark.password) if bookmark.password else None,
    )


def from_storage(storage: Element) -> list[Bookmark]:
    """XEP-0048 §3: every ``<conference jid=...>`` of a ``<storage/>`` (URLs have no
    XEP-0402 form and are dropped); the first of two for one room wins."""
    seen: dict[str, Bookmark] = {}
    for conference in storage.findall(f"{{{LEGACY}}}conference"):
        room = _room(conference.get("jid"))
        if room is None or room in seen:
            continue
        seen[room] = Bookmark(
            room,
            conference.get("name"),
            _autojoin(conference.get("autojoin")),
            conference.findtext(f"{{{LEGACY}}}nick"),
            conference.findtext(f"{{{LEGACY}}}password"),
        )
    return list(seen.values())


def to_storage(bookmarks: list[Bookmark]) -> Element:
    """XEP-0048 §3: the ``<storage xmlns='storage:bookmarks'/>`` of these bookmarks."""
    return E(
        LEGACY,
        "storage",
        {},
        *(
            E(
                LEGACY,
                "conference",
                {
                    "jid": b.room,
                    "name": b.name,
                    "autojoin": "true" if b.autojoin else "false",
                },
                E(LEGACY, "nick", text=b.nick) if b.nick else None,
                E(LEGACY, "password", text=b.password) if b.password else None,
            )
            for b in bookmarks
        ),
    )
