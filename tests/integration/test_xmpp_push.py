"""XEP-0357 push notifications end to end: a slixmpp client enables push to the
server's own push component with its APNs/FCM token, and the local APNs and FCM
stand-ins receive the pushes of the messages it missed while it had no session, with
the server's unread total as the badge, through the device registry and outbox every
gateway uses. slixmpp has no XEP-0357 plugin, so the iqs are built as XML."""

from __future__ import annotations

import secrets
from typing import Any
from xml.etree import ElementTree

import pytest
from slixmpp.exceptions import IqError

from tests.conftest import TestServer
from tests.integration.delivery_fakes import FakeAPNs, FakeFCM, eventually
from tests.integration.test_delivery_push import outbox_states, push_app, settled
from tests.integration.test_xmpp_chat import jid
from tests.integration.test_xmpp_presence import PASSWORD
from tests.integration.xmpp_helpers import Client, Listener, close, connect

PUSH = "urn:xmpp:push:0"
DATA = "jabber:x:data"
OPTIONS = "http://jabber.org/protocol/pubsub#publish-options"
COMPONENT = "push.localhost"  # the default TIDINGS_XMPP_PUSH_JID for domain localhost


def enable_iq(
    client: Client,
    fields: dict[str, str] | None,
    *,
    node: str | None = "node-1",
    service: str | None = COMPONENT,
    form_type: str = "submit",
) -> Any:
    """``<enable jid node>`` (§5) with a publish-options form holding ``fields``."""
    iq = client.make_iq_set()
    attrs = {k: v for k, v in (("jid", service), ("node", node)) if v is not None}
    enable = ElementTree.SubElement(iq.xml, f"{{{PUSH}}}enable", attrs)
    if fields is not None:
        form = ElementTree.SubElement(enable, f"{{{DATA}}}x", {"type": form_type})
        for var, value in {"FORM_TYPE": OPTIONS, **fields}.items():
            field = ElementTree.SubElement(form, f"{{{DATA}}}field", {"var": var})
            ElementTree.SubElement(field, f"{{{DATA}}}value").text = value
    return iq


async def disable(client: Client, node: str | None = None) -> None:
    """``<disable jid [node]>`` (§6)."""
    iq = client.make_iq_set()
    attrs = {"jid": COMPONENT, **({"node": node} if node else {})}
    ElementTree.SubElement(iq.xml, f"{{{PUSH}}}disable", attrs)
    await iq.send(timeout=10)


async def refused(iq: Any) -> str:
    """The error condition the server answered ``iq`` with."""
    with pytest.raises(IqError) as error:
        await iq.send(timeout=10)
    return str(error.value.iq["error"]["condition"])


async def offline(server: TestServer, user_id: int) -> None:
    async def gone() -> bool:
        return not await server.core.presence.online_among([user_id])

    await eventually(gone, what="no live session")


async def device_ids(server: TestServer, token: str) -> list[str]:
    items = (await server.client(token).request("GET", "/devices"))["items"]
    return [d["device_id"] for d in items]


async def test_enabled_push_reaches_apns_and_fcm_while_the_user_has_no_session(
    server: TestServer, apns: FakeAPNs, fcm: FakeFCM
) -> None:
    """§4 the account advertises the feature; §5 enable (an APNs and an FCM node);
    pushes only while no session is live, badge = unread total; §6 disable one node,
    then every node."""
    app = await push_app(server, apns, fcm)
    _, _alice, alice = await server.new_client(app, full_name="Alice")
    _, bob, bob_token = await server.new_user(app, password=PASSWORD)
    phone, tablet = secrets.token_hex(32), "fcm-" + secrets.token_urlsafe(40)
    dialog = await alice.create_dialog("private", [bob.id])
    async with Listener(server.core) as xmpp:
        client = await connect(Client(jid(bob), PASSWORD), xmpp.port)
        try:
            info = await client.plugin["xep_0030"].get_info(jid=jid(bob), timeout=10)
            features = set(info["disco_info"]["features"])
            await enable_iq(client, {"platform": "apns", "token": phone}).send(timeout=10)
            await enable_iq(client, {"platform": "fcm", "token": tablet}, node="node-2").send(
                timeout=10
            )
            await alice.send_message(dialog.id, "while you are here")
            live = await client.messages.get()
            queued_while_online = await outbox_states(server, app)
        finally:
            await close(client)
        await offline(server, bob.id)
        missed = await alice.send_message(dialog.id, "hello Bob")
        await eventually(lambda: apns.for_token(phone) and fcm.for_token(tablet), what="pushes")
        registered = await device_ids(server, bob_token)
        unread = (await server.client(bob_token).unread()).total

        client = await connect(Client(jid(bob), PASSWORD), xmpp.port)
        try:
            await disable(client, "node-1")
        finally:
            await close(client)
        await offline(server, bob.id)
        later = await alice.send_message(dialog.id, "only the tablet hears this")
        await eventually(lambda: len(fcm.for_token(tablet)) == 2, what="second FCM push")

        client = await connect(Client(jid(bob), PASSWORD), xmpp.port)
        try:
            await disable(client)  # every node of the component
        finally:
            await close(client)
    assert await settled(server, app) == {"delivered": 3}
    print(f"\nAPNs got {apns.for_token(phone)}\nFCM got {fcm.for_token(tablet)}")
    assert PUSH in features
    assert str(live["body"]) == "while you are here"
    assert queued_while_online == {}, "no push while a session is live"
    assert sorted(registered) == [f"xmpp-push:{COMPONENT}/node-1", f"xmpp-push:{COMPONENT}/node-2"]
    [apns_push] = apns.for_token(phone)
    assert apns_push["payload"]["message_id"] == missed.id
    assert apns_push["payload"]["aps"]["alert"] == {"title": "Alice", "body": "hello Bob"}
    assert apns_push["payload"]["aps"]["badge"] == unread == 2
    first, second = fcm.for_token(tablet)
    assert first["message"]["data"]["message_id"] == missed.id
    assert first["message"]["data"]["badge"] == "2"
    assert second["message"]["data"]["message_id"] == later.id
    assert await device_ids(server, bob_token) == [], "disable without a node forgets all"


