"""Pushes end to end: messages sent over REST reach a local APNs (HTTP/2, TLS, ES256
provider tokens) and a local FCM (OAuth2 JWT bearer grant, HTTP v1) exactly when
they should, with the server's unread count as the badge."""

from __future__ import annotations

import secrets
from typing import Any

from tests.conftest import TestServer
from tests.helpers import expect_error
from tests.integration.delivery_fakes import FakeAPNs, FakeFCM, eventually
from tidings.client.realtime import RealtimeConnection
from tidings.domain.models import App
from tidings.store import outbox_claims


async def push_app(server: TestServer, apns: Any, fcm: FakeFCM) -> App:
    app = await server.new_app("push app")
    return await server.core.apps.update_app(
        app.id,
        config={
            "apns": apns.app_config(),
            "fcm": {"credentials": fcm.credentials(), "url": fcm.root},
        },
    )


async def with_device(server: TestServer, app: App, platform: str = "apns") -> tuple[Any, str]:
    """A user with a registered device (over REST); returns (client, token)."""
    _app, user, client = await server.new_client(app)
    token = secrets.token_hex(32) if platform == "apns" else "fcm-" + secrets.token_urlsafe(40)
    device = await client.request(
        "POST",
        "/devices",
        json={"platform": platform, "token": token, "device_id": f"phone-{user.id}"},
    )
    assert device["token"] == token and device["platform"] == platform
    client.user = user
    return client, token


async def outbox_states(server: TestServer, app: App) -> dict[str, int]:
    async with server.core.db.read() as conn:
        return await outbox_claims.count_by_state(conn, app.id)


async def settled(server: TestServer, app: App) -> dict[str, int]:
    """Every outbox row of the app finished (delivered or dead)."""

    async def check() -> dict[str, int] | None:
        states = await outbox_states(server, app)
        return states if not states.get("queued") and not states.get("sending") else None

    return await eventually(check, what="outbox settled")


async def test_offline_recipient_of_a_private_message_gets_one_push_with_badge(
    server: TestServer, apns: FakeAPNs, fcm: FakeFCM
) -> None:
    app = await push_app(server, apns, fcm)
    _app, alice, alice_client = await server.new_client(app, full_name="Alice Liddell")
    bob, token = await with_device(server, app)
    dialog = await alice_client.create_dialog("private", [bob.user.id])
    first = await alice_client.send_message(dialog.id, "hello Bob")
    second = await alice_client.send_message(dialog.id, "are you there?")

    await eventually(lambda: len(apns.for_token(token)) >= 2, what="two pushes")
    assert await settled(server, app) == {"delivered": 2}
    pushes = apns.for_token(token)
    assert len(pushes) == 2, "exactly one push per message"
    by_message = {p["payload"]["message_id"]: p for p in pushes}
    assert by_message[first.id]["payload"]["aps"]["badge"] == 1
    assert by_message[second.id]["payload"]["aps"]["badge"] == 2
    assert (await bob.unread()).total == 2, "badge = the server's unread total"
    push = by_message[second.id]
    assert push["payload"]["aps"]["alert"] == {"title": "Alice Liddell", "body": "are you there?"}
    assert push["payload"]["dialog_id"] == dialog.id
    assert push["headers"]["apns-push-type"] == "alert"
    assert push["headers"]["apns-priority"] == "10"
    assert push["headers"]["apns-topic"] == apns.topic
    assert push["headers"]["apns-collapse-id"].startswith(f"push:{second.id}:")
    assert alice.id != bob.user.id


async def test_group_pushes_go_to_offline_members_only_on_both_providers(
    server: TestServer, apns: FakeAPNs, fcm: FakeFCM
) -> None:
    app = await push_app(server, apns, fcm)
    _app, _alice, alice_client = await server.new_client(app, full_name="Alice")
    bob, bob_token = await with_device(server, app, "apns")
    carol, carol_token = await with_device(server, app, "fcm")
    dave, dave_token = await with_device(server, app, "apns")
    group = await alice_client.create_dialog(
        "group", [bob.user.id, carol.user.id, dave.user.id], name="Tea party"
    )
    # Carol already has one unread message elsewhere: her badge counts both.
    other = await alice_client.create_dialog("private", [carol.user.id])
    await alice_client.send_message(other.id, "psst", silent=True)

    async with RealtimeConnection.connect(server.ws_url, dave.token) as _live:
        sent = await alice_client.send_message(group.id, "cake at five")
        await settled(server, app)

    assert [p["payload"]["message_id"] for p in apns.for_token(bob_token)] == [sent.id]
    assert apns.for_token(bob_token)[0]["payload"]["aps"]["badge"] == 1
    assert apns.for_token(bob_token)[0]["payload"]["aps"]["alert"]["subtitle"] == "Tea party"
    assert apns.for_token(dave_token) == [], "a connected member gets no push"
    [carol_push] = fcm.for_token(carol_token)
    message = carol_push["message"]
    assert message["notification"] == {"title": "Alice", "body": "cake at five"}
    assert message["data"]["message_id"] == sent.id
    assert message["data"]["badge"] == "2"
    assert message["android"]["notification"]["notification_count"] == 2
    assert await outbox_states(server, app) == {"delivered": 2}


