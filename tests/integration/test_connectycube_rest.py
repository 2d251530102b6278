"""The ConnectyCube-compatible REST API under /connectycube, driven with httpx the way
the SDK encodes requests (connectycube-wire §2–§8), on both backends."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tidings.domain.models import App

EXPIRED = {"errors": {"base": ["Required session does not exist"]}}
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}


class Cube:
    """An httpx client speaking as the SDK: JSON bodies, bracketed query strings,
    DELETE parameters in a form body, ``CB-Token``."""

    def __init__(self, server: Any, token: str | None = None) -> None:
        self.http = httpx.AsyncClient(base_url=f"{server.base_url}/connectycube", timeout=30)
        self.token = token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"CB-SDK": "JS 6.1.2 - Client"}
        if self.token:
            headers["CB-Token"] = self.token
        return {**headers, **(extra or {})}

    async def get(self, path: str, query: str = "") -> httpx.Response:
        return await self.http.get(f"{path}?{query}", headers=self._headers(FORM))

    async def post(self, path: str, body: Any = None, **headers: str) -> httpx.Response:
        return await self.http.post(path, json=body or {}, headers=self._headers(headers))

    async def put(self, path: str, body: Any) -> httpx.Response:
        return await self.http.put(path, json=body, headers=self._headers())

    async def delete(self, path: str, form: str = "") -> httpx.Response:
        return await self.http.request(
            "DELETE", path, content=form.encode(), headers=self._headers(FORM)
        )

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def cube(server):
    clients: list[Cube] = []

    def make(token: str | None = None) -> Cube:
        client = Cube(server, token)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def _login(cube, app: App, login: str, password: str = "correct horse") -> tuple[Cube, int]:
    client = cube()
    response = await client.post(
        "/session.json",
        {
            "application_id": app.id,
            "auth_key": app.auth_key,
            "user": {"login": login, "password": password},
        },
    )
    assert response.status_code == 201, response.text
    session = response.json()["session"]
    client.token = session["token"]
    return client, session["user_id"]


async def _users(server, cube, n: int) -> tuple[App, list[tuple[Cube, int]]]:
    app, _u, _t = await server.new_user()
    out = []
    for _ in range(n):
        _app, user, _token = await server.new_user(app)
        out.append(await _login(cube, app, user.login))
    return app, out


async def test_app_session_login_binds_the_same_token(server, cube) -> None:
    """§3.1/§3.4/§3.5: app session (user_id 0), login keeps the token, logout returns it
    to an app session, destroying it gives the expiry 401."""
    app, user, _ = await server.new_user()
    client = cube()
    created = await client.post(
        "/session.json", {"application_id": app.id, "auth_key": app.auth_key}
    )
    assert created.status_code == 201
    session = created.json()["session"]
    assert session["user_id"] == 0 and session["application_id"] == app.id
    assert isinstance(session["id"], int) and isinstance(session["ts"], int)
    client.token = session["token"]
    assert (await client.get("/chat/Dialog.json")).status_code == 403  # no user yet
    login = await client.post("/login.json", {"login": user.login, "password": "correct horse"})
    assert login.status_code == 202 and login.json()["user"]["id"] == user.id
    current = (await client.get("/session.json")).json()["session"]
    assert current["user_id"] == user.id and current["token"] == client.token
    assert current["user"]["login"] == user.login
    assert (await client.get("/chat/Dialog.json")).status_code == 200
    assert (await client.delete("/login.json")).status_code == 200
    assert (await client.get("/session.json")).json()["session"]["user_id"] == 0
    assert (await client.delete("/session.json")).status_code == 200
    gone = await client.get("/chat/Dialog.json")
    assert gone.status_code == 401 and gone.json() == EXPIRED


async def test_bad_credentials_and_unknown_tokens(server, cube) -> None:
    """§2.6: only an unknown/expired token gets the expiry body; wrong credentials get a
    different 401; a CB-Token held while creating a session is ignored."""
    app, user, _ = await server.new_user()
    client = cube("not-a-token")
    wrong = await client.post(
        "/session.json",
        {
            "application_id": app.id,
            "auth_key": app.auth_key,
            "user": {"login": user.login, "password": "nope"},
        },
    )
    assert wrong.status_code == 401 and wrong.json() != EXPIRED and "errors" in wrong.json()
    bad_key = await client.post("/session.json", {"application_id": app.id, "auth_key": "x"})
    assert bad_key.status_code == 401
    unknown = await client.get("/chat/Message/unread.json")
    assert unknown.status_code == 401 and unknown.json() == EXPIRED
    ok = await client.post(
        "/session.json", {"application_id": str(app.id), "auth_key": app.auth_key}
    )
    assert ok.status_code == 201


async def test_signup_get_filter_update_delete_users(server, cube) -> None:
    """§4: signup with CB-AuthKey, get, getV2 filters in array mode, update with
    old_password, delete."""
    app = await server.new_app()
    anon = cube()
    tag = f"t{time.monotonic_ns()}"
    made = []
    for name in ("ann", "bob"):
        response = await anon.post(
            "/users.json",
            {
                "user": {
                    "login": f"{name}-{tag}",
                    "password": "longpassword",
                    "full_name": name.title(),
                    "phone": "+100",
                    "tag_list": ["vip", "beta"],
                    "custom_data": '{"a":1}',
                }
            },
            **{"CB-AuthKey": app.auth_key},
        )
        assert response.status_code == 201, response.text
        made.append(response.json()["user"])
    assert made[0]["user_tags"] == "vip,beta" and made[0]["custom_data"] == '{"a":1}'
    assert made[0]["phone"] == "+100" and isinstance(made[0]["id"], int)
    taken = await anon.post(
        "/users.json",
        {"user": {"login": f"ann-{tag}", "password": "longpassword"}},
        **{"CB-AuthKey": app.auth_key},
    )
    assert taken.status_code == 422 and "errors" in taken.json()
    client, me = await _login(cube, app, f"ann-{tag}", "longpassword")
    ids = [u["id"] for u in made]
    page = await client.get(
        "/users/v2.json", f"id[in][]={ids[0]}&id[in][]={ids[1]}&limit=10&offset=0&sort_desc=id"
    )
    body = page.json()
    assert body["total_entries"] == 2 and [u["id"] for u in body["items"]] == ids[::-1]
    by_login = await client.get("/users/v2.json", f"login=bob-{tag}")
    assert [u["id"] for u in by_login.json()["items"]] == [ids[1]]
    one = await client.get(f"/users/{ids[1]}.json")
    assert one.json()["user"]["full_name"] == "Bob"
    assert (await client.get("/users/by_login.json", f"login=bob-{tag}")).json()["user"][
        "id"
    ] == ids[1]
    refused = await client.put(
        f"/users/{me}.json", {"user": {"password": "newpassword", "old_password": "wrong"}}
    )
    assert refused.status_code == 401
    changed = await client.put(
        f"/users/{me}.json",
        {"user": {"full_name": "Ann B", "password": "newpassword", "old_password": "longpassword"}},
    )
    assert changed.status_code == 200 and changed.json()["user"]["full_name"] == "Ann B"
    assert changed.json()["user"]["phone"] == "+100"
    await _login(cube, app, f"ann-{tag}", "newpassword")
    assert (
        await client.put(f"/users/{ids[1]}.json", {"user": {"full_name": "x"}})
    ).status_code == 403
    assert (await client.delete(f"/users/{me}.json")).status_code == 200
    missing = await cube(None).post(
        "/session.json",
        {
            "application_id": app.id,
            "auth_key": app.auth_key,
            "user": {"login": f"ann-{tag}", "password": "newpassword"},
        },
    )
    assert missing.status_code == 401


async def test_create_dialogs_by_type(server, cube) -> None:
    """§5.1/§5.2: integer types, occupants as a ", "-joined string, creator added,
    private found again, room JID for groups, public joined by subscribing."""
    app, [(alice, a), (bob, b), (carol, c)] = await _users(server, cube, 3)
    group = await alice.post(
        "/chat/Dialog.json",
        {
            "type": 2,
            "name": "Friday",
            "occupants_ids": f"{b}, {c}",
            "admins_ids": f"{b}",
            "extensions": {"topic": "fun"},
        },
    )
    assert group.status_code == 201, group.text
    g = group.json()
    assert len(g["_id"]) == 24 and g["type"] == 2 and g["user_id"] == a
    assert sorted(g["occupants_ids"]) == sorted([a, b, c]) and g["admins_ids"] == [b]
    assert g["xmpp_room_jid"] == f"{app.id}_{g['_id']}@muc.{server.settings.xmpp_domain}"
    assert g["extensions"] == {"topic": "fun"} and g["permissions"] == {"allow_preview": False}
    first = (await alice.post("/chat/Dialog.json", {"type": 3, "occupants_ids": [b]})).json()
    again = (await bob.post("/chat/Dialog.json", {"type": 3, "occupants_ids": str(a)})).json()
    assert first["_id"] == again["_id"] and first["xmpp_room_jid"] is None
    public = (await alice.post("/chat/Dialog.json", {"type": 4, "name": "Lobby"})).json()
    assert public["type"] == 4 and public["occupants_ids"] == [a]
    joined = await carol.post(f"/chat/Dialog/{public['_id']}/subscribe.json")
    assert joined.status_code == 200 and c in joined.json()["occupants_ids"]
    assert (await carol.delete(f"/chat/Dialog/{public['_id']}/subscribe.json")).status_code == 200
    bad = await alice.post("/chat/Dialog.json", {"type": 9, "name": "x"})
    assert bad.status_code == 422 and "type" in bad.json()["errors"]


async def test_list_dialogs_with_filters(server, cube) -> None:
    """§5.2: limit/skip, type[in] as the SDK's comma-joined value, count=1, the list shape."""
    _app, [(alice, _a), (_bob, b)] = await _users(server, cube, 2)
    await alice.post("/chat/Dialog.json", {"type": 3, "occupants_ids": [b]})
    for i in range(3):
        await alice.post("/chat/Dialog.json", {"type": 2, "name": f"g{i}", "occupants_ids": [b]})
    everything = (await alice.get("/chat/Dialog.json")).json()
    assert everything["total_entries"] == 4 and len(everything["items"]) == 4
    groups = (
        await alice.get(
            "/chat/Dialog.json", "limit=2&skip=0&sort_desc=last_message_date_sent&type[in]=2%2C4"
        )
    ).json()
    assert groups["total_entries"] == 3 and len(groups["items"]) == 2 and groups["limit"] == 2
    assert {d["type"] for d in groups["items"]} == {2}
    private = (await alice.get("/chat/Dialog.json", "type=3")).json()
    assert [d["type"] for d in private["items"]] == [3]
    count = (await alice.get("/chat/Dialog.json", "count=1&type[in]=2")).json()
    assert count == {"items": {"count": 3}}
    named = (await alice.get("/chat/Dialog.json", "name=g1")).json()
    assert [d["name"] for d in named["items"]] == ["g1"]


