"""The pure parts of PEP and bookmarks: publish-options forms (XEP-0060 §7.1.5) and
the XEP-0048 <-> XEP-0402 translation (XEP-0402 §3), fed elements directly."""

from __future__ import annotations

import pytest

from tidings.gateways.xmpp.xep_0163 import stanza as ps
from tidings.gateways.xmpp.xep_0163.payloads import parse_payload, payload_of
from tidings.gateways.xmpp.xep_0402 import stanza as bookmarks
from tidings.gateways.xmpp.xmlstream import parse_one


def form(*fields: tuple[str, str], form_type: str = ps.PUBLISH_OPTIONS) -> str:
    body = "".join(f'<field var="{v}"><value>{x}</value></field>' for v, x in fields)
    return (
        f'<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE">'
        f"<value>{form_type}</value></field>{body}</x>"
    )


def test_publish_options_are_read_and_unknown_fields_ignored() -> None:
    options = ps.read_options(
        parse_one(
            form(
                ("pubsub#access_model", "whitelist"),
                ("pubsub#persist_items", "1"),
                ("pubsub#max_items", "max"),
                ("pubsub#send_last_published_item", "never"),
            ).encode()
        ),
        ps.PUBLISH_OPTIONS,
    )
    assert options == ps.Options("whitelist", True, 0)
    assert ps.read_options(None, ps.PUBLISH_OPTIONS) == ps.Options()


@pytest.mark.parametrize(
    "fields,form_type",
    [
        ((("pubsub#max_items", "-1"),), ps.PUBLISH_OPTIONS),
        ((("pubsub#persist_items", "perhaps"),), ps.PUBLISH_OPTIONS),
        ((), "urn:example:other-form"),
    ],
)
def test_unreadable_forms_are_refused(fields: tuple[tuple[str, str], ...], form_type: str) -> None:
    with pytest.raises(ps.FormError):
        ps.read_options(parse_one(form(*fields, form_type=form_type).encode()), ps.PUBLISH_OPTIONS)


def test_an_item_holds_one_payload_element() -> None:
    one = parse_one(b'<item xmlns="p"><nick xmlns="n">A</nick></item>')
    payload = payload_of(one)
    assert not isinstance(payload, str) and payload.tag == "{n}nick"
    assert isinstance(payload_of(parse_one(b'<item xmlns="p"/>')), str)
    assert isinstance(payload_of(parse_one(b'<item xmlns="p"><a/><b/></item>')), str)
    assert isinstance(payload_of(parse_one(b'<item xmlns="p">text<a/></item>')), str)
    assert parse_payload("<broken") is None


def test_legacy_storage_and_native_items_translate_both_ways() -> None:
    storage = parse_one(
        b'<storage xmlns="storage:bookmarks">'
        b'<conference jid="one@muc.example" name="One" autojoin="1"><nick>al</nick></conference>'
        b'<conference jid="one@muc.example" name="Again"/>'
        b'<conference jid="broken@@"/><conference jid="muc.example/nick"/>'
        b'<url name="site" url="https://example.com"/>'
        b"</storage>"
    )
    found = bookmarks.from_storage(storage)
    assert found == [bookmarks.Bookmark("one@muc.example", "One", True, "al", None)]
    item = bookmarks.to_item(found[0])
    assert bookmarks.from_item("one@muc.example", item) == found[0]
    assert bookmarks.from_item("not a room", item) is None
    back = bookmarks.from_storage(bookmarks.to_storage(found))
    assert back == found
