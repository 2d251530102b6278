"""Pure parts of XEP-0357: ``<enable/>`` and ``<disable/>`` read into values."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

import pytest

from tidings.gateways.xmpp.xep_0357.stanza import (
    Disable,
    Enable,
    PushRequestError,
    read,
)

FORM_TYPE = (
    "<field var='FORM_TYPE'>"
    "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
)


def enable(attrs: str, form: str = "") -> str:
    return f"<enable xmlns='urn:xmpp:push:0' {attrs}>{form}</enable>"


def form(fields: str, type_: str = "submit") -> str:
    return f"<x xmlns='jabber:x:data' type='{type_}'>{fields}</x>"


def test_enable_with_publish_options_and_disable_with_and_without_node() -> None:
    """§5 example 9 and §6 examples 11-12."""
    fields = FORM_TYPE + "<field var='platform'><value>fcm</value></field>"
    fields += "<field var='token'><value>abc</value></field><field var='empty'/>"
    parsed = read(fromstring(enable("jid='push.example' node='n1'", form(fields))))
    assert parsed == Enable("push.example", "n1", {"platform": "fcm", "token": "abc", "empty": ""})
    bare = read(fromstring(enable("jid='push.example' node='n1'")))
    assert bare == Enable("push.example", "n1", {})
    off = "<disable xmlns='urn:xmpp:push:0' jid='push.example' {}/>"
    assert read(fromstring(off.format("node='n1'"))) == Disable("push.example", "n1")
    assert read(fromstring(off.format(""))) == Disable("push.example", None)


@pytest.mark.parametrize(
    "xml",
    [
        enable("node='n'"),  # no jid
        enable("jid='' node='n'"),
        enable("jid='@push.example' node='n'"),  # empty local part
        enable("jid='user@' node='n'"),
        enable("jid='push.example'"),  # no node
        enable("jid='push.example' node=''"),
        enable("jid='push.example' node='" + "n" * 129 + "'"),
        enable("jid='push.example' node='a&#10;b'"),  # not printable
        enable("jid='push.example' node='n'", form(FORM_TYPE) * 2),
        enable("jid='push.example' node='n'", "<other xmlns='urn:example'/>"),
        enable("jid='push.example' node='n'", form(FORM_TYPE, "form")),
        enable("jid='push.example' node='n'", form("")),  # no FORM_TYPE
        enable(
            "jid='push.example' node='n'",
            form(FORM_TYPE.replace("pubsub#publish-options", "muc#roomconfig")),
        ),
        enable("jid='push.example' node='n'", form(FORM_TYPE + FORM_TYPE)),  # repeated
        enable(
            "jid='push.example' node='n'",
            form(FORM_TYPE + "<field var='token'><value>a</value><value>b</value></field>"),
        ),
        enable("jid='push.example' node='n'", form(FORM_TYPE + "<field><value>a</value></field>")),
        enable("jid='push.example' node='n'", form(FORM_TYPE + "<field var='f'/>" * 21)),
        "<disable xmlns='urn:xmpp:push:0' jid='push.example'><x xmlns='jabber:x:data'/></disable>",
        "<disable xmlns='urn:xmpp:push:0'/>",
        "<enable xmlns='urn:example' jid='push.example' node='n'/>",
        "<publish xmlns='urn:xmpp:push:0' jid='push.example' node='n'/>",
    ],
)
def test_malformed_requests_are_refused(xml: str) -> None:
    with pytest.raises(PushRequestError):
        read(fromstring(xml))