async def test_update_dialog_occupants_admins_pins(server, cube) -> None:
    """§5.2: push_all/pull_all of occupants, admins (also via /admins) and pinned ids."""
    _app, [(alice, a), (bob, b), (carol, c)] = await _users(server, cube, 3)
    d = (
        await alice.post("/chat/Dialog.json", {"type": 2, "name": "t", "occupants_ids": [b]})
    ).json()
    path = f"/chat/Dialog/{d['_id']}.json"
    grown = await alice.put(path, {"name": "team", "push_all": {"occupants_ids": [c]}})
    assert grown.status_code == 200 and sorted(grown.json()["occupants_ids"]) == sorted([a, b, c])
    assert grown.json()["name"] == "team"
    admins = await alice.put(
        f"/chat/Dialog/{d['_id']}/admins.json", {"push_all": {"admins_ids": [b, c]}}
    )
    assert sorted(admins.json()["admins_ids"]) == sorted([b, c])
    fewer = await alice.put(
        f"/chat/Dialog/{d['_id']}/admins.json", {"pull_all": {"admins_ids": [c]}}
    )
    assert fewer.json()["admins_ids"] == [b]
    m = (
        await bob.post("/chat/Message.json", {"chat_dialog_id": d["_id"], "message": "pin me"})
    ).json()
    pinned = await bob.put(path, {"push_all": {"pinned_messages_ids": [m["_id"]]}})
    assert pinned.status_code == 200 and pinned.json()["pinned_messages_ids"] == [m["_id"]]
    unpinned = await alice.put(path, {"pull_all": {"pinned_messages_ids": [m["_id"]]}})
    assert unpinned.json()["pinned_messages_ids"] == []
    left = await carol.put(path, {"pull_all": {"occupants_ids": [c]}})
    assert left.status_code == 200
    assert c not in (await alice.get(f"/chat/Dialog/{d['_id']}/occupants.json")).json()["items"]
    refused = await bob.put(path, {"permissions": {"allow_preview": True}})
    assert refused.status_code == 200  # groups: any member may change details
    assert refused.json()["permissions"] == {"allow_preview": True}