async def test_bad_requests_and_other_users_disables_change_nothing(
    server: TestServer, apns: FakeAPNs, fcm: FakeFCM
) -> None:
    """Malformed enables get bad-request, an unknown app server not-acceptable, and the
    stream stays open; another user's disable (same app or another app) of the same
    node leaves the registration in place."""
    app = await push_app(server, apns, fcm)
    _, bob, bob_token = await server.new_user(app, password=PASSWORD)
    _, carol, _ = await server.new_user(app, password=PASSWORD)
    _, dave, _ = await server.new_user(password=PASSWORD)  # another app
    token = secrets.token_hex(32)
    good = {"platform": "apns", "token": token}
    async with Listener(server.core) as xmpp:
        b = await connect(Client(jid(bob), PASSWORD), xmpp.port)
        c = await connect(Client(jid(carol), PASSWORD), xmpp.port)
        d = await connect(Client(jid(dave), PASSWORD), xmpp.port)
        try:
            conditions = {
                "no node": await refused(enable_iq(b, good, node=None)),
                "no jid": await refused(enable_iq(b, good, service=None)),
                "bad jid": await refused(enable_iq(b, good, service="@@/")),
                "no form": await refused(enable_iq(b, None)),
                "form not submitted": await refused(enable_iq(b, good, form_type="form")),
                "no platform": await refused(enable_iq(b, {"token": token})),
                "bad platform": await refused(enable_iq(b, {**good, "platform": "sms"})),
                "not hex": await refused(enable_iq(b, {**good, "token": "<script>"})),
                "no token": await refused(enable_iq(b, {"platform": "fcm"})),
                "bad environment": await refused(enable_iq(b, {**good, "environment": "x"})),
                "long node": await refused(enable_iq(b, good, node="n" * 500)),
                "other app server": await refused(enable_iq(b, good, service="p2.example")),
            }
            two_forms = enable_iq(b, good)
            two_forms.xml[0].append(two_forms.xml[0][0])
            conditions["two forms"] = await refused(two_forms)
            wrong_type = enable_iq(b, good)
            wrong_type.xml[0][0][0][0].text = "urn:example:other"
            conditions["wrong FORM_TYPE"] = await refused(wrong_type)
            as_get = enable_iq(b, good)
            as_get["type"] = "get"
            conditions["get"] = await refused(as_get)
            after_bad = await device_ids(server, bob_token)
            await b.plugin["xep_0199"].ping(timeout=10)  # the stream is still open

            await enable_iq(b, good).send(timeout=10)
            for other in (c, d):
                await disable(other, "node-1")
                await disable(other)
            kept = await device_ids(server, bob_token)
        finally:
            await close(b, c, d)
    print(f"\nrefusals: {conditions}")
    expected = {name: "bad-request" for name in conditions}
    expected["other app server"] = "not-acceptable"
    assert conditions == expected
    assert after_bad == [], "nothing was registered by a refused enable"
    assert kept == [f"xmpp-push:{COMPONENT}/node-1"], "others cannot disable bob's push"
