"""The admin panel at ``/admin``: an app admin in Debian's Chromium (playwright-core,
as the console's browser tests drive it) sets the service desk, APNs credentials
and a chat-alert template, creates a broadcast and posts to it, and replays a dead
push; then an offline user's next push reaches the local APNs with the template's
text. Plain HTTP tests check that an admin of one app can touch nothing of another
and that bad input is refused with a reason and changes nothing.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from tests.conftest import TestServer
from tests.integration.browser import HARNESS, ROOT, run_flow
from tests.integration.delivery_fakes import FakeAPNs, eventually
from tests.integration.test_delivery_push import outbox_states, with_device
from tidings.domain.models import Actor, App
from tidings.store import dialogs as dialogs_store
from tidings.store import outbox as outbox_store

PASSWORD = "admin-password-1"


async def admin_of(server: TestServer, app: App) -> str:
    """An admin account of ``app``; returns its login."""
    login = f"boss-{secrets.token_hex(4)}@example.com"
    await server.core.users.create_user(
        app.id, login=login, email=login, password=PASSWORD, full_name="Boss", role="admin"
    )
    return login


class Conversation(NamedTuple):
    """Alice writes to Bob, who is offline with an APNs device."""

    alice: Any
    bob: Any
    bob_token: str
    dialog_id: str
    dead_id: int


async def dead_push(server: TestServer, app: App, text: str) -> Conversation:
    """A message to an offline user while the app has no APNs key: the push goes dead
    at once (the provider cannot sign in), with that reason."""
    _app, _alice, alice = await server.new_client(app, full_name="Alice Liddell")
    bob, token = await with_device(server, app)
    dialog = await alice.create_dialog("private", [bob.user.id])
    await alice.send_message(dialog.id, text)
    await eventually(
        lambda: _dead_count(server, app), what="the push to go dead (no APNs credentials)"
    )
    async with server.core.db.read() as conn:
        (row,) = await outbox_store.list_rows(conn, states=("dead",), app_id=app.id)
    return Conversation(alice, bob, token, dialog.id, row.id)


async def _dead_count(server: TestServer, app: App) -> bool:
    return (await outbox_states(server, app)).get("dead", 0) == 1


@pytest.mark.slow
async def test_admin_configures_the_app_in_the_browser(
    server: TestServer, apns: FakeAPNs, tmp_path: Path
) -> None:
    app = await server.new_app("Acme Admin")
    # Where APNs is (the local stand-in and its CA): an operator's deployment detail,
    # not shown on the panel. The credentials come from the browser.
    endpoint = {k: apns.app_config()[k] for k in ("url", "sandbox_url", "ca_file")}
    # An operator's app (`tidings app update APP_ID --operator`): its admins make apps.
    app = await server.core.apps.update_app(app.id, config={"apns": endpoint, "operator": True})
    login = await admin_of(server, app)
    talk = await dead_push(server, app, "sent before the key was set")
    token = talk.bob_token

    wanted = os.environ.get("TIDINGS_SCREENSHOTS") == "1" and server.backend == "sqlite"
    result = await run_flow(
        HARNESS / "admin_flow.mjs",
        {
            "BASE_URL": server.base_url,
            "ADMIN_LOGIN": login,
            "ADMIN_PASSWORD": PASSWORD,
            "APNS_KEY": apns.key_pem,
            "APNS_KEY_ID": apns.key_id,
            "APNS_TEAM_ID": apns.team_id,
            "APNS_BUNDLE": apns.topic,
            "DEAD_ID": str(talk.dead_id),
            "NEW_APP": "Acme Two",
            "NEW_ADMIN": "second-admin",
            "NEW_PASSWORD": "second-password-1",
            "SCREENSHOT_DIR": str(ROOT / "docs" / "screenshots") if wanted else "",
        },
        limit=120,
    )
    steps = result["steps"]

    assert steps["signed_in"]["refused"] == "Wrong login or password."
    assert steps["signed_in"]["dead"] == "1"
    desk = steps["desk_saved"]
    assert "webhook URL must be an http:// or https:// URL" in desk["deskError"]
    assert desk["keptWelcome"] == "Hello from the admin panel!", "the refused form kept the input"
    assert desk["auth_url"] == "https://auth.example.com/check"
    assert steps["apns_saved"]["bundle"] == apns.topic
    assert "empty" in steps["template_saved"]["emptyError"]
    assert steps["template_saved"]["example"] == "Alice Liddell wrote: are you there?"
    assert steps["broadcast_posted"]["last"] == "Maintenance tonight at 22:00"
    assert "APNs not configured" in steps["replayed"]["reason"]
    assert steps["replayed"]["still_dead"] == 0

    # What the browser saved is the app's configuration.
    saved = await server.core.apps.get_app(app.id)
    assert saved.auth_url == "https://auth.example.com/check"
    assert saved.webhook_url == "https://hooks.example.com/desk"
    assert saved.config["welcome_message"] == "Hello from the admin panel!"
    assert saved.config["agent_name"] == "Acme Support"
    assert saved.config["apns"]["team_id"] == apns.team_id
    assert saved.config["apns"]["url"] == apns.url, "fields the panel does not show survive"

    # The replayed push now goes out with the credentials set in the browser ...
    await eventually(lambda: len(apns.for_token(token)) == 1, what="the replayed push")
    replayed = apns.for_token(token)[0]["payload"]["aps"]["alert"]
    assert replayed["body"] == "sent before the key was set", "queued before the template"
    # ... and the next message's push carries the template's text.
    sent = await talk.alice.send_message(talk.dialog_id, "second thoughts")
    await eventually(lambda: len(apns.for_token(token)) == 2, what="the templated push")
    push = apns.for_token(token)[1]["payload"]
    assert push["message_id"] == sent.id
    assert push["aps"]["alert"] == {
        "title": "Alice Liddell",
        "body": "Alice Liddell wrote: second thoughts",
    }

    # The app made in the browser exists, and its first admin signs in to it.
    made = await server.core.apps.get_app(int(steps["app_created"]["id"]))
    assert made.name == "Acme Two" and steps["app_created"]["heading"] == "Acme Two is ready"
    assert made.config.get("operator") is None, "operators are made by the CLI only"
    second = await server.core.auth.login(made.id, "second-admin", "second-password-1")
    assert (await server.core.auth.authenticate(second.token)).is_admin

    # Bob, a user of the app, is in the broadcast and has its message.
    (broadcast,) = (await talk.bob.list_dialogs(type="broadcast")).items
    assert broadcast.id == steps["broadcast_posted"]["dialogId"]
    assert broadcast.last_message_text == "Maintenance tonight at 22:00"


# -- plain HTTP ------------------------------------------------------------------


class Admin:
    """An admin's browser without the browser: a cookie jar and the form token."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    @classmethod
    async def sign_in(cls, server: TestServer, login: str) -> Admin:
        client = httpx.AsyncClient(base_url=server.base_url)
        answer = await client.post("/admin/login", data={"login": login, "password": PASSWORD})
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/overview"
        admin = cls(client)
        page = await client.get("/admin/settings")
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert found, page.text
        admin.csrf = found.group(1)
        return admin

    async def post(self, path: str, **form: str) -> httpx.Response:
        return await self.client.post(path, data={"csrf": self.csrf, **form})

    async def aclose(self) -> None:
        await self.client.aclose()