async def test_delete_dialogs_force_in_form_body(server, cube) -> None:
    """§2.3/§5.2: DELETE parameters arrive form-encoded in the body (``force=1``); one id
    answers TEXT, several the SuccessfullyDeleted/NotFound/WrongPermissions JSON."""
    _app, [(alice, _a), (bob, b)] = await _users(server, cube, 2)
    d1 = (
        await alice.post("/chat/Dialog.json", {"type": 2, "name": "a", "occupants_ids": [b]})
    ).json()
    d2 = (
        await alice.post("/chat/Dialog.json", {"type": 2, "name": "b", "occupants_ids": [b]})
    ).json()
    d3 = (await bob.post("/chat/Dialog.json", {"type": 2, "name": "c", "occupants_ids": []})).json()
    assert (await alice.delete(f"/chat/Dialog/{d1['_id']}.json", "force=1")).status_code == 200
    assert d1["_id"] not in [d["_id"] for d in (await bob.get("/chat/Dialog.json")).json()["items"]]
    nobody = "0" * 24
    many = await bob.delete(f"/chat/Dialog/{d2['_id']},{d3['_id']},{nobody}.json", "force=1")
    assert many.json() == {
        "SuccessfullyDeleted": {"ids": [d3["_id"]]},
        "NotFound": {"ids": [nobody]},
        "WrongPermissions": {"ids": [d2["_id"]]},
    }
    assert (await bob.delete(f"/chat/Dialog/{d2['_id']}.json")).status_code == 200  # leaves
    assert b not in (await alice.get(f"/chat/Dialog/{d2['_id']}/occupants.json")).json()["items"]


