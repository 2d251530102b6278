"""The BOLA matrix: every endpoint of every non-GMS gateway, tried with someone else's ids.

ARCHITECTURE, "Every request names its tenant": a gateway resolves (app, caller) from
the request's own credentials and checks every id it is handed against that caller.

The victim is everything of app 1's user *alice*: a group dialog with dave, a
message in it with a private file attached, a private dialog, a public file, a push
device, a privacy list, a contact request, a ConnectyCube blob, push subscription
and external id; a service-desk ticket of one anonymous phone with an attachment,
and a GMS chat and callback of app 1 for the console. The attackers are *bob*
(app 1, in none of alice's dialogs), *carol* (app 2), a second phone of app 1, a
phone of app 2 and an agent of app 2. Each case must be refused (403/404, or the
protocol's own refusal) or answer nothing of the victim's; afterwards the victim's
data is unchanged. GMS and Bayeux have a matrix of their own.

``test_every_route_is_in_the_matrix`` walks the route tables of the native API,
ConnectyCube, the service desk and the console, and fails for a route the matrix
neither tries nor exempts with a reason, so a new endpoint cannot slip by unchecked.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.integration.servicedesk_sdk import DeskDevice
from tidings.client import RealtimeConnection
from tidings.client.realtime import RealtimeError
from tidings.domain.ids import new_id
from tidings.domain.models import App, User

PASSWORD = "correct horse"
#: What a refusal looks like: "not yours" or "not there", never which of the two.
REFUSED = frozenset({403, 404})


# -- the world -------------------------------------------------------------------------


@dataclass
class World:
    server: Any
    http: httpx.AsyncClient
    secret: str
    app1: App
    app2: App
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    cube: dict[str, str] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)
    desk: dict[str, DeskDevice] = field(default_factory=dict)
    console: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        """Strings only the victim's side may ever see (names, bodies, tokens)."""
        return [self.secret]

    @property
    def victim_ids(self) -> list[str]:
        keys = ("group", "private", "message", "file_uid", "blob_uid")
        return [str(self.ids[k]) for k in keys]

    def native(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def cb(self, who: str) -> dict[str, str]:
        return {"CB-Token": self.cube[who]}


async def _ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json() if response.content else None


async def _cube_session(w: World, app: App, login: str) -> str:
    body = {
        "application_id": app.id,
        "auth_key": app.auth_key,
        "user": {"login": login, "password": PASSWORD},
    }
    reply = await _ok(await w.http.post("/connectycube/session.json", json=body), 201)
    return reply["session"]["token"]


async def _build(server: Any, http: httpx.AsyncClient) -> World:
    tag = secrets.token_hex(3)
    secret = f"s3cr3t{secrets.token_hex(6)}"
    app1 = await server.new_app(f"victim app {tag}")
    app1 = await server.core.apps.update_app(
        app1.id, config={"gms": {"callback_services": ["callback-for-mobile"]}}
    )
    app2 = await server.new_app(f"attacker app {tag}")
    w = World(server, http, secret, app1, app2)
    for name, app in (("alice", app1), ("bob", app1), ("dave", app1), ("carol", app2)):
        _, user, token = await server.new_user(app, login=f"{name}-{tag}", full_name=name)
        w.users[name], w.tokens[name] = user, token
    w.users["erin"] = (await server.new_user(app2, login=f"erin-{tag}"))[1]
    alice, dave = w.users["alice"], w.users["dave"]
    a = w.native("alice")

    # alice, over the native API
    await _ok(await http.patch("/api/v1/users/me", json={"email": f"{secret}@x.test"}, headers=a))
    group = await _ok(
        await http.post(
            "/api/v1/dialogs",
            json={"type": "group", "name": f"{secret} group", "occupant_ids": [dave.id]},
            headers=a,
        )
    )
    private = await _ok(
        await http.post(
            "/api/v1/dialogs", json={"type": "private", "occupant_ids": [dave.id]}, headers=a
        )
    )
    # Public: every user of app 1 may see and join it, nobody of app 2.
    public_dialog = await _ok(
        await http.post(
            "/api/v1/dialogs", json={"type": "public", "name": f"open {tag}"}, headers=a
        )
    )
    file = await _ok(
        await http.post(
            "/api/v1/files", params={"name": f"{secret}.txt"}, content=b"private bytes", headers=a
        )
    )
    public = await _ok(
        await http.post(
            "/api/v1/files",
            params={"name": "logo.png", "public": "true"},
            content=b"\x89PNG public",
            headers=a,
        )
    )
    avatar = await _ok(
        await http.post(
            "/api/v1/files",
            params={"name": "agent.png", "public": "true"},
            content=b"\x89PNG agent avatar",
            headers=a,
        )
    )
    await server.core.apps.update_app(app1.id, config={"agent_avatar_id": avatar["id"]})
    message = await _ok(
        await http.post(
            f"/api/v1/dialogs/{group['id']}/messages",
            json={"body": f"{secret} message", "attachments": [{"file_id": file["uid"]}]},
            headers=a,
        )
    )
    await http.post(f"/api/v1/dialogs/{private['id']}/messages", json={"body": "hi"}, headers=a)
    device_id = f"alice-phone-{tag}"
    await _ok(
        await http.post(
            "/api/v1/devices",
            json={"platform": "fcm", "token": f"{secret}-fcm", "device_id": device_id},
            headers=a,
        )
    )
    await _ok(
        await http.put(
            f"/api/v1/privacy/lists/alice-list-{tag}",
            json={"items": [{"user_id": w.users["bob"].id}]},
            headers=a,
        )
    )
    await _ok(await http.post("/api/v1/contacts", json={"user_id": dave.id}, headers=a), 201)
    w.ids.update(
        group=group["id"],
        private=private["id"],
        public=public_dialog["id"],
        message=message["id"],
        file_uid=file["uid"],
        file_id=file["id"],
        public_file_id=public["id"],
        avatar_id=avatar["id"],
        device_id=device_id,
        privacy_list=f"alice-list-{tag}",
    )

    # alice, over ConnectyCube
    for name in ("alice", "bob", "carol"):
        app = app2 if name == "carol" else app1
        w.cube[name] = await _cube_session(w, app, w.users[name].login)
    for name, app in (("app1", app1), ("app2", app2)):  # application sessions, no user
        body = {"application_id": app.id, "auth_key": app.auth_key}
        reply = await _ok(await http.post("/connectycube/session.json", json=body), 201)
        w.cube[name] = reply["session"]["token"]
    external = f"ext-{secret}"
    await _ok(
        await http.put(
            f"/connectycube/users/{alice.id}.json",
            json={"user": {"external_user_id": external}},
            headers=w.cb("alice"),
        )
    )
    blob = (
        await _ok(
            await http.post(
                "/connectycube/blobs.json",
                json={"blob": {"name": f"{secret}.bin", "content_type": "text/plain"}},
                headers=w.cb("alice"),
            ),
            201,
        )
    )["blob"]
    await _ok(
        await http.post(
            "/connectycube/blobs/upload",
            files={"key": (None, blob["uid"]), "file": ("b.bin", b"blob bytes", "text/plain")},
            headers=w.cb("alice"),
        ),
        201,
    )
    subscription = await _ok(
        await http.post(
            "/connectycube/subscriptions.json",
            json={
                "notification_channel": "gcm",
                "push_token": {"client_identification_sequence": f"{secret}-gcm"},
                "device": {"platform": "android", "udid": f"alice-cube-{tag}"},
            },
            headers=w.cb("alice"),
        ),
        201,
    )
    w.ids.update(
        external=external,
        blob_id=blob["id"],
        blob_uid=blob["uid"],
        subscription=subscription[0]["subscription"]["id"],
        cube_udid=f"alice-cube-{tag}",
    )

    # the attackers' own dialogs (for "my dialog, your message id")
    for name, partner in (("bob", "dave"), ("carol", "erin")):
        own = await _ok(
            await http.post(
                "/api/v1/dialogs",
                json={"type": "group", "name": f"{name}'s", "occupant_ids": [w.users[partner].id]},
                headers=w.native(name),
            )
        )
        w.ids[f"{name}_dialog"] = own["id"]

    # the service desk: phone A of app 1 has a ticket with an attachment
    base = server.base_url
    phone_a = DeskDevice(base, app1.desk_app_id)
    guid = await phone_a.upload("receipt.png", b"\x89PNG desk attachment")
    command = phone_a.create_comment(
        f"{secret} desk", attachments=[{"guid": guid, "type": 0, "name": "receipt.png"}]
    )
    (ticket,) = (await phone_a.sync(command))["tickets"]
    (comment,) = ticket["comments"]
    w.desk.update(
        a=phone_a,
        b=DeskDevice(base, app1.desk_app_id),
        c=DeskDevice(base, app2.desk_app_id),
    )
    await w.desk["c"].sync(w.desk["c"].create_comment("phone C's own question"))
    w.ids.update(
        ticket=ticket["ticket_id"], desk_file=comment["attachments"][0]["id"], desk_guid=guid
    )

    # GMS of app 1: a callback and a chat (a ticket) for the console matrix
    gms = {"apikey": app1.auth_key}
    callback = await _ok(
        await http.post(
            "/genesys/1/service/callback/callback-for-mobile",
            data={"_customer_number": "+15145550199"},
            headers={**gms, "gms_user": f"phone-{tag}"},
        )
    )
    chat = await _ok(
        await http.post(
            "/genesys/2/chat/customer-support",
            data={"firstName": "Ana", "subject": f"{secret} chat", "text": f"{secret} hello"},
            headers=gms,
        )
    )
    started, _ = await server.core.gms_chats.transcript(app1, chat["chatId"], 0)
    w.ids.update(callback=callback["_id"], gms_ticket=started.ticket_id)

    # an agent of app 2 in the console
    email = f"agent-{tag}@b.test"
    await server.core.users.create_user(
        app2.id, login=email, password=PASSWORD, email=email, role="agent", full_name="Mo"
    )
    agent = httpx.AsyncClient(base_url=base, timeout=30)
    login = await agent.post("/console/login", data={"email": email, "password": PASSWORD})
    assert login.status_code == 303 and "tidings_console" in agent.cookies, login.text
    w.console["agent2"] = agent
    return w


@pytest.fixture(scope="module")
async def world(server: Any) -> Any:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        w = await _build(server, http)
        try:
            yield w
        finally:
            for device in w.desk.values():
                await device.aclose()
            for client in w.console.values():
                await client.aclose()


# -- verdicts ----------------------------------------------------------------------------


def refused(r: httpx.Response, w: World, *also: int) -> None:
    """403/404 (or a listed protocol refusal), and no victim text in the answer."""
    assert r.status_code in REFUSED | set(also), f"{r.status_code}: {r.text[:300]}"
    for text in w.texts:
        assert text not in r.text, f"refusal leaks {text!r}: {r.text[:300]}"


def nothing_of(r: httpx.Response, w: World, *, ids: bool = True) -> None:
    """A success that answers nothing of the victim's (no text, no id)."""
    assert r.status_code < 400, f"{r.status_code}: {r.text[:300]}"
    for value in w.texts + (w.victim_ids if ids else []):
        assert value not in r.text, f"answer leaks {value!r}: {r.text[:300]}"


# -- the matrix --------------------------------------------------------------------------

Attempt = Callable[[World, str], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    method: str
    route: str
    who: tuple[str, ...]
    attempt: Attempt

    @property
    def id(self) -> str:
        return f"{self.method} {self.route} {self.attempt.__name__}"


CASES: list[Case] = []
USERS = ("bob", "carol")  # the same app, another app
OTHER_APP = ("carol",)  # same-app users may see each other's profiles by design
#: ConnectyCube lets application sessions (no user) read users and files too.
READERS = ("bob", "carol", "app1", "app2")
READERS_OTHER_APP = ("carol", "app2")


def foreign_dialogs(w: World, who: str) -> list[str]:
    """The victim's dialogs the attacker may not see (public ones: only from app 2)."""
    out = [w.ids["group"], w.ids["private"]]
    return out + [w.ids["public"]] if who in ("carol", "app2") else out


def case(method: str, route: str, who: tuple[str, ...] = USERS) -> Callable[[Attempt], Attempt]:
    def register(attempt: Attempt) -> Attempt:
        CASES.append(Case(method, route, who, attempt))
        return attempt

    return register


#: Routes that take no id of anyone else's, and why.
EXEMPT = {
    ("GET", "/api/v1/sessions/current"): "the caller's own session",
    ("DELETE", "/api/v1/sessions/current"): "the caller's own session",
    ("GET", "/api/v1/users/me"): "the caller's own account",
    ("PATCH", "/api/v1/users/me"): "the caller's own account",
    ("DELETE", "/api/v1/users/me"): "the caller's own account",
    ("POST", "/api/v1/files"): "uploads a file of the caller's own",
    ("PUT", "/api/v1/privacy/active"): "names one of the caller's own lists (tried below too)",
    ("GET", "/connectycube/session.json"): "the caller's own session",
    ("DELETE", "/connectycube/session.json"): "the caller's own session",
    ("DELETE", "/connectycube/login.json"): "the caller's own session",
    ("POST", "/connectycube/users.json"): "creates a user in the app its key or session names",
    ("POST", "/connectycube/blobs.json"): "declares a blob of the caller's own",
    ("POST", "/servicedeskapi/v1/uploadfile"): "anonymous staging; a comment claims it",
    ("POST", "/servicedeskapi/v1/setpushtoken"): "the phone's own token",
    ("GET", "/servicedeskapi/v1/{rest:path}"): "404 for every unknown path",
    ("POST", "/servicedeskapi/v1/{rest:path}"): "404 for every unknown path",
    ("GET", "/console/"): "redirects to the caller's inbox or the login page",
    ("GET", "/console"): "redirects to the caller's inbox or the login page",
    ("GET", "/console/login"): "the login form",
    ("POST", "/console/login"): "credentials only",
    ("POST", "/console/logout"): "the caller's own session",
    ("WS", "/console/ws"): "tried by test_console_live_feed_is_per_app",
    ("WS", "/api/v1/ws"): "tried by test_realtime_actions_refuse_the_other_callers_ids",
}


# native REST: /api/v1 ---------------------------------------------------------------------


@case("POST", "/api/v1/sessions", OTHER_APP)
async def log_in_to_the_other_app(w: World, who: str) -> None:
    body = {"app_id": w.app1.id, "login": w.users[who].login, "password": PASSWORD}
    refused(await w.http.post("/api/v1/sessions", json=body), w, 401)


@case("POST", "/api/v1/users", OTHER_APP)
async def sign_up_with_my_apps_key(w: World, who: str) -> None:
    body = {"app_id": w.app1.id, "auth_key": w.app2.auth_key, "login": "x", "password": "x" * 9}
    refused(await w.http.post("/api/v1/users", json=body), w, 401)


@case("GET", "/api/v1/users", OTHER_APP)
async def list_users_by_id(w: World, who: str) -> None:
    r = await w.http.get(
        "/api/v1/users", params={"ids": str(w.users["alice"].id)}, headers=w.native(who)
    )
    nothing_of(r, w)
    assert w.users["alice"].login not in r.text
    r = await w.http.get("/api/v1/users", params={"q": "alice"}, headers=w.native(who))
    assert w.users["alice"].login not in r.text


@case("GET", "/api/v1/users/{user_id}", OTHER_APP)
async def get_user(w: World, who: str) -> None:
    r = await w.http.get(f"/api/v1/users/{w.users['alice'].id}", headers=w.native(who))
    refused(r, w)


@case("GET", "/api/v1/users/{user_id}/presence", OTHER_APP)
async def get_presence(w: World, who: str) -> None:
    r = await w.http.get(f"/api/v1/users/{w.users['alice'].id}/presence", headers=w.native(who))
    refused(r, w)


@case("GET", "/api/v1/dialogs")
async def list_dialogs(w: World, who: str) -> None:
    nothing_of(await w.http.get("/api/v1/dialogs", headers=w.native(who)), w)


@case("POST", "/api/v1/dialogs", OTHER_APP)
async def open_a_dialog_with_a_stranger(w: World, who: str) -> None:
    for kind in ("private", "group"):
        body = {"type": kind, "name": "hi", "occupant_ids": [w.users["alice"].id]}
        refused(await w.http.post("/api/v1/dialogs", json=body, headers=w.native(who)), w)


@case("GET", "/api/v1/dialogs/{dialog_id}")
async def get_dialog(w: World, who: str) -> None:
    for dialog in foreign_dialogs(w, who):
        refused(await w.http.get(f"/api/v1/dialogs/{dialog}", headers=w.native(who)), w)


@case("PATCH", "/api/v1/dialogs/{dialog_id}")
async def update_dialog(w: World, who: str) -> None:
    body = {"name": "pwned", "add_occupants": [w.users[who].id]}
    r = await w.http.patch(f"/api/v1/dialogs/{w.ids['group']}", json=body, headers=w.native(who))
    refused(r, w)


@case("PATCH", "/api/v1/dialogs/{dialog_id}", OTHER_APP)
async def pull_a_stranger_into_my_dialog(w: World, who: str) -> None:
    url = f"/api/v1/dialogs/{w.ids[who + '_dialog']}"
    r = await w.http.patch(
        url, json={"add_occupants": [w.users["alice"].id]}, headers=w.native(who)
    )
    refused(r, w)


@case("PATCH", "/api/v1/dialogs/{dialog_id}")
async def pin_a_foreign_message_in_my_dialog(w: World, who: str) -> None:
    url = f"/api/v1/dialogs/{w.ids[who + '_dialog']}"
    r = await w.http.patch(url, json={"pin": [w.ids["message"]]}, headers=w.native(who))
    refused(r, w)


@case("DELETE", "/api/v1/dialogs/{dialog_id}")
async def delete_dialog(w: World, who: str) -> None:
    for key in ("group", "private"):
        r = await w.http.delete(
            f"/api/v1/dialogs/{w.ids[key]}",
            params={"for_everyone": "true"},
            headers=w.native(who),
        )
        refused(r, w)


@case("PUT", "/api/v1/dialogs/{dialog_id}/subscription")
async def subscribe(w: World, who: str) -> None:
    for dialog in foreign_dialogs(w, who):
        r = await w.http.put(f"/api/v1/dialogs/{dialog}/subscription", headers=w.native(who))
        refused(r, w, 400)


@case("DELETE", "/api/v1/dialogs/{dialog_id}/subscription")
async def unsubscribe(w: World, who: str) -> None:
    r = await w.http.delete(f"/api/v1/dialogs/{w.ids['group']}/subscription", headers=w.native(who))
    refused(r, w, 400)


@case("GET", "/api/v1/dialogs/{dialog_id}/members")
async def list_members(w: World, who: str) -> None:
    r = await w.http.get(f"/api/v1/dialogs/{w.ids['group']}/members", headers=w.native(who))
    refused(r, w)


@case("GET", "/api/v1/dialogs/{dialog_id}/notifications")
async def get_notifications(w: World, who: str) -> None:
    r = await w.http.get(f"/api/v1/dialogs/{w.ids['group']}/notifications", headers=w.native(who))
    refused(r, w)


@case("PUT", "/api/v1/dialogs/{dialog_id}/notifications")
async def set_notifications(w: World, who: str) -> None:
    r = await w.http.put(
        f"/api/v1/dialogs/{w.ids['group']}/notifications",
        json={"muted": True},
        headers=w.native(who),
    )
    refused(r, w)


@case("GET", "/api/v1/unread")
async def unread_of_a_foreign_dialog(w: World, who: str) -> None:
    r = await w.http.get(
        "/api/v1/unread", params={"dialog_ids": w.ids["group"]}, headers=w.native(who)
    )
    assert r.status_code in REFUSED or r.json()["dialogs"] == {w.ids["group"]: 0}, r.text


@case("GET", "/api/v1/dialogs/{dialog_id}/messages")
async def read_history(w: World, who: str) -> None:
    for dialog in foreign_dialogs(w, who):
        r = await w.http.get(f"/api/v1/dialogs/{dialog}/messages", headers=w.native(who))
        refused(r, w)
    r = await w.http.get(
        f"/api/v1/dialogs/{w.ids[who + '_dialog']}/messages",
        params={"after_id": w.ids["message"]},
        headers=w.native(who),
    )
    refused(r, w)


@case("POST", "/api/v1/dialogs/{dialog_id}/messages")
async def post_into_a_foreign_dialog(w: World, who: str) -> None:
    r = await w.http.post(
        f"/api/v1/dialogs/{w.ids['group']}/messages", json={"body": "x"}, headers=w.native(who)
    )
    refused(r, w)


@case("POST", "/api/v1/dialogs/{dialog_id}/messages")
async def attach_a_foreign_file(w: World, who: str) -> None:
    """Attaching would grant the file to the attacker's dialog."""
    r = await w.http.post(
        f"/api/v1/dialogs/{w.ids[who + '_dialog']}/messages",
        json={"body": "mine now", "attachments": [{"file_id": w.ids["file_uid"]}]},
        headers=w.native(who),
    )
    refused(r, w)


@case("POST", "/api/v1/dialogs/{dialog_id}/messages")
async def reuse_a_foreign_message_id(w: World, who: str) -> None:
    """The victim's message id sent again: refused, never answered with the message."""
    r = await w.http.post(
        f"/api/v1/dialogs/{w.ids[who + '_dialog']}/messages",
        json={"id": w.ids["message"], "body": "same id"},
        headers=w.native(who),
    )
    refused(r, w, 409)


def _message_urls(w: World, who: str) -> list[str]:
    return [
        f"/api/v1/dialogs/{w.ids['group']}/messages/{w.ids['message']}",
        f"/api/v1/dialogs/{w.ids[who + '_dialog']}/messages/{w.ids['message']}",
    ]


@case("GET", "/api/v1/dialogs/{dialog_id}/messages/{message_id}")
async def get_message(w: World, who: str) -> None:
    for url in _message_urls(w, who):
        refused(await w.http.get(url, headers=w.native(who)), w)


@case("PATCH", "/api/v1/dialogs/{dialog_id}/messages/{message_id}")
async def edit_message(w: World, who: str) -> None:
    for url in _message_urls(w, who):
        refused(await w.http.patch(url, json={"body": "pwned"}, headers=w.native(who)), w)


@case("DELETE", "/api/v1/dialogs/{dialog_id}/messages/{message_id}")
async def delete_message(w: World, who: str) -> None:
    for url in _message_urls(w, who):
        r = await w.http.delete(url, params={"for_everyone": "true"}, headers=w.native(who))
        refused(r, w)


@case("POST", "/api/v1/dialogs/{dialog_id}/read")
async def mark_read(w: World, who: str) -> None:
    for dialog in (w.ids["group"], w.ids[who + "_dialog"]):
        r = await w.http.post(
            f"/api/v1/dialogs/{dialog}/read",
            json={"message_id": w.ids["message"]},
            headers=w.native(who),
        )
        refused(r, w)


@case("POST", "/api/v1/dialogs/{dialog_id}/delivered")
async def mark_delivered(w: World, who: str) -> None:
    for dialog in (w.ids["group"], w.ids[who + "_dialog"]):
        r = await w.http.post(
            f"/api/v1/dialogs/{dialog}/delivered",
            json={"message_id": w.ids["message"]},
            headers=w.native(who),
        )
        refused(r, w)


@case("POST", "/api/v1/dialogs/{dialog_id}/typing")
async def typing(w: World, who: str) -> None:
    r = await w.http.post(
        f"/api/v1/dialogs/{w.ids['group']}/typing", json={"typing": True}, headers=w.native(who)
    )
    refused(r, w)


@case("GET", "/api/v1/search")
async def search(w: World, who: str) -> None:
    nothing_of(await w.http.get("/api/v1/search", params={"q": w.secret}, headers=w.native(who)), w)
    r = await w.http.get(
        "/api/v1/search", params={"q": "message", "dialog_ids": w.ids["group"]},
        headers=w.native(who),
    )  # fmt: skip
    assert r.status_code in REFUSED or w.secret not in r.text, r.text


@case("GET", "/api/v1/contacts")
async def list_contacts(w: World, who: str) -> None:
    r = await w.http.get("/api/v1/contacts", headers=w.native(who))
    assert r.status_code == 200
    assert all(c["user_id"] != w.users["dave"].id for c in r.json()["items"]), r.text


@case("POST", "/api/v1/contacts", OTHER_APP)
async def request_a_stranger(w: World, who: str) -> None:
    body = {"user_id": w.users["alice"].id}
    refused(await w.http.post("/api/v1/contacts", json=body, headers=w.native(who)), w)


@case("POST", "/api/v1/contacts/{user_id}/confirm")
async def confirm_what_was_never_asked(w: World, who: str) -> None:
    r = await w.http.post(f"/api/v1/contacts/{w.users['alice'].id}/confirm", headers=w.native(who))
    refused(r, w, 409)


@case("POST", "/api/v1/contacts/{user_id}/reject")
async def reject_what_was_never_asked(w: World, who: str) -> None:
    r = await w.http.post(f"/api/v1/contacts/{w.users['alice'].id}/reject", headers=w.native(who))
    refused(r, w, 409)


@case("DELETE", "/api/v1/contacts/{user_id}")
async def remove_a_contact_of_someone_else(w: World, who: str) -> None:
    r = await w.http.delete(f"/api/v1/contacts/{w.users['dave'].id}", headers=w.native(who))
    refused(r, w, 409)


@case("GET", "/api/v1/privacy/lists")
async def list_privacy_lists(w: World, who: str) -> None:
    nothing_of(await w.http.get("/api/v1/privacy/lists", headers=w.native(who)), w)


@case("GET", "/api/v1/privacy/lists/{name}")
async def get_privacy_list(w: World, who: str) -> None:
    r = await w.http.get(f"/api/v1/privacy/lists/{w.ids['privacy_list']}", headers=w.native(who))
    refused(r, w)


@case("DELETE", "/api/v1/privacy/lists/{name}")
async def delete_privacy_list(w: World, who: str) -> None:
    r = await w.http.delete(f"/api/v1/privacy/lists/{w.ids['privacy_list']}", headers=w.native(who))
    refused(r, w)


@case("PUT", "/api/v1/privacy/lists/{name}")
async def put_a_list_of_the_same_name(w: World, who: str) -> None:
    """Lists are per user: the same name is the attacker's own list (checked intact below)."""
    r = await w.http.put(
        f"/api/v1/privacy/lists/{w.ids['privacy_list']}", json={"items": []},
        headers=w.native(who),
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["items"] == [], r.text
    r = await w.http.put(
        "/api/v1/privacy/active", json={"name": w.ids["privacy_list"]}, headers=w.native(who)
    )
    assert r.status_code == 200
    await w.http.delete(f"/api/v1/privacy/lists/{w.ids['privacy_list']}", headers=w.native(who))


@case("GET", "/api/v1/files/{uid}")
async def file_info(w: World, who: str) -> None:
    refused(await w.http.get(f"/api/v1/files/{w.ids['file_uid']}", headers=w.native(who)), w)
    refused(await w.http.get(f"/api/v1/files/{w.ids['file_uid']}"), w)


@case("GET", "/api/v1/files/{uid}/content")
async def file_content(w: World, who: str) -> None:
    url = f"/api/v1/files/{w.ids['file_uid']}/content"
    refused(await w.http.get(url, headers=w.native(who)), w)
    refused(await w.http.get(url), w)


@case("DELETE", "/api/v1/files/{uid}")
async def delete_file(w: World, who: str) -> None:
    r = await w.http.delete(f"/api/v1/files/{w.ids['file_uid']}", headers=w.native(who))
    refused(r, w)


@case("POST", "/api/v1/devices")
async def register_the_same_device_id(w: World, who: str) -> None:
    """Device ids are per user: the same id is the attacker's own device."""
    body = {"platform": "fcm", "token": f"tok-{who}", "device_id": w.ids["device_id"]}
    r = await w.http.post("/api/v1/devices", json=body, headers=w.native(who))
    assert r.status_code == 201 and r.json()["token"] == f"tok-{who}", r.text
    await w.http.delete(f"/api/v1/devices/{w.ids['device_id']}", headers=w.native(who))


@case("POST", "/api/v1/devices", OTHER_APP)
async def register_a_token_of_the_other_app(w: World, who: str) -> None:
    """A push token moves to whoever registers it, within an app; never across apps
    (alice's device is checked intact below)."""
    body = {"platform": "fcm", "token": f"{w.secret}-fcm", "device_id": f"{who}-phone"}
    r = await w.http.post("/api/v1/devices", json=body, headers=w.native(who))
    assert r.status_code == 201, r.text
    await w.http.delete(f"/api/v1/devices/{who}-phone", headers=w.native(who))


@case("GET", "/api/v1/devices")
async def list_devices(w: World, who: str) -> None:
    nothing_of(await w.http.get("/api/v1/devices", headers=w.native(who)), w)


@case("DELETE", "/api/v1/devices/{device_id}")
async def unregister_a_foreign_device(w: World, who: str) -> None:
    r = await w.http.delete(f"/api/v1/devices/{w.ids['device_id']}", headers=w.native(who))
    refused(r, w)


@case("POST", "/api/v1/push/events", OTHER_APP)
async def push_to_a_stranger(w: World, who: str) -> None:
    body = {"user_ids": [w.users["alice"].id], "body": "hi", "event_id": f"e{secrets.token_hex(4)}"}
    r = await w.http.post("/api/v1/push/events", json=body, headers=w.native(who))
    assert r.status_code in REFUSED or (r.status_code == 202 and r.json()["queued"] == 0), r.text


# ConnectyCube: /connectycube ---------------------------------------------------------------


@case("POST", "/connectycube/session.json", OTHER_APP)
async def open_a_session_in_the_other_app(w: World, who: str) -> None:
    for app_id, key in ((w.app1.id, w.app2.auth_key), (w.app1.id, w.app1.auth_key)):
        body = {
            "application_id": app_id,
            "auth_key": key,
            "user": {"login": w.users[who].login, "password": PASSWORD},
        }
        refused(await w.http.post("/connectycube/session.json", json=body), w, 401, 422)


@case("POST", "/connectycube/login.json", OTHER_APP)
async def bind_a_user_of_the_other_app(w: World, who: str) -> None:
    body = {"login": w.users["alice"].login, "password": PASSWORD}
    r = await w.http.post("/connectycube/login.json", json=body, headers=w.cb(who))
    refused(r, w, 401, 422)


@case("GET", "/connectycube/users/v2.json", READERS_OTHER_APP)
async def list_users_v2(w: World, who: str) -> None:
    alice = w.users["alice"]
    for query in ({"id": alice.id}, {"login": alice.login}, {"id[in]": f"{alice.id}"}):
        r = await w.http.get("/connectycube/users/v2.json", params=query, headers=w.cb(who))
        nothing_of(r, w)
        assert alice.login not in r.text


@case("GET", "/connectycube/users.json", READERS_OTHER_APP)
async def list_users_v1(w: World, who: str) -> None:
    r = await w.http.get("/connectycube/users.json", params={"per_page": 100}, headers=w.cb(who))
    nothing_of(r, w)
    assert w.users["alice"].login not in r.text


@case("GET", "/connectycube/users/by_login.json", READERS_OTHER_APP)
async def user_by_login(w: World, who: str) -> None:
    r = await w.http.get(
        "/connectycube/users/by_login.json",
        params={"login": w.users["alice"].login},
        headers=w.cb(who),
    )
    refused(r, w)


@case("GET", "/connectycube/users/by_email.json", READERS_OTHER_APP)
async def user_by_email(w: World, who: str) -> None:
    r = await w.http.get(
        "/connectycube/users/by_email.json",
        params={"email": f"{w.secret}@x.test"},
        headers=w.cb(who),
    )
    refused(r, w)


@case("GET", "/connectycube/users/external/{external_id}.json", READERS_OTHER_APP)
async def user_by_external_id(w: World, who: str) -> None:
    r = await w.http.get(
        f"/connectycube/users/external/{w.ids['external']}.json", headers=w.cb(who)
    )
    refused(r, w)


@case("GET", "/connectycube/users/{user_id}.json", READERS_OTHER_APP)
async def cube_get_user(w: World, who: str) -> None:
    r = await w.http.get(f"/connectycube/users/{w.users['alice'].id}.json", headers=w.cb(who))
    refused(r, w)


@case("PUT", "/connectycube/users/{user_id}.json")
async def cube_update_user(w: World, who: str) -> None:
    r = await w.http.put(
        f"/connectycube/users/{w.users['alice'].id}.json",
        json={"user": {"full_name": "pwned"}},
        headers=w.cb(who),
    )
    refused(r, w)


@case("DELETE", "/connectycube/users/{user_id}.json")
async def cube_delete_user(w: World, who: str) -> None:
    r = await w.http.delete(f"/connectycube/users/{w.users['alice'].id}.json", headers=w.cb(who))
    refused(r, w)


@case("POST", "/connectycube/chat/Dialog.json", OTHER_APP)
async def cube_dialog_with_a_stranger(w: World, who: str) -> None:
    for kind in (3, 2):
        body = {"type": kind, "name": "hi", "occupants_ids": [w.users["alice"].id]}
        refused(
            await w.http.post("/connectycube/chat/Dialog.json", json=body, headers=w.cb(who)), w
        )


@case("GET", "/connectycube/chat/Dialog.json")
async def cube_list_dialogs(w: World, who: str) -> None:
    for query in ({}, {"_id": w.ids["group"]}, {"count": 1, "_id": w.ids["group"]}):
        r = await w.http.get("/connectycube/chat/Dialog.json", params=query, headers=w.cb(who))
        if "count" in query:
            assert r.json()["items"]["count"] == 0, r.text
        else:
            nothing_of(r, w)


def _dialog_url(w: World, suffix: str = ".json") -> str:
    return f"/connectycube/chat/Dialog/{w.ids['group']}{suffix}"


@case("PUT", "/connectycube/chat/Dialog/{dialog_id}/admins.json")
async def cube_make_me_admin(w: World, who: str) -> None:
    body = {"push_all": {"admins_ids": [w.users[who].id]}}
    refused(await w.http.put(_dialog_url(w, "/admins.json"), json=body, headers=w.cb(who)), w)


@case("POST", "/connectycube/chat/Dialog/{dialog_id}/subscribe.json")
async def cube_subscribe(w: World, who: str) -> None:
    for dialog in foreign_dialogs(w, who):
        url = f"/connectycube/chat/Dialog/{dialog}/subscribe.json"
        refused(await w.http.post(url, headers=w.cb(who)), w, 422)


@case("DELETE", "/connectycube/chat/Dialog/{dialog_id}/subscribe.json")
async def cube_unsubscribe(w: World, who: str) -> None:
    r = await w.http.delete(_dialog_url(w, "/subscribe.json"), headers=w.cb(who))
    refused(r, w, 422)


@case("GET", "/connectycube/chat/Dialog/{dialog_id}/notifications.json")
async def cube_get_notifications(w: World, who: str) -> None:
    refused(await w.http.get(_dialog_url(w, "/notifications.json"), headers=w.cb(who)), w)


@case("PUT", "/connectycube/chat/Dialog/{dialog_id}/notifications.json")
async def cube_set_notifications(w: World, who: str) -> None:
    r = await w.http.put(
        _dialog_url(w, "/notifications.json"), json={"enabled": 0}, headers=w.cb(who)
    )
    refused(r, w)


@case("GET", "/connectycube/chat/Dialog/{dialog_id}/occupants.json")
async def cube_occupants(w: World, who: str) -> None:
    refused(await w.http.get(_dialog_url(w, "/occupants.json"), headers=w.cb(who)), w)


@case("PUT", "/connectycube/chat/Dialog/{dialog_id}.json")
async def cube_update_dialog(w: World, who: str) -> None:
    body = {"name": "pwned", "push_all": {"occupants_ids": [w.users[who].id]}}
    refused(await w.http.put(_dialog_url(w), json=body, headers=w.cb(who)), w)


@case("PUT", "/connectycube/chat/Dialog/{dialog_id}.json", OTHER_APP)
async def cube_pull_a_stranger_into_my_dialog(w: World, who: str) -> None:
    url = f"/connectycube/chat/Dialog/{w.ids[who + '_dialog']}.json"
    for key in ("occupants_ids", "admins_ids"):
        body = {"push_all": {key: [w.users["alice"].id]}}
        refused(await w.http.put(url, json=body, headers=w.cb(who)), w, 422)


@case("PUT", "/connectycube/chat/Dialog/{dialog_id}.json")
async def cube_pin_a_foreign_message(w: World, who: str) -> None:
    url = f"/connectycube/chat/Dialog/{w.ids[who + '_dialog']}.json"
    body = {"push_all": {"pinned_messages_ids": [w.ids["message"]]}}
    refused(await w.http.put(url, json=body, headers=w.cb(who)), w)


@case("DELETE", "/connectycube/chat/Dialog/{dialog_ids}.json")
async def cube_delete_dialogs(w: World, who: str) -> None:
    refused(
        await w.http.request("DELETE", _dialog_url(w), data={"force": "1"}, headers=w.cb(who)), w
    )
    both = f"/connectycube/chat/Dialog/{w.ids['group']},{w.ids['private']}.json"
    r = await w.http.request("DELETE", both, data={"force": "1"}, headers=w.cb(who))
    assert r.status_code in REFUSED or r.json()["SuccessfullyDeleted"]["ids"] == [], r.text


@case("GET", "/connectycube/chat/Message/unread.json")
async def cube_unread(w: World, who: str) -> None:
    r = await w.http.get(
        "/connectycube/chat/Message/unread.json",
        params={"chat_dialog_ids": w.ids["group"]},
        headers=w.cb(who),
    )
    assert r.status_code in REFUSED or r.json() == {"total": 0, w.ids["group"]: 0}, r.text


@case("POST", "/connectycube/chat/Message/system.json", OTHER_APP)
async def cube_system_message_to_a_stranger(w: World, who: str) -> None:
    r = await w.http.post(
        "/connectycube/chat/Message/system.json",
        json={"recipientId": w.users["alice"].id, "k": "v"},
        headers=w.cb(who),
    )
    refused(r, w)


@case("GET", "/connectycube/chat/Message.json")
async def cube_history(w: World, who: str) -> None:
    own = {"chat_dialog_id": w.ids[who + "_dialog"], "_id[gt]": w.ids["message"]}
    r = await w.http.get("/connectycube/chat/Message.json", params=own, headers=w.cb(who))
    refused(r, w)
    for dialog in foreign_dialogs(w, who):
        r = await w.http.get(
            "/connectycube/chat/Message.json", params={"chat_dialog_id": dialog},
            headers=w.cb(who),
        )  # fmt: skip
        refused(r, w)


@case("POST", "/connectycube/chat/Message.json")
async def cube_post_into_a_foreign_dialog(w: World, who: str) -> None:
    r = await w.http.post(
        "/connectycube/chat/Message.json",
        json={"chat_dialog_id": w.ids["group"], "message": "x"},
        headers=w.cb(who),
    )
    refused(r, w)
    r = await w.http.post(
        "/connectycube/chat/Message.json",
        json={"chat_dialog_id": w.ids[who + "_dialog"], "message": "x", "_id": w.ids["message"]},
        headers=w.cb(who),
    )
    refused(r, w, 422)


@case("POST", "/connectycube/chat/Message.json", OTHER_APP)
async def cube_private_message_to_a_stranger(w: World, who: str) -> None:
    body = {"recipient_id": w.users["alice"].id, "message": "hi"}
    r = await w.http.post("/connectycube/chat/Message.json", json=body, headers=w.cb(who))
    refused(r, w)


@case("PUT", "/connectycube/chat/Message.json")
async def cube_read_all(w: World, who: str) -> None:
    r = await w.http.put(
        "/connectycube/chat/Message.json",
        json={"chat_dialog_id": w.ids["group"], "read": 1, "delivered": 1},
        headers=w.cb(who),
    )
    refused(r, w)


@case("PUT", "/connectycube/chat/Message/{message_ids}.json")
async def cube_edit_and_read(w: World, who: str) -> None:
    r = await w.http.put(
        f"/connectycube/chat/Message/{w.ids['message']}.json",
        json={"message": "pwned", "read": 1},
        headers=w.cb(who),
    )
    refused(r, w)


@case("DELETE", "/connectycube/chat/Message/{message_ids}.json")
async def cube_delete_messages(w: World, who: str) -> None:
    url = f"/connectycube/chat/Message/{w.ids['message']}.json"
    refused(await w.http.request("DELETE", url, data={"force": "1"}, headers=w.cb(who)), w)


@case("GET", "/connectycube/chat/search.json")
async def cube_search(w: World, who: str) -> None:
    r = await w.http.get(
        "/connectycube/chat/search.json", params={"search_text": w.secret}, headers=w.cb(who)
    )
    nothing_of(r, w)


@case("POST", "/connectycube/blobs/upload")
async def cube_overwrite_a_foreign_blob(w: World, who: str) -> None:
    r = await w.http.post(
        "/connectycube/blobs/upload",
        files={"key": (None, w.ids["blob_uid"]), "file": ("x.bin", b"pwned", "text/plain")},
        headers=w.cb(who),
    )
    refused(r, w)


@case("PUT", "/connectycube/blobs/{blob_id}/complete.json")
async def cube_complete_a_foreign_blob(w: World, who: str) -> None:
    r = await w.http.put(
        f"/connectycube/blobs/{w.ids['blob_id']}/complete.json", json={"size": 1},
        headers=w.cb(who),
    )  # fmt: skip
    refused(r, w)


@case("GET", "/connectycube/blobs.json")
async def cube_list_blobs(w: World, who: str) -> None:
    nothing_of(await w.http.get("/connectycube/blobs.json", headers=w.cb(who)), w)


def _blob_refs(w: World) -> list[str]:
    return [str(w.ids["blob_id"]), w.ids["blob_uid"], w.ids["file_uid"], str(w.ids["file_id"])]


@case("GET", "/connectycube/blobs/{ref}/object.json", READERS)
async def cube_blob_object(w: World, who: str) -> None:
    for ref in _blob_refs(w):
        r = await w.http.get(f"/connectycube/blobs/{ref}/object.json", headers=w.cb(who))
        refused(r, w)


@case("GET", "/connectycube/blobs/{ref}.json", READERS)
async def cube_blob_info_and_rename(w: World, who: str) -> None:
    for ref in _blob_refs(w):
        refused(await w.http.get(f"/connectycube/blobs/{ref}.json", headers=w.cb(who)), w)
        r = await w.http.get(
            f"/connectycube/blobs/{ref}.json", params={"blob[name]": "pwned"},
            headers=w.cb(who),
        )  # fmt: skip
        refused(r, w)


@case("DELETE", "/connectycube/blobs/{ref}.json")
async def cube_delete_blob(w: World, who: str) -> None:
    for ref in _blob_refs(w):
        refused(await w.http.delete(f"/connectycube/blobs/{ref}.json", headers=w.cb(who)), w)


@case("GET", "/connectycube/blobs/{uid}/download", READERS)
async def cube_download_alias(w: World, who: str) -> None:
    for uid in (w.ids["blob_uid"], w.ids["file_uid"]):
        url = f"/connectycube/blobs/{uid}/download"
        refused(await w.http.get(url, params={"token": w.cube[who]}), w)
        refused(await w.http.get(url), w)


@case("GET", "/connectycube/blobs/{uid}", READERS)
async def cube_download(w: World, who: str) -> None:
    for uid in (w.ids["blob_uid"], w.ids["file_uid"]):
        refused(await w.http.get(f"/connectycube/blobs/{uid}", headers=w.cb(who)), w)


@case("POST", "/connectycube/subscriptions.json")
async def cube_subscribe_the_same_udid(w: World, who: str) -> None:
    r = await w.http.post(
        "/connectycube/subscriptions.json",
        json={
            "notification_channel": "gcm",
            "push_token": {"client_identification_sequence": f"cube-{who}"},
            "device": {"platform": "android", "udid": w.ids["device_id"]},
        },
        headers=w.cb(who),
    )
    assert r.status_code == 201, r.text
    await w.http.delete(
        f"/connectycube/subscriptions/{r.json()[0]['subscription']['id']}.json", headers=w.cb(who)
    )


@case("GET", "/connectycube/subscriptions.json")
async def cube_list_subscriptions(w: World, who: str) -> None:
    r = await w.http.get("/connectycube/subscriptions.json", headers=w.cb(who))
    nothing_of(r, w)
    assert all(s["subscription"]["id"] != w.ids["subscription"] for s in r.json())


@case("DELETE", "/connectycube/subscriptions/{subscription_id}.json")
async def cube_delete_a_foreign_subscription(w: World, who: str) -> None:
    r = await w.http.delete(
        f"/connectycube/subscriptions/{w.ids['subscription']}.json", headers=w.cb(who)
    )
    refused(r, w)


@case("POST", "/connectycube/events.json", OTHER_APP)
async def cube_push_to_a_stranger(w: World, who: str) -> None:
    before = await _queued_pushes(w)
    message = base64.b64encode(json.dumps({"message": "hi"}).encode()).decode()
    body = {"event": {"notification_type": "push", "user": {"ids": str(w.users["alice"].id)},
                      "message": message}}  # fmt: skip
    r = await w.http.post("/connectycube/events.json", json=body, headers=w.cb(who))
    assert r.status_code in REFUSED or r.status_code == 201, r.text
    assert await _queued_pushes(w) == before, "a push was queued for another app's user"


async def _queued_pushes(w: World) -> int:
    """Pushes queued to alice's devices (outbox rows with her tokens)."""
    from sqlalchemy import text

    async with w.server.core.db.read() as conn:
        row = await conn.execute(
            text("SELECT count(*) FROM outbox WHERE destination IN (:a, :b)"),
            {"a": f"{w.secret}-fcm", "b": f"{w.secret}-gcm"},
        )
        return int(row.scalar() or 0)


# service desk: /servicedeskapi/v1 -----------------------------------------------------------

PHONES = ("b", "c")  # another phone of app 1; a phone of app 2


@case("POST", "/servicedeskapi/v1/gettickets", PHONES)
async def desk_commands_on_a_foreign_ticket(w: World, who: str) -> None:
    phone = w.desk[who]
    commands = [
        phone.create_comment("pwned", ticket_id=w.ids["ticket"]),
        phone.mark_read(w.ids["ticket"]),
        phone.calc_operator_time(w.ids["ticket"]),
        phone.create_comment(
            "mine now", attachments=[{"guid": w.ids["desk_guid"], "type": 0, "name": "r.png"}]
        ),
    ]
    r = await phone.sync_raw(commands)
    assert r.status_code == 200, r.text
    results = {c["command_id"]: c for c in r.json()["commands_result"]}
    for command in commands[:2] + commands[3:]:
        assert results[command["command_id"]].get("error"), results[command["command_id"]]
    nothing_of(r, w, ids=False)
    assert all(t["ticket_id"] != w.ids["ticket"] for t in r.json()["tickets"])


@case("POST", "/servicedeskapi/v1/getticketfeed", PHONES)
async def desk_legacy_feed(w: World, who: str) -> None:
    phone = w.desk[who]
    body = {"app_id": phone.app_id, "user_id": phone.instance_id, "keep_unread": True}
    r = await phone.http.post(phone.url + "GetTicketFeed", json=body)
    nothing_of(r, w, ids=False)


@case("POST", "/servicedeskapi/v1/updateticketfeed", PHONES)
async def desk_legacy_update(w: World, who: str) -> None:
    """The legacy update names no ticket: it lands in the phone's own."""
    phone = w.desk[who]
    body = {"app_id": phone.app_id, "user_id": phone.instance_id, "comment": "legacy"}
    r = await phone.http.post(phone.url + "UpdateTicketFeed", json=body)
    nothing_of(r, w, ids=False)


@case("GET", "/servicedeskapi/v1/downloadfile/{file_id}", PHONES)
async def desk_download(w: World, who: str) -> None:
    phone = w.desk[who]
    url = phone.url + f"DownloadFile/{w.ids['desk_file']}"
    refused(await phone.http.get(url, params=phone.download_query()), w)


@case("GET", "/servicedeskapi/v1/downloadfilepreview/{file_id}", PHONES)
async def desk_download_preview(w: World, who: str) -> None:
    phone = w.desk[who]
    url = phone.url + f"DownloadFilePreview/{w.ids['desk_file']}"
    refused(await phone.http.get(url, params=phone.download_query()), w)


@case("GET", "/servicedeskapi/v1/avatar/{avatar_id}", PHONES)
async def desk_avatar_is_not_any_public_file(w: World, who: str) -> None:
    """Avatars are served without credentials: only a file an app names as its agents'
    avatar, never any public file by its (guessable) number."""
    phone = w.desk[who]
    for file_id in (w.ids["public_file_id"], w.ids["file_id"], w.ids["desk_file"]):
        r = await phone.http.get(phone.url + f"Avatar/{file_id}")
        assert r.status_code == 404, (file_id, r.status_code)
    served = await phone.http.get(phone.url + f"Avatar/{w.ids['avatar_id']}")
    assert served.status_code == 200 and served.content == b"\x89PNG agent avatar"


@case("GET", "/servicedeskapi/v1/avatar/{avatar_id}/{size}", PHONES)
async def desk_avatar_sized(w: World, who: str) -> None:
    phone = w.desk[who]
    for file_id in (w.ids["public_file_id"], w.ids["file_id"]):
        r = await phone.http.get(phone.url + f"avatar/{file_id}/64")
        assert r.status_code == 404, (file_id, r.status_code)


# console: an agent of app 2 ---------------------------------------------------------------

AGENTS = ("agent2",)


@case("GET", "/console/inbox", AGENTS)
async def console_inbox(w: World, who: str) -> None:
    for view in ("open", "closed", "unassigned", "mine"):
        r = await w.console[who].get("/console/inbox", params={"view": view})
        nothing_of(r, w, ids=False)


@case("GET", "/console/partials/list", AGENTS)
async def console_list(w: World, who: str) -> None:
    nothing_of(await w.console[who].get("/console/partials/list"), w, ids=False)


def _tickets(w: World) -> list[int]:
    return [w.ids["ticket"], w.ids["gms_ticket"]]


@case("GET", "/console/tickets/{ticket_id}", AGENTS)
async def console_ticket(w: World, who: str) -> None:
    for ticket in _tickets(w):
        refused(await w.console[who].get(f"/console/tickets/{ticket}"), w)


@case("GET", "/console/partials/thread/{ticket_id}", AGENTS)
async def console_thread(w: World, who: str) -> None:
    for ticket in _tickets(w):
        refused(await w.console[who].get(f"/console/partials/thread/{ticket}"), w)


@case("POST", "/console/upload/reply/{ticket_id}", AGENTS)
async def console_reply(w: World, who: str) -> None:
    for ticket in _tickets(w):
        r = await w.console[who].post(
            f"/console/upload/reply/{ticket}", files={"body": (None, "pwned")}
        )
        refused(r, w)


@case("POST", "/console/tickets/{ticket_id}/assign", AGENTS)
async def console_assign(w: World, who: str) -> None:
    for ticket in _tickets(w):
        refused(await w.console[who].post(f"/console/tickets/{ticket}/assign", data={}), w)


@case("POST", "/console/tickets/{ticket_id}/status", AGENTS)
async def console_status(w: World, who: str) -> None:
    for ticket in _tickets(w):
        r = await w.console[who].post(
            f"/console/tickets/{ticket}/status", data={"status": "closed"}
        )
        refused(r, w)


@case("POST", "/console/tickets/{ticket_id}/notes", AGENTS)
async def console_note(w: World, who: str) -> None:
    for ticket in _tickets(w):
        r = await w.console[who].post(f"/console/tickets/{ticket}/notes", data={"body": "pwned"})
        refused(r, w)


@case("POST", "/console/tickets/{ticket_id}/labels", AGENTS)
async def console_labels(w: World, who: str) -> None:
    for ticket in _tickets(w):
        r = await w.console[who].post(
            f"/console/tickets/{ticket}/labels", data={"priority": "low", "tags": "pwned"}
        )
        refused(r, w)


@case("GET", "/console/search.json", AGENTS)
async def console_search(w: World, who: str) -> None:
    for q in (w.secret, str(w.ids["ticket"]), f"#{w.ids['gms_ticket']}"):
        r = await w.console[who].get("/console/search.json", params={"q": q})
        nothing_of(r, w, ids=False)
        found = {t["ticket_id"] for t in r.json()["tickets"]}
        assert not found & set(_tickets(w)), found


@case("POST", "/console/tickets/{ticket_id}/gms/{action}", AGENTS)
async def console_gms_action(w: World, who: str) -> None:
    for action in ("join", "typing", "leave"):
        r = await w.console[who].post(f"/console/tickets/{w.ids['gms_ticket']}/gms/{action}")
        refused(r, w)


@case("GET", "/console/callbacks", AGENTS)
async def console_callbacks(w: World, who: str) -> None:
    r = await w.console[who].get("/console/callbacks")
    nothing_of(r, w, ids=False)
    assert w.ids["callback"] not in r.text


@case("GET", "/console/partials/callbacks", AGENTS)
async def console_callbacks_partial(w: World, who: str) -> None:
    r = await w.console[who].get("/console/partials/callbacks")
    nothing_of(r, w, ids=False)
    assert w.ids["callback"] not in r.text


@case("GET", "/console/callbacks.json", AGENTS)
async def console_callbacks_json(w: World, who: str) -> None:
    r = await w.console[who].get("/console/callbacks.json")
    nothing_of(r, w, ids=False)
    assert w.ids["callback"] not in r.text


@case("POST", "/console/callbacks/{service_id}/{action}", AGENTS)
async def console_callback_action(w: World, who: str) -> None:
    for action in ("notify", "cancel", "done", "reschedule"):
        r = await w.console[who].post(
            f"/console/callbacks/{w.ids['callback']}/{action}", data={"when": "2030-01-01T10:00"}
        )
        refused(r, w)


@case("GET", "/console/files/{file_id}", AGENTS)
async def console_file(w: World, who: str) -> None:
    for file_id in (w.ids["desk_file"], w.ids["file_id"], w.ids["public_file_id"]):
        refused(await w.console[who].get(f"/console/files/{file_id}"), w)


# -- running it --------------------------------------------------------------------------------

MATRIX = [(c, who) for c in CASES for who in c.who]


@pytest.mark.parametrize(
    ("entry", "attacker"), MATRIX, ids=[f"{c.id} as {who}" for c, who in MATRIX]
)
async def test_the_other_callers_ids_are_refused(world: World, entry: Case, attacker: str) -> None:
    await entry.attempt(world, attacker)


REALTIME_PROBES = (
    ("send", {"dialog_id": "group", "body": "x"}),
    ("send", {"dialog_id": "own", "body": "x", "attachments": [{"file_id": "file_uid"}]}),
    ("edit", {"dialog_id": "group", "message_id": "message", "body": "pwned"}),
    ("edit", {"dialog_id": "own", "message_id": "message", "body": "pwned"}),
    ("delete", {"dialog_id": "group", "message_id": "message", "for_everyone": True}),
    ("delete", {"dialog_id": "own", "message_id": "message", "for_everyone": True}),
    ("read", {"dialog_id": "group", "message_id": "message"}),
    ("read", {"dialog_id": "own", "message_id": "message"}),
    ("delivered", {"dialog_id": "group", "message_id": "message"}),
    ("typing", {"dialog_id": "group", "typing": True}),
)


@pytest.mark.parametrize("attacker", USERS)
async def test_realtime_actions_refuse_the_other_callers_ids(world: World, attacker: str) -> None:
    """Every WebSocket action (realtime protocol: send, edit, delete, read, delivered,
    typing, resync) with the victim's dialog, message and file ids is an error frame;
    and the victim's live events never reach the attacker's socket."""
    w = world

    def resolve(value: Any) -> Any:
        if value == "own":
            return w.ids[f"{attacker}_dialog"]
        if isinstance(value, str) and value in w.ids:
            return w.ids[value]
        if isinstance(value, list):
            return [{k: resolve(v) for k, v in item.items()} for item in value]
        return value

    async with RealtimeConnection.connect(w.server.ws_url, w.tokens[attacker]) as conn:
        for kind, fields in REALTIME_PROBES:
            frame = {"type": kind, **{k: resolve(v) for k, v in fields.items()}}
            with pytest.raises(RealtimeError) as refusal:
                await conn.request(frame)
            assert refusal.value.code in ("dialog_not_found", "message_not_found",
                                          "file_not_found", "not_found", "forbidden",
                                          "not_a_member"), (frame, refusal.value)  # fmt: skip
            assert w.secret not in str(refusal.value)
        resync = await conn.request({"type": "resync", "cursors": {w.ids["group"]: 0}})
        assert "error" in resync["dialogs"][w.ids["group"]], resync
        assert w.secret not in json.dumps(resync)
        # The victim writes; then the attacker's own dialog gets a message. Events reach
        # a socket in publish order, so everything before that one has been seen.
        await w.http.post(
            f"/api/v1/dialogs/{w.ids['group']}/messages",
            json={"body": f"{w.secret} live"},
            headers=w.native("alice"),
        )
        barrier = await conn.send_message(w.ids[f"{attacker}_dialog"], "barrier")
        while True:
            event = await conn.next_event(timeout=10)
            assert w.secret not in event.model_dump_json(), event
            assert w.ids["group"] not in event.model_dump_json(), event
            message = event.data.get("message") or {}
            if message.get("id") == barrier.id:
                break


async def test_console_live_feed_is_per_app(world: World) -> None:
    """The console's socket (``/console/ws``) carries ticket changes of the agent's own
    app only: app 1's phone writes, then app 2's; app 2's agent sees only the second."""
    w = world
    from websockets.asyncio.client import connect

    cookie = f"tidings_console={w.console['agent2'].cookies['tidings_console']}"
    url = w.server.ws_url.replace("/api/v1/ws", "/console/ws")
    async with connect(url, additional_headers={"Cookie": cookie}) as ws:
        await w.desk["a"].sync(w.desk["a"].create_comment(f"{w.secret} again"))
        reply = await w.desk["c"].sync(w.desk["c"].create_comment("phone C again"))
        own = {t["ticket_id"] for t in reply["tickets"]}
        while True:
            update = json.loads(await ws.recv())
            assert update.get("ticket_id") not in (w.ids["ticket"],), update
            if update.get("ticket_id") in own:
                break


async def test_victims_data_is_intact(world: World) -> None:
    """After every attempt above: alice's dialog, message, file, device, list, contact,
    blob and subscription are as she left them, and phone A's ticket too."""
    w = world
    a = w.native("alice")
    group = (await w.http.get(f"/api/v1/dialogs/{w.ids['group']}", headers=a)).json()
    assert group["name"] == f"{w.secret} group"
    assert sorted(group["occupant_ids"]) == sorted([w.users["alice"].id, w.users["dave"].id])
    assert group["admin_ids"] == []
    message = await w.http.get(
        f"/api/v1/dialogs/{w.ids['group']}/messages/{w.ids['message']}", headers=a
    )
    assert message.json()["body"] == f"{w.secret} message"
    assert (await w.http.get(f"/api/v1/files/{w.ids['file_uid']}/content", headers=a)).content == (
        b"private bytes"
    )
    devices = (await w.http.get("/api/v1/devices", headers=a)).json()["items"]
    assert sorted((d["device_id"], d["token"]) for d in devices) == sorted(
        [(w.ids["device_id"], f"{w.secret}-fcm"), (w.ids["cube_udid"], f"{w.secret}-gcm")]
    )
    listed = (await w.http.get(f"/api/v1/privacy/lists/{w.ids['privacy_list']}", headers=a)).json()
    assert [i["user_id"] for i in listed["items"]] == [w.users["bob"].id]
    contacts = (await w.http.get("/api/v1/contacts", headers=a)).json()["items"]
    assert [c["user_id"] for c in contacts] == [w.users["dave"].id]
    me = (await w.http.get("/api/v1/users/me", headers=a)).json()
    assert me["full_name"] == "alice"
    blob = await w.http.get(f"/connectycube/blobs/{w.ids['blob_id']}.json", headers=w.cb("alice"))
    assert blob.json()["blob"]["name"] == f"{w.secret}.bin"
    content = await w.http.get(f"/connectycube/blobs/{w.ids['blob_uid']}", headers=w.cb("alice"))
    assert content.content == b"blob bytes"
    subscriptions = await w.http.get("/connectycube/subscriptions.json", headers=w.cb("alice"))
    udids = sorted(s["subscription"]["device"]["udid"] for s in subscriptions.json())
    assert udids == sorted([w.ids["device_id"], w.ids["cube_udid"]])  # one registry
    (ticket,) = (await w.desk["a"].sync())["tickets"]
    assert ticket["ticket_id"] == w.ids["ticket"]
    assert all("pwned" not in c["body"] for c in ticket["comments"])


# -- coverage ----------------------------------------------------------------------------------

PREFIXES = ("/api/v1/", "/connectycube/", "/servicedeskapi/", "/console")


def route_table(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every HTTP and WebSocket route under the covered prefixes."""
    from starlette.routing import Mount, WebSocketRoute

    found: set[tuple[str, str]] = set()

    def add(route: Any, path: str) -> None:
        if not path.startswith(PREFIXES) or path.startswith("/console/static"):
            return
        if isinstance(route, WebSocketRoute) or type(route).__name__ == "APIWebSocketRoute":
            found.add(("WS", path))
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, path))

    def walk(routes: Any, prefix: str) -> None:
        for route in routes:
            if hasattr(route, "effective_candidates"):  # FastAPI's lazily included routers
                for item in route.effective_candidates():
                    if hasattr(item, "effective_candidates"):
                        walk([item], prefix)
                    else:
                        inner = item.original_route
                        path = item.path or getattr(item.starlette_route, "path", None)
                        add(inner, prefix + (path or inner.path))
            elif isinstance(route, Mount):
                walk(route.routes, prefix + route.path)
            else:
                add(route, prefix + getattr(route, "path", ""))

    walk(app.routes, "")
    return found


def test_every_route_is_in_the_matrix(server: Any) -> None:
    routes = route_table(server.app)
    assert len(routes) > 100, sorted(routes)  # the walk found the gateways' tables
    covered = {(c.method, c.route) for c in CASES} | set(EXEMPT)
    missing = sorted(routes - covered)
    assert not missing, f"routes neither tried with another caller's ids nor exempted: {missing}"
    stale = sorted(covered - routes)
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"
    assert all(c.who for c in CASES)


def test_every_route_with_a_path_parameter_is_tried(server: Any) -> None:
    """Exemptions are for routes that take no id: a path parameter is always tried."""
    with_ids = {r for r in route_table(server.app) if "{" in r[1]}
    tried = {(c.method, c.route) for c in CASES}
    exempt = {r for r in with_ids if r in EXEMPT and "rest:path" not in r[1]}
    assert not exempt, exempt
    assert with_ids - tried <= set(EXEMPT), sorted(with_ids - tried)


async def test_unknown_and_foreign_ids_look_the_same(world: World) -> None:
    """No existence oracle: the victim's dialog answers exactly like an id nobody has."""
    w = world
    ghost = new_id()
    for who in USERS:
        for suffix in ("", "/messages", "/members"):
            foreign = await w.http.get(f"/api/v1/dialogs/{w.ids['group']}{suffix}",
                                       headers=w.native(who))  # fmt: skip
            unknown = await w.http.get(f"/api/v1/dialogs/{ghost}{suffix}", headers=w.native(who))
            assert foreign.status_code == unknown.status_code == 404, (suffix, foreign.text)
            assert foreign.json()["error"]["code"] == unknown.json()["error"]["code"]