def alert(page: httpx.Response) -> str:
    found = re.search(r'role="alert">([^<]*)<', page.text)
    return found.group(1) if found else ""


async def test_an_admin_cannot_touch_another_apps_rows(server: TestServer) -> None:
    app_a, app_b = await server.new_app("A"), await server.new_app("B")
    admin = await Admin.sign_in(server, await admin_of(server, app_a))
    try:
        # App B: a user, a broadcast, a dead push.
        login_b = await admin_of(server, app_b)
        b_admin = await Admin.sign_in(server, login_b)
        await b_admin.post("/admin/broadcasts", name="B news")
        b_page = await b_admin.client.get("/admin/broadcasts")
        b_dialog = re.search(r'data-dialog-id="([0-9a-f]{24})"', b_page.text)
        assert b_dialog is not None
        talk = await dead_push(server, app_b, "to B")
        bob, b_dead = talk.bob, talk.dead_id
        bob_actor = Actor(app_b.id, bob.user.id)
        await b_admin.aclose()

        for path, form in (
            (f"/admin/people/{bob.user.id}/delete", {}),
            (f"/admin/people/{bob.user.id}/deactivate", {}),
            (f"/admin/people/{bob.user.id}/password", {"password": "taken-over-1"}),
            (f"/admin/broadcasts/{b_dialog.group(1)}/messages", {"body": "hijack"}),
            (f"/admin/outbox/{b_dead}/replay", {}),
        ):
            answer = await admin.post(path, **form)
            assert answer.status_code == 404, (path, answer.status_code)
        # "Replay all" moves only A's rows; the listing shows none of B's.
        assert (await admin.post("/admin/outbox/replay")).status_code == 303
        outbox_page = await admin.client.get("/admin/outbox")
        assert f'data-outbox-id="{b_dead}"' not in outbox_page.text
        people = await admin.client.get("/admin/people", params={"q": bob.user.login})
        assert f'data-user-id="{bob.user.id}"' not in people.text
        assert "Nobody matches." in people.text

        # B's rows are as they were: the user signs in, the dead push is dead.
        assert (await server.core.users.get_user(bob_actor, bob.user.id)).id == bob.user.id
        assert (await outbox_states(server, app_b)).get("dead") == 1
        await server.core.auth.login(app_b.id, bob.user.login, "correct horse")
        broadcast = await server.core.dialogs.get_dialog(bob_actor, b_dialog.group(1))
        assert broadcast.last_message_text is None
    finally:
        await admin.aclose()