async def test_messages_history_filters_read_and_unread(server, cube) -> None:
    """§5.4: create, list with date_sent/sender filters and sorts, mark_as_read=0 keeps
    them unread, a plain list marks read, unread counts' shape, PUT read."""
    _app, [(alice, a), (bob, b)] = await _users(server, cube, 2)
    d = (await alice.post("/chat/Dialog.json", {"type": 3, "occupants_ids": [b]})).json()
    sent = []
    for i in range(3):
        r = await alice.post(
            "/chat/Message.json",
            {"chat_dialog_id": d["_id"], "message": f"m{i}", "send_to_chat": 1, "colour": "red"},
        )
        assert r.status_code == 201, r.text
        sent.append(r.json())
    assert sent[0]["recipient_id"] == b and sent[0]["sender_id"] == a
    assert sent[0]["colour"] == "red" and isinstance(sent[0]["date_sent"], int)
    reply = (await bob.post("/chat/Message.json", {"recipient_id": a, "message": "hi"})).json()
    assert reply["chat_dialog_id"] == d["_id"]
    unread = (await bob.get("/chat/Message/unread.json", f"chat_dialog_ids={d['_id']}")).json()
    assert unread == {"total": 0, d["_id"]: 0}  # bob's own reply marked what came before read
    m = (
        await alice.post("/chat/Message.json", {"chat_dialog_id": d["_id"], "message": "late"})
    ).json()
    assert (await bob.get("/chat/Message/unread.json")).json()["total"] == 1
    past = int(time.time()) - 3600
    peek = await bob.get(
        "/chat/Message.json",
        f"chat_dialog_id={d['_id']}&date_sent[gt]={past}&mark_as_read=0&sort_desc=date_sent&limit=2",
    )
    items = peek.json()["items"]
    assert [i["_id"] for i in items] == [m["_id"], reply["_id"]] and items[0]["read"] == 0
    assert (await bob.get("/chat/Message/unread.json")).json()["total"] == 1
    mine = await bob.get(
        "/chat/Message.json", f"chat_dialog_id={d['_id']}&sender_id={a}&mark_as_read=0"
    )
    assert [i["message"] for i in mine.json()["items"]] == ["m0", "m1", "m2", "late"]
    ctn = await bob.get(
        "/chat/Message.json", f"chat_dialog_id={d['_id']}&message[ctn]=m1&mark_as_read=0"
    )
    assert [i["message"] for i in ctn.json()["items"]] == ["m1"]
    future = await bob.get(
        "/chat/Message.json", f"chat_dialog_id={d['_id']}&date_sent[gt]={past + 7200}"
    )
    assert future.json()["items"] == []
    await bob.get("/chat/Message.json", f"chat_dialog_id={d['_id']}")
    assert (await bob.get("/chat/Message/unread.json")).json()["total"] == 0
    n = (
        await alice.post("/chat/Message.json", {"chat_dialog_id": d["_id"], "message": "n"})
    ).json()
    assert (
        await bob.put(f"/chat/Message/{n['_id']}.json", {"read": 1, "chat_dialog_id": d["_id"]})
    ).status_code == 200
    assert (await bob.get("/chat/Message/unread.json")).json()["total"] == 0
    o = (
        await alice.post("/chat/Message.json", {"chat_dialog_id": d["_id"], "message": "o"})
    ).json()
    assert (
        await bob.put("/chat/Message.json", {"read": 1, "chat_dialog_id": d["_id"]})
    ).status_code == 200
    history = (
        await alice.get("/chat/Message.json", f"chat_dialog_id={d['_id']}&_id[gt]={n['_id']}")
    ).json()
    assert [i["_id"] for i in history["items"]] == [o["_id"]] and b in history["items"][0][
        "read_ids"
    ]