async def test_silent_messages_and_muted_dialogs_push_nothing(
    server: TestServer, apns: FakeAPNs, fcm: FakeFCM
) -> None:
    app = await push_app(server, apns, fcm)
    _app, _alice, alice_client = await server.new_client(app)
    bob, bob_token = await with_device(server, app)
    muted = await alice_client.create_dialog("group", [bob.user.id], name="noisy")
    await bob.set_muted(muted.id, True)
    direct = await alice_client.create_dialog("private", [bob.user.id])

    await alice_client.send_message(muted.id, "in a muted dialog")
    await alice_client.send_message(direct.id, "quietly", silent=True)
    assert await outbox_states(server, app) == {}, "nothing was queued"
    barrier = await alice_client.send_message(direct.id, "out loud")
    await settled(server, app)
    assert [p["payload"]["message_id"] for p in apns.for_token(bob_token)] == [barrier.id]
    assert apns.for_token(bob_token)[0]["payload"]["aps"]["badge"] == 3


async def test_unregistered_tokens_are_removed(
    server: TestServer, apns: FakeAPNs, fcm: FakeFCM
) -> None:
    app = await push_app(server, apns, fcm)
    _app, _alice, alice_client = await server.new_client(app)
    bob, bob_token = await with_device(server, app, "apns")
    carol, carol_token = await with_device(server, app, "fcm")
    apns.unregistered.add(bob_token)
    fcm.unregistered.add(carol_token)
    group = await alice_client.create_dialog("group", [bob.user.id, carol.user.id], name="g")
    await alice_client.send_message(group.id, "anyone?")

    assert await settled(server, app) == {"dead": 2}
    assert (await bob.request("GET", "/devices"))["items"] == [], "410 removed the APNs token"
    assert (await carol.request("GET", "/devices"))["items"] == [], "UNREGISTERED removed it"
    async with server.core.db.read() as conn:
        rows = await outbox_claims.get_rows(conn, app_id=app.id)
    errors = sorted(r.last_error for r in rows)
    assert errors[0].startswith("APNs 410 Unregistered") and "UNREGISTERED" in errors[1]


async def test_throttled_and_failing_apns_is_retried_until_delivered(
    server: TestServer, apns: FakeAPNs, fcm: FakeFCM
) -> None:
    app = await push_app(server, apns, fcm)
    _app, _alice, alice_client = await server.new_client(app)
    bob, bob_token = await with_device(server, app)
    apns.failures[bob_token] = [429, 503, 500]
    dialog = await alice_client.create_dialog("private", [bob.user.id])
    sent = await alice_client.send_message(dialog.id, "persistence")
    assert await settled(server, app) == {"delivered": 1}
    assert [p["payload"]["message_id"] for p in apns.for_token(bob_token)] == [sent.id]
    async with server.core.db.read() as conn:
        [row] = await outbox_claims.get_rows(conn, app_id=app.id)
    assert row.attempts == 4


async def test_push_events_reach_chosen_users_once(
    server: TestServer, apns: FakeAPNs, fcm: FakeFCM
) -> None:
    app = await push_app(server, apns, fcm)
    _app, _alice, alice_client = await server.new_client(app)
    bob, bob_token = await with_device(server, app)
    carol, carol_token = await with_device(server, app, "fcm")
    event = {
        "user_ids": [bob.user.id, carol.user.id],
        "title": "Incoming call",
        "body": "Alice is calling",
        "data": {"call_id": "c1"},
        "event_id": "call-c1",
    }
    assert await alice_client.request("POST", "/push/events", json=event) == {"queued": 2}
    assert await alice_client.request("POST", "/push/events", json=event) == {"queued": 0}
    assert await settled(server, app) == {"delivered": 2}
    [bob_push] = apns.for_token(bob_token)
    assert bob_push["payload"]["call_id"] == "c1"
    assert bob_push["payload"]["aps"]["alert"]["title"] == "Incoming call"
    [carol_push] = fcm.for_token(carol_token)
    assert carol_push["message"]["data"]["call_id"] == "c1"


async def test_devices_registry_over_rest(server: TestServer) -> None:
    app, _user, client = await server.new_client()
    token = secrets.token_hex(32)
    body = {"platform": "apns", "token": token, "device_id": "ipad", "environment": "development"}
    await client.request("POST", "/devices", json=body)
    await client.request("POST", "/devices", json={**body, "token": token[::-1]})
    [device] = (await client.request("GET", "/devices"))["items"]
    assert device["token"] == token[::-1] and device["environment"] == "development"
    # The same phone registered by someone else moves to them.
    _app, _other, other_client = await server.new_client(app)
    await other_client.request("POST", "/devices", json={**body, "token": token[::-1]})
    assert (await client.request("GET", "/devices"))["items"] == []
    await other_client.request("DELETE", "/devices/ipad")
    assert (await other_client.request("GET", "/devices"))["items"] == []
    await expect_error(
        other_client.request("POST", "/devices", json={**body, "token": "not hex!"}),
        400,
        "invalid_input",
    )