async def test_agents_and_users_cannot_sign_in_to_the_admin_panel(server: TestServer) -> None:
    app = await server.new_app()
    agent = f"agent-{secrets.token_hex(4)}@example.com"
    await server.core.users.create_user(
        app.id, login=agent, email=agent, password=PASSWORD, role="agent"
    )
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answer = await client.post("/admin/login", data={"login": agent, "password": PASSWORD})
        assert answer.status_code == 403
        assert "agent, not an app admin" in alert(answer)
        assert "tidings_admin" not in client.cookies
        assert (await client.get("/admin/outbox")).headers["location"] == "/admin/login"
        _app, user, _token = await server.new_user(app, password=PASSWORD)
        answer = await client.post("/admin/login", data={"login": user.login, "password": PASSWORD})
        assert answer.status_code == 401 and "tidings_admin" not in client.cookies


async def test_bad_input_is_refused_with_a_reason_and_saves_nothing(server: TestServer) -> None:
    app = await server.new_app("Careful")
    admin = await Admin.sign_in(server, await admin_of(server, app))
    _app, carol, _token = await server.new_user(app)
    try:
        cases = (
            ("/admin/settings/desk", {"webhook_url": "javascript:alert(1)"}, "webhook URL"),
            ("/admin/settings/desk", {"auth_url": "https://"}, "authorization service URL"),
            ("/admin/settings/fcm", {"service_account": "{not json"}, "is not JSON"),
            ("/admin/settings/fcm", {"service_account": '{"project_id": "p"}'}, "lacks"),
            ("/admin/settings/fcm", {"service_account": "[1, 2]"}, "JSON object"),
            ("/admin/settings/apns", {"key": "-----BEGIN PRIVATE KEY-----\nAAAA"}, "PEM"),
            ("/admin/settings/apns", {"environment": "staging"}, "environment"),
            ("/admin/settings/gms", {"enabled": "1", "services": "a b"}, "callback services"),
            (
                "/admin/settings/gms",
                {"enabled": "1", "services": "x", "expire_after_s": "-1"},
                "expire",
            ),
            ("/admin/alerts", {"template": "   "}, "empty"),
            ("/admin/alerts", {"template": "{sender} {msg}"}, "unknown placeholder {msg}"),
            ("/admin/alerts", {"template": "x" * 501}, "at most 500"),
            ("/admin/broadcasts", {"name": " "}, "needs a name"),
            (f"/admin/people/{carol.id}/password", {"password": "short"}, "at least 8"),
        )
        for path, form, reason in cases:
            answer = await admin.post(path, **form)
            assert answer.status_code == 400, (path, answer.status_code)
            assert reason in alert(answer), (path, alert(answer))
        for path in ("/admin/settings/nothing", "/admin/outbox/999999999/replay"):
            assert (await admin.post(path)).status_code == 404

        # Forms without this session's token, or from another site, are refused.
        no_token = await admin.client.post("/admin/alerts", data={"template": "{message}"})
        assert no_token.status_code == 403
        cross_site = await admin.client.post(
            "/admin/alerts",
            data={"csrf": admin.csrf, "template": "{message}"},
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403

        unchanged = await server.core.apps.get_app(app.id)
        assert unchanged.config == app.config == {}
        assert unchanged.auth_url is None and unchanged.webhook_url is None
        assert unchanged.auth_key == app.auth_key
        async with server.core.db.read() as conn:
            assert await dialogs_store.broadcast_dialog_ids(conn, app.id) == []

        # A good template and a key rotation do save.
        saved = await admin.post("/admin/alerts", template="{sender}: {message}")
        assert saved.status_code == 303
        rotated = await admin.post("/admin/settings/keys/rotate")
        assert rotated.status_code == 303
        after = await server.core.apps.get_app(app.id)
        assert after.config["chat_alerts"] == {"template": "{sender}: {message}"}
        assert after.auth_key != app.auth_key and after.auth_secret != app.auth_secret
    finally:
        await admin.aclose()


async def test_the_overview_counts_this_apps_traffic(server: TestServer) -> None:
    app = await server.new_app("Busy")
    admin = await Admin.sign_in(server, await admin_of(server, app))
    try:
        await dead_push(server, app, "one")
        numbers = (await admin.client.get("/admin/overview/numbers")).text
        assert re.search(r'id="messages-minute">1<', numbers), numbers
        assert re.search(r'id="outbox-dead" href="/admin/outbox">1<', numbers), numbers
        assert 'id="conn-realtime">' in numbers
    finally:
        await admin.aclose()


async def test_only_an_operators_admins_make_apps(server: TestServer) -> None:
    """The Apps page is an operator's: another admin gets a 403 and no link; a refused
    form (no admin, a short password, no name) leaves no app behind."""
    plain, operator = await server.new_app("Plain"), await server.new_app("Operator")
    await server.core.apps.update_app(operator.id, config={"operator": True})
    admin = await Admin.sign_in(server, await admin_of(server, plain))
    boss = await Admin.sign_in(server, await admin_of(server, operator))
    try:
        overview = await admin.client.get("/admin/overview")
        assert 'href="/admin/apps"' not in overview.text
        assert (await admin.client.get("/admin/apps")).status_code == 403
        refused = await admin.post(
            "/admin/apps", name="Sneaky", admin_login="x", admin_password="y" * 12
        )
        assert refused.status_code == 403
        before = len(await server.core.apps.list_apps())
        for form, reason in (
            ({"name": "No admin", "admin_login": "", "admin_password": "long-enough-1"}, "admin"),
            ({"name": "Short", "admin_login": "boss-two", "admin_password": "short"}, "password"),
            ({"name": " ", "admin_login": "boss-two", "admin_password": "long-enough-1"}, "name"),
        ):
            answer = await boss.post("/admin/apps", **form)
            assert answer.status_code == 400 and reason in alert(answer), (form, alert(answer))
        after = await server.core.apps.list_apps()
        print(f"apps before {before}, after the refused forms {len(after)}")
        assert len(after) == before and not any(a.name == "Short" for a in after)
        made = await boss.post(
            "/admin/apps", name="Fresh", admin_login="boss-two", admin_password="long-enough-1"
        )
        assert made.status_code == 303 and made.headers["location"].startswith("/admin/apps?")
        listing = await boss.client.get(made.headers["location"])
        assert "Fresh is ready" in listing.text and 'href="/admin/apps"' in listing.text
    finally:
        await admin.aclose()
        await boss.aclose()