async def test_edit_and_delete_messages(server, cube) -> None:
    """§5.4: PUT with ``message`` edits; DELETE without force hides for me, with force
    (form body) for everyone; other people's messages are refused."""
    _app, [(alice, _a), (bob, b)] = await _users(server, cube, 2)
    d = (
        await alice.post("/chat/Dialog.json", {"type": 2, "name": "x", "occupants_ids": [b]})
    ).json()
    m1, m2, m3 = [
        (await alice.post("/chat/Message.json", {"chat_dialog_id": d["_id"], "message": t})).json()
        for t in ("one", "two", "three")
    ]
    assert (
        await alice.put(f"/chat/Message/{m1['_id']}.json", {"message": "uno"})
    ).status_code == 200
    assert (
        await bob.put(f"/chat/Message/{m1['_id']}.json", {"message": "hack"})
    ).status_code == 403
    await bob.delete(f"/chat/Message/{m2['_id']}.json")
    gone = await alice.delete(f"/chat/Message/{m3['_id']}.json", "force=1")
    assert gone.status_code == 200 and gone.json()["SuccessfullyDeleted"] == {"ids": [m3["_id"]]}
    seen_by_bob = await bob.get("/chat/Message.json", f"chat_dialog_id={d['_id']}")
    assert [i["message"] for i in seen_by_bob.json()["items"]] == ["uno"]
    seen_by_alice = await alice.get("/chat/Message.json", f"chat_dialog_id={d['_id']}")
    assert [i["message"] for i in seen_by_alice.json()["items"]] == ["uno", "two"]
    missing = await alice.delete(f"/chat/Message/{'0' * 24}.json", "force=1")
    assert missing.status_code == 404


