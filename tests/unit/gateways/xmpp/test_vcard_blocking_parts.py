"""Pure parts of XEP-0054 (vCards), XEP-0153 (the presence hash) and XEP-0191
(block items, pushes, the ``<blocked/>`` error)."""

from __future__ import annotations

import base64
from xml.etree.ElementTree import fromstring

import pytest

from tidings.gateways.xmpp.presence.stanza import write as presence
from tidings.gateways.xmpp.stanza import serialize
from tidings.gateways.xmpp.xep_0054.stanza import CardError, read, write
from tidings.gateways.xmpp.xep_0153.stanza import avatar_update
from tidings.gateways.xmpp.xep_0191.stanza import (
    ItemError,
    action_element,
    blocked_error,
    push,
    read_users,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def card(inner: str) -> str:
    return f'<vCard xmlns="vcard-temp">{inner}</vCard>'


def test_a_card_reads_fn_and_an_inline_photo_with_line_breaks() -> None:
    """XEP-0054 §3.2: BINVAL is base64, often folded over lines (RFC 2426)."""
    encoded = base64.b64encode(PNG).decode()
    folded = "\n".join(encoded[i : i + 20] for i in range(0, len(encoded), 20))
    got = read(
        fromstring(
            card(f" <FN> Ann </FN><PHOTO><TYPE>image/png</TYPE><BINVAL>{folded}</BINVAL></PHOTO>")
        ),
        1024,
    )
    assert got.full_name == "Ann" and got.photo == PNG


@pytest.mark.parametrize(
    ("inner", "photo"),
    [("", None), ("<PHOTO/>", None), ("<PHOTO><BINVAL>  </BINVAL></PHOTO>", None)],
    ids=["no-photo", "empty-photo", "blank-binval"],
)
def test_no_photo_means_no_avatar(inner: str, photo: bytes | None) -> None:
    """XEP-0153 §3.1: an empty or missing PHOTO clears the avatar."""
    assert read(fromstring(card(inner)), 1024).photo is photo


@pytest.mark.parametrize(
    ("inner", "condition"),
    [
        ("<PHOTO><BINVAL>@@@</BINVAL></PHOTO>", "bad-request"),
        ("<PHOTO><BINVAL>QUJDR</BINVAL></PHOTO>", "bad-request"),  # bad padding
        (f"<PHOTO><BINVAL>{'A' * 4000}</BINVAL></PHOTO>", "not-acceptable"),
        ("<PHOTO><EXTVAL>https://x/y.png</EXTVAL></PHOTO>", "feature-not-implemented"),
        (f"<FN>{'n' * 201}</FN>", "not-acceptable"),
    ],
    ids=["not-base64", "bad-padding", "too-big", "extval", "long-fn"],
)
def test_cards_that_cannot_be_kept_name_their_stanza_error(inner: str, condition: str) -> None:
    with pytest.raises(CardError) as raised:
        read(fromstring(card(inner)), 1024)
    assert raised.value.condition == condition


def test_a_photo_is_refused_by_size_before_it_is_decoded() -> None:
    """Exactly at the limit is kept; one byte over is not."""
    at_limit = base64.b64encode(PNG[:30]).decode()
    assert read(fromstring(card(f"<PHOTO><BINVAL>{at_limit}</BINVAL></PHOTO>")), 30).photo
    over = base64.b64encode(PNG[:31]).decode()
    with pytest.raises(CardError):
        read(fromstring(card(f"<PHOTO><BINVAL>{over}</BINVAL></PHOTO>")), 30)


def test_a_written_card_reads_back() -> None:
    written = write("Ann", PNG, "image/png")
    again = read(fromstring(serialize(written)), 1024)
    assert (again.full_name, again.photo) == ("Ann", PNG)
    assert written.findtext("{vcard-temp}PHOTO/{vcard-temp}TYPE") == "image/png"
    assert serialize(write(None, None, None)) == '<vCard xmlns="vcard-temp"/>'


def test_presence_carries_the_photo_hash_only_when_said() -> None:
    """XEP-0153 §3.1: ``<x><photo>hash</photo></x>``; empty: no avatar; None: nothing."""
    stamped = serialize(presence("a@x/r", "b@x", available=True, photo="ab" * 20))
    assert f'<x xmlns="vcard-temp:x:update"><photo>{"ab" * 20}</photo></x>' in stamped
    cleared = serialize(presence("a@x/r", "b@x", available=True, photo=""))
    assert '<x xmlns="vcard-temp:x:update"><photo/></x>' in cleared
    assert "vcard-temp" not in serialize(presence("a@x/r", "b@x", available=True))
    assert "vcard-temp" not in serialize(presence("a@x/r", "b@x", available=False, photo="ab"))
    assert serialize(avatar_update("")).endswith("<photo/></x>")


def block(*jids: str) -> str:
    items = "".join(f'<item jid="{j}"/>' for j in jids)
    return f'<block xmlns="urn:xmpp:blocking">{items}</block>'


def test_block_items_name_users_of_the_app() -> None:
    """A full JID blocks the user; repeats count once, in order."""
    element = fromstring(block("7-1@chat.example", "3-1@chat.example/phone", "7-1@chat.example"))
    assert read_users(element, "chat.example", 1) == [7, 3]


@pytest.mark.parametrize(
    ("jid", "condition"),
    [
        ("@chat.example", "jid-malformed"),
        ("7-2@chat.example", "item-not-found"),  # another app
        ("7-1@elsewhere.example", "item-not-found"),
        ("alice@chat.example", "item-not-found"),
        ("chat.example", "item-not-found"),
        ("", "bad-request"),
    ],
    ids=["malformed", "other-app", "other-domain", "not-a-user", "domain", "empty"],
)
def test_block_items_that_name_nobody_here(jid: str, condition: str) -> None:
    with pytest.raises(ItemError) as raised:
        read_users(fromstring(block(jid)), "chat.example", 1)
    assert raised.value.condition == condition


def test_too_many_items_at_once() -> None:
    element = fromstring(block(*(f"{i}-1@chat.example" for i in range(501))))
    with pytest.raises(ItemError) as raised:
        read_users(element, "chat.example", 1)
    assert raised.value.condition == "policy-violation"


def test_pushes_and_the_list() -> None:
    """§3.2 result and §3.3 push shapes."""
    listed = serialize(action_element("blocklist", [7], 1, "chat.example"))
    assert (
        listed == '<blocklist xmlns="urn:xmpp:blocking"><item jid="7-1@chat.example"/></blocklist>'
    )
    pushed = push("unblock", [], 1, "chat.example", "3-1@chat.example/r", "p1")
    assert pushed.get("type") == "set" and pushed.get("to") == "3-1@chat.example/r"
    assert serialize(pushed[0]) == '<unblock xmlns="urn:xmpp:blocking"/>'  # §3.5: all


def test_the_blocked_error() -> None:
    """§3.3: ``not-acceptable`` with the application condition ``<blocked/>``."""
    error = blocked_error("you block them")
    assert error.get("type") == "cancel"
    tags = [child.tag for child in error]
    assert "{urn:ietf:params:xml:ns:xmpp-stanzas}not-acceptable" in tags
    assert tags[-1] == "{urn:xmpp:blocking:errors}blocked"
