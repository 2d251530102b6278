"""A dialog you are not in does not exist for you: every dialog-scoped endpoint answers
404 dialog_not_found (never 403, never the data), for a stranger of the same app, a
user of another app and a former group member. Private files likewise."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tidings.client.rest import TidingsClient

#: (name, method, path template, JSON body or None). ``{d}`` is the hidden dialog,
#: ``{m}`` a message in it.
ENDPOINTS: list[tuple[str, str, str, Any]] = [
    ("get dialog", "GET", "/dialogs/{d}", None),
    ("rename dialog", "PATCH", "/dialogs/{d}", {"name": "hijacked"}),
    ("add self to dialog", "PATCH", "/dialogs/{d}", {"add_occupants": ["{me}"]}),
    ("pin message", "PATCH", "/dialogs/{d}", {"pin": ["{m}"]}),
    ("leave dialog", "DELETE", "/dialogs/{d}", None),
    ("delete dialog for everyone", "DELETE", "/dialogs/{d}?for_everyone=true", None),
    ("history", "GET", "/dialogs/{d}/messages", None),
    ("history after message", "GET", "/dialogs/{d}/messages?after_id={m}", None),
    ("send message", "POST", "/dialogs/{d}/messages", {"body": "intrusion"}),
    ("get message", "GET", "/dialogs/{d}/messages/{m}", None),
    ("edit message", "PATCH", "/dialogs/{d}/messages/{m}", {"body": "tampered"}),
    ("delete message", "DELETE", "/dialogs/{d}/messages/{m}", None),
    ("delete message for all", "DELETE", "/dialogs/{d}/messages/{m}?for_everyone=true", None),
    ("mark read", "POST", "/dialogs/{d}/read", {}),
    ("mark read up to", "POST", "/dialogs/{d}/read", {"message_id": "{m}"}),
    ("mark delivered", "POST", "/dialogs/{d}/delivered", {}),
    ("mark delivered up to", "POST", "/dialogs/{d}/delivered", {"message_id": "{m}"}),
    ("typing", "POST", "/dialogs/{d}/typing", {"typing": True}),
    ("members", "GET", "/dialogs/{d}/members", None),
    ("get notifications", "GET", "/dialogs/{d}/notifications", None),
    ("mute", "PUT", "/dialogs/{d}/notifications", {"muted": True}),
    ("subscribe", "PUT", "/dialogs/{d}/subscription", None),
    ("unsubscribe", "DELETE", "/dialogs/{d}/subscription", None),
]

KINDS = ["private", "group"]
#: (dialog kind, outsider): a private dialog cannot lose a member, so it has no former one.
WHO = [
    pytest.param(kind, outsider, id=f"{kind}-{outsider}")
    for kind in KINDS
    for outsider in ("stranger", "other_app", "former_member")
    if (kind, outsider) != ("private", "former_member")
]


@dataclass
class Hidden:
    """One dialog with a message, its members and the outsiders who must not see it."""

    kind: str
    dialog_id: str
    message_id: str
    secret: str
    name: str | None
    owner: TidingsClient
    member: TidingsClient
    outsiders: dict[str, tuple[int, TidingsClient]]


@dataclass
class Scene:
    dialogs: dict[str, Hidden]


async def _hidden_dialog(server, kind: str) -> Hidden:
    app, _alice, alice = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, carol, carol_c = await server.new_client(app)
    _, dave, dave_c = await server.new_client()
    secret = f"secret{secrets.token_hex(6)}"
    name = None
    if kind == "private":
        dialog = await alice.create_dialog("private", [bob.id])
    else:
        name = f"hidden group {secret}"
        dialog = await alice.create_dialog("group", [bob.id], name=name)
    message = await alice.send_message(dialog.id, f"the {secret} plans")
    outsiders = {"stranger": (carol.id, carol_c), "other_app": (dave.id, dave_c)}
    if kind == "group":
        _, erin, erin_c = await server.new_client(app)
        await alice.update_dialog(dialog.id, add_occupants=[erin.id])
        await erin_c.history(dialog.id)  # really was a member
        await alice.update_dialog(dialog.id, remove_occupants=[erin.id])
        outsiders["former_member"] = (erin.id, erin_c)
    return Hidden(kind, dialog.id, message.id, secret, name, alice, bob_c, outsiders)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scene(server) -> Scene:
    """Built once per backend: the checks below only read (or must fail to write)."""
    return Scene({kind: await _hidden_dialog(server, kind) for kind in KINDS})


def _fill(value: Any, hidden: Hidden, me: int) -> Any:
    if isinstance(value, str):
        if value == "{me}":
            return me
        return value.format(d=hidden.dialog_id, m=hidden.message_id)
    if isinstance(value, list):
        return [_fill(v, hidden, me) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, hidden, me) for k, v in value.items()}
    return value


def _pick(scene: Scene, kind: str, outsider: str) -> tuple[Hidden, int, TidingsClient]:
    hidden = scene.dialogs[kind]
    user_id, client = hidden.outsiders[outsider]
    return hidden, user_id, client


async def _still_intact(hidden: Hidden) -> None:
    """The owner still sees the dialog exactly as before."""
    dialog = await hidden.owner.get_dialog(hidden.dialog_id)
    assert dialog.name == hidden.name
    assert dialog.pinned_message_ids == []
    page = await hidden.owner.history(hidden.dialog_id)
    assert [(m.id, m.body, m.edited) for m in page.items] == [
        (hidden.message_id, f"the {hidden.secret} plans", False)
    ]
    assert set(dialog.occupant_ids).isdisjoint(user_id for user_id, _ in hidden.outsiders.values())


@pytest.mark.parametrize(("kind", "outsider"), WHO)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [pytest.param(m, p, b, id=name) for name, m, p, b in ENDPOINTS],
)
async def test_outsider_gets_dialog_not_found(
    server, scene: Scene, kind: str, outsider: str, method: str, path: str, body: Any
) -> None:
    """Every dialog-scoped endpoint answers 404 dialog_not_found to someone outside
    the dialog, reveals nothing of it, and changes nothing."""
    hidden, me, client = _pick(scene, kind, outsider)
    kwargs = {} if body is None else {"json": _fill(body, hidden, me)}
    response = await client.http.request(
        method,
        _fill(path, hidden, me),
        headers={"Authorization": f"Bearer {client.token}"},
        **kwargs,
    )
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "dialog_not_found"
    assert hidden.secret not in response.text
    assert hidden.message_id not in response.text
    await _still_intact(hidden)


@pytest.mark.parametrize(("kind", "outsider"), WHO)
async def test_unread_does_not_leak(server, scene: Scene, kind: str, outsider: str) -> None:
    """Asking unread counts for a dialog you are not in answers 0, exactly as for an id
    that does not exist, although members do have unread messages there."""
    hidden, _me, client = _pick(scene, kind, outsider)
    made_up = secrets.token_hex(12)
    hidden_answer = await client.unread([hidden.dialog_id])
    made_up_answer = await client.unread([made_up])
    assert hidden_answer.model_dump() == {"total": 0, "dialogs": {hidden.dialog_id: 0}}
    assert made_up_answer.model_dump() == {"total": 0, "dialogs": {made_up: 0}}
    assert hidden.dialog_id not in (await client.unread()).dialogs
    # The member on the other side really has one unread there.
    assert (await hidden.member.unread([hidden.dialog_id])).model_dump() == {
        "total": 1,
        "dialogs": {hidden.dialog_id: 1},
    }


@pytest.mark.parametrize(("kind", "outsider"), WHO)
async def test_search_does_not_find_hidden_messages(
    server, scene: Scene, kind: str, outsider: str
) -> None:
    """Search never returns messages or dialogs of a dialog you are not in, not even when
    asked for that dialog by id."""
    hidden, _me, client = _pick(scene, kind, outsider)
    owner_view = await hidden.owner.search(hidden.secret)
    assert [m.id for m in owner_view.messages] == [hidden.message_id]
    for params in ({}, {"dialog_ids": hidden.dialog_id}):
        found = await client.search(hidden.secret, **params)
        assert found.messages == []
        assert found.dialogs == []
        assert hidden.secret not in str(found)


@pytest.mark.parametrize(("kind", "outsider"), WHO)
async def test_hidden_dialog_is_not_listed(server, scene: Scene, kind: str, outsider: str) -> None:
    """GET /dialogs never lists a dialog you are not in."""
    hidden, _me, client = _pick(scene, kind, outsider)
    listed = await client.list_dialogs()
    assert hidden.dialog_id not in [d.id for d in listed.items]


@pytest.mark.parametrize("outsider", ["stranger", "other_app"])
async def test_foreign_message_through_own_dialog(server, scene: Scene, outsider: str) -> None:
    """A message id of a hidden dialog used in one's own dialog is not found there either."""
    hidden, _me, client = _pick(scene, "group", outsider)
    own = await client.create_dialog("group", [], name="my own")
    m = hidden.message_id
    calls = [
        ("GET", f"/dialogs/{own.id}/messages/{m}", None),
        ("PATCH", f"/dialogs/{own.id}/messages/{m}", {"body": "tampered"}),
        ("DELETE", f"/dialogs/{own.id}/messages/{m}?for_everyone=true", None),
        ("POST", f"/dialogs/{own.id}/read", {"message_id": m}),
        ("GET", f"/dialogs/{own.id}/messages?after_id={m}", None),
        ("PATCH", f"/dialogs/{own.id}", {"pin": [m]}),
    ]
    for method, path, body in calls:
        kwargs = {} if body is None else {"json": body}
        response = await client.http.request(
            method, path, headers={"Authorization": f"Bearer {client.token}"}, **kwargs
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "message_not_found"
        assert hidden.secret not in response.text
    # Reusing the hidden message's id for a new message does not reveal or touch it.
    response = await client.http.post(
        f"/dialogs/{own.id}/messages",
        json={"id": m, "body": "mine"},
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert response.status_code in (404, 409), response.text
    assert hidden.secret not in response.text
    await _still_intact(hidden)


async def test_private_file_of_someone_else(server) -> None:
    """A private file is 404 file_not_found to a stranger, a user of another app and an
    anonymous caller, for its info, its content, deleting it and attaching it."""
    app, _owner, owner_c = await server.new_client()
    _, _stranger, stranger_c = await server.new_client(app)
    _, _far, far_c = await server.new_client()
    data = b"private bytes " + secrets.token_bytes(64)
    info = await owner_c.upload("private.bin", data)
    uid = info.uid
    anonymous = server.client()
    for client in (stranger_c, far_c, anonymous):
        for method, path in (
            ("GET", f"/files/{uid}"),
            ("GET", f"/files/{uid}/content"),
        ):
            response = await client.http.request(
                method,
                path,
                headers={"Authorization": f"Bearer {client.token}"} if client.token else {},
            )
            assert response.status_code == 404, (method, path, response.status_code)
            assert response.json()["error"]["code"] == "file_not_found"
            assert data not in response.content
    for client in (stranger_c, far_c):
        response = await client.http.delete(
            f"/files/{uid}", headers={"Authorization": f"Bearer {client.token}"}
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "file_not_found"
        own = await client.create_dialog("group", [], name="mine")
        response = await client.http.post(
            f"/dialogs/{own.id}/messages",
            json={"body": "look", "attachments": [{"file_id": uid}]},
            headers={"Authorization": f"Bearer {client.token}"},
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "file_not_found"
        assert (await client.history(own.id)).items == []
        # Still not theirs after trying.
        response = await client.http.get(
            f"/files/{uid}/content", headers={"Authorization": f"Bearer {client.token}"}
        )
        assert response.status_code == 404
    assert await owner_c.download(uid) == data


async def test_public_file_of_another_app_cannot_be_attached(server) -> None:
    """A public file is downloadable by anyone, but only its own app's users attach it."""
    _app, _owner, owner_c = await server.new_client()
    _, _far, far_c = await server.new_client()
    info = await owner_c.upload("public.txt", b"hello world", public=True)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get(f"/api/v1/files/{info.uid}/content")
    assert response.status_code == 200 and response.content == b"hello world"
    own = await far_c.create_dialog("group", [], name="far")
    response = await far_c.http.post(
        f"/dialogs/{own.id}/messages",
        json={"body": "x", "attachments": [{"file_id": info.uid}]},
        headers={"Authorization": f"Bearer {far_c.token}"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "file_not_found"