async def test_search_notifications_and_system_messages(server, cube) -> None:
    """§5.2/§5.4: global search shape, notification settings, system message reply."""
    _app, [(alice, _a), (bob, b)] = await _users(server, cube, 2)
    d = (
        await alice.post(
            "/chat/Dialog.json", {"type": 2, "name": "Lorem club", "occupants_ids": [b]}
        )
    ).json()
    await bob.post("/chat/Message.json", {"chat_dialog_id": d["_id"], "message": "lorem ipsum"})
    found = (
        await alice.get(
            "/chat/search.json", f"search_text=lorem&limit=3&chat_dialog_ids={d['_id']}"
        )
    ).json()
    assert [x["_id"] for x in found["results"]["dialogs"]] == [d["_id"]]
    assert [x["message"] for x in found["results"]["messages"]] == ["lorem ipsum"]
    assert "users" in found["results"]
    path = f"/chat/Dialog/{d['_id']}/notifications.json"
    assert (await alice.get(path)).json() == {"notifications": {"enabled": 1}}
    assert (await alice.put(path, {"enabled": 0})).json() == {"notifications": {"enabled": 0}}
    assert (await alice.get(path)).json() == {"notifications": {"enabled": 0}}
    system = await alice.post("/chat/Message/system.json", {"recipientId": b, "kind": "ping"})
    assert system.status_code == 201
    assert system.json()["recipientId"] == b and system.json()["extensionParams"] == {
        "kind": "ping"
    }
    assert len(system.json()["messageId"]) == 24


async def test_blob_create_upload_complete_download_attach(server, cube) -> None:
    """§7.2/§7.3: create → multipart upload to the handed-out URL with CB-Token →
    complete with a flat size → public URL without a token, private with ?token=;
    as a message attachment the other member may download it."""
    _app, [(alice, _a), (bob, b), (carol, _c)] = await _users(server, cube, 3)
    created = await alice.post(
        "/blobs.json", {"blob": {"name": "cat.txt", "content_type": "text/plain", "public": False}}
    )
    assert created.status_code == 201
    blob = created.json()["blob"]
    url = httpx.URL(blob["blob_object_access"]["params"])
    assert url.path == "/connectycube/blobs/upload" and url.params["key"] == blob["uid"]
    fields = {k: v for k, v in url.params.items()}
    upload = await alice.http.post(
        str(url.copy_with(query=None)),
        data=fields,
        files={"file": (None, b"meow meow!", "application/octet-stream")},
        headers={"CB-Token": alice.token, "CB-SDK": "JS 6.1.2 - Client"},
    )
    assert upload.status_code == 201, upload.text
    assert (await alice.put(f"/blobs/{blob['id']}/complete.json", {"size": 10})).status_code == 200
    info = (await alice.get(f"/blobs/{blob['id']}.json")).json()["blob"]
    assert info["size"] == 10 and info["uid"] == blob["uid"]
    private = f"/blobs/{blob['uid']}"
    assert (await cube().http.get(private)).status_code == 404
    got = await cube().http.get(f"{private}?token={alice.token}")
    assert got.status_code == 200 and got.content == b"meow meow!"
    d = (await alice.post("/chat/Dialog.json", {"type": 3, "occupants_ids": [b]})).json()
    msg = await alice.post(
        "/chat/Message.json",
        {
            "chat_dialog_id": d["_id"],
            "message": "",
            "attachments": [{"type": "photo", "uid": blob["uid"], "id": str(blob["id"])}],
        },
    )
    assert msg.status_code == 201, msg.text
    attachment = msg.json()["attachments"][0]
    assert attachment["uid"] == blob["uid"] and attachment["type"] == "photo"
    assert (await cube().http.get(f"{private}?token={bob.token}")).content == b"meow meow!"
    assert (await cube().http.get(f"{private}?token={carol.token}")).status_code == 404
    public = (await alice.post("/blobs.json", {"blob": {"name": "p.bin", "public": True}})).json()[
        "blob"
    ]
    await alice.http.post(
        "/blobs/upload",
        data={"key": public["uid"]},
        files={"file": (None, b"\x00\x01")},
        headers={"CB-Token": alice.token},
    )
    assert (await cube().http.get(f"/blobs/{public['uid']}")).content == b"\x00\x01"
    listed = (await alice.get("/blobs.json", "page=1&per_page=10")).json()
    assert listed["total_entries"] == 2 and "blob" in listed["items"][0]
    assert (await alice.delete(f"/blobs/{public['id']}.json")).status_code == 200
    assert (await cube().http.get(f"/blobs/{public['uid']}")).status_code == 404


async def test_push_subscriptions_and_events(server, cube) -> None:
    """§8: subscriptions go to the core's device registry; events are accepted."""
    _app, [(alice, _a), (_bob, b)] = await _users(server, cube, 2)
    body = {
        "notification_channel": "gcm",
        "push_token": {
            "environment": "development",
            "client_identification_sequence": "fcm-token-1",
        },
        "device": {"platform": "android", "udid": "device-1"},
    }
    made = await alice.post("/subscriptions.json", body)
    assert made.status_code == 201, made.text
    sub = made.json()[0]["subscription"]
    assert sub["notification_channel"] == {"name": "gcm"} and sub["device"]["udid"] == "device-1"
    listed = (await alice.get("/subscriptions.json")).json()
    assert [s["subscription"]["id"] for s in listed] == [sub["id"]]
    web = await alice.post("/subscriptions.json", {**body, "notification_channel": "web"})
    assert web.status_code == 422
    import base64
    import json

    message = base64.b64encode(json.dumps({"message": "Hello"}).encode()).decode()
    event = await alice.post(
        "/events.json",
        {
            "event": {
                "notification_type": "push",
                "environment": "development",
                "user": {"ids": str(b)},
                "message": message,
            }
        },
    )
    assert event.status_code == 201, event.text
    assert event.json()[0]["event"]["message"] == message
    assert (await alice.delete(f"/subscriptions/{sub['id']}.json")).status_code == 200
    assert (await alice.get("/subscriptions.json")).json() == []


async def test_cors_preflight_and_json_errors(server, cube) -> None:
    """§2.2/§2.4: browsers' preflight is answered; unknown routes still answer JSON."""
    client = cube()
    pre = await client.http.options(
        "/chat/Dialog.json",
        headers={
            "Origin": "http://example.com",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "CB-Token, CB-SDK, Content-Type",
        },
    )
    assert pre.status_code == 200
    assert "PUT" in pre.headers["access-control-allow-methods"]
    assert "cb-token" in pre.headers["access-control-allow-headers"].lower()
    missing = await client.get("/no/such/route.json")
    assert missing.status_code == 404 and "errors" in missing.json()
