"""tidings.client hands back typed answers, and refuses answers it cannot read.

Against the live server every method's answer is the model the route declares
(docs/api.md "Python client"). Against small stand-in servers on 127.0.0.1 that
answer with the wrong shape, the client raises a ``bad_answer`` error and keeps
no half-read state.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.helpers import expect_error
from tidings.client import (
    ApiError,
    Contact,
    Dialog,
    DialogList,
    ErrorFrame,
    Event,
    FileInfo,
    Hello,
    HistoryOut,
    Message,
    NotificationsOut,
    Presence,
    PrivacyList,
    PrivacyNames,
    RealtimeConnection,
    RealtimeError,
    ResyncDialog,
    SearchOut,
    SessionOut,
    TidingsClient,
    UnreadOut,
    User,
)


async def test_rest_answers_are_typed(server) -> None:
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app, password="bob's password")
    login = await server.client().login(app.id, bob.login, "bob's password")
    assert isinstance(login, SessionOut) and login.user_id == bob.id

    me = await alice_c.me()
    assert isinstance(me, User) and me.id == alice.id
    assert isinstance(await alice_c.get_user(bob.id), User)
    assert isinstance(await alice_c.presence(bob.id), Presence)

    dialog = await alice_c.create_dialog("group", [bob.id], name="typed")
    assert isinstance(dialog, Dialog) and sorted(dialog.occupant_ids) == sorted([alice.id, bob.id])
    assert await bob_c.get_dialog(dialog.id) == (await bob_c.list_dialogs()).items[0]
    listing = await alice_c.list_dialogs()
    assert isinstance(listing, DialogList) and listing.total == 1
    renamed = await alice_c.update_dialog(dialog.id, name="renamed")
    assert isinstance(renamed, Dialog) and renamed.name == "renamed"
    muted = await bob_c.set_muted(dialog.id, True)
    assert muted == NotificationsOut(muted=True)

    sent = await alice_c.send_message(dialog.id, "typed hello", params={"k": 1})
    assert isinstance(sent, Message) and sent.seq == 1 and sent.params == {"k": 1}
    page = await bob_c.history(dialog.id)
    assert isinstance(page, HistoryOut) and page.items == [sent]
    edited = await alice_c.edit_message(dialog.id, sent.id, "typed, edited")
    assert isinstance(edited, Message) and edited.edited is True
    unread = await bob_c.unread()
    assert unread == UnreadOut(total=1, dialogs={dialog.id: 1})
    assert await bob_c.mark_read(dialog.id) == 1
    found = await bob_c.search("edited")
    assert isinstance(found, SearchOut) and [m.id for m in found.messages] == [sent.id]

    asked = await alice_c.add_contact(bob.id)
    assert isinstance(asked, Contact) and asked.status == "requested"
    confirmed = await bob_c.confirm_contact(alice.id)
    assert isinstance(confirmed, Contact) and confirmed.status == "confirmed"
    contacts = await alice_c.contacts()
    assert [(type(c), c.user_id) for c in contacts] == [(Contact, bob.id)]
    stored = await alice_c.put_privacy_list("quiet", [{"user_id": bob.id, "action": "allow"}])
    assert isinstance(stored, PrivacyList) and stored.items[0].user_id == bob.id
    active = await alice_c.set_active_privacy_list("quiet")
    assert active == PrivacyNames(names=["quiet"], active="quiet")


async def test_a_json_file_downloads_as_bytes(server) -> None:
    """download() gives the stored bytes whatever the content type: a JSON file is
    not decoded (request() would, since the answer says application/json)."""
    _app, _user, client = await server.new_client()
    data = b'{"a": 1,   "b": [2]}'
    info = await client.upload("data.json", data, content_type="application/json")
    assert isinstance(info, FileInfo) and info.size == len(data)
    assert await client.download(info.uid) == data


async def test_typed_calls_keep_the_tenant_boundary(server) -> None:
    """Typed or not, another user's or another app's dialog is not there for you."""
    app, _alice, alice_c = await server.new_client()
    _, bob, _ = await server.new_client(app)
    _, _carol, carol_c = await server.new_client(app)
    _, _mallory, mallory_c = await server.new_client()
    dialog = await alice_c.create_dialog("private", [bob.id])
    for outsider in (carol_c, mallory_c):
        await expect_error(outsider.get_dialog(dialog.id), 404, "dialog_not_found")
        await expect_error(outsider.history(dialog.id), 404, "dialog_not_found")
        assert (await outsider.list_dialogs()).items == []


async def test_realtime_answers_are_typed(server) -> None:
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    async with (
        RealtimeConnection.connect(server.ws_url, alice_c.token) as alice_ws,
        RealtimeConnection.connect(server.ws_url, bob_c.token) as bob_ws,
    ):
        assert isinstance(alice_ws.hello, Hello) and alice_ws.hello.user_id == alice.id
        sent = await alice_ws.send_message(dialog.id, "live")
        assert isinstance(sent, Message) and sent.seq == 1
        event = await bob_ws.next_event("message.created")
        assert isinstance(event, Event) and event.data["message"]["id"] == sent.id
        edited = await alice_ws.edit(dialog.id, sent.id, "live, edited")
        assert isinstance(edited, Message) and edited.body == "live, edited"
        assert await bob_ws.mark_read(dialog.id) == 1
        resync = await bob_ws.resync({dialog.id: 0})
        assert isinstance(resync[dialog.id], ResyncDialog)
        assert [m.id for m in resync[dialog.id].messages] == [sent.id]
        await bob_ws.send_raw("not json")
        error = await bob_ws.next_error()
        assert isinstance(error, ErrorFrame) and error.error.code == "bad_json"


# -- answers the client cannot read -------------------------------------------------


@asynccontextmanager
async def http_stub(status: int, content_type: str, body: bytes) -> AsyncIterator[str]:
    """A bare HTTP/1.1 server on 127.0.0.1 giving every request the same answer."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n")
             if line.lower().startswith(b"content-length:")),
            0,
        )  # fmt: skip
        await reader.readexactly(length)
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    stub = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = stub.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stub.close()
        await stub.wait_closed()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"token": "t", "app_id": "not a number"}'),
        ("application/json", b"[]"),
        ("text/html", b"<html>a proxy's page</html>"),
    ],
)
async def test_a_2xx_answer_of_the_wrong_shape_is_a_bad_answer(
    content_type: str, body: bytes
) -> None:
    async with http_stub(200, content_type, body) as url, TidingsClient(url) as client:
        with pytest.raises(ApiError) as info:
            await client.login(1, "ann", "secret")
        assert (info.value.status, info.value.code) == (200, "bad_answer")
        assert "SessionOut" in info.value.message
        assert client.token is None, "a login that could not be read logs nobody in"
        with pytest.raises(ApiError) as info:
            await client.history("a" * 24)
        assert info.value.code == "bad_answer"


async def test_an_error_answer_keeps_its_code() -> None:
    body = json.dumps({"error": {"code": "rate_limited", "message": "slow down"}}).encode()
    async with http_stub(429, "application/json", body) as url, TidingsClient(url) as client:
        error = await expect_error(client.me(), 429, "rate_limited")
        assert error.message == "slow down"


@pytest.mark.parametrize(
    "body", [b'{"error": "boom"}', b'{"error": {"code": 5}}', b"[1]", b"<html>bad gateway</html>"]
)
async def test_an_error_answer_of_another_shape_is_an_http_error(body: bytes) -> None:
    async with http_stub(502, "application/json", body) as url, TidingsClient(url) as client:
        error = await expect_error(client.me(), 502, "http_error")
        assert body.decode() in error.message


@asynccontextmanager
async def ws_stub(
    handler: Callable[[ServerConnection], Awaitable[None]],
) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0) as stub:
        port = next(iter(stub.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/api/v1/ws"


async def test_a_hello_of_the_wrong_shape_is_refused() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "hello", "user_id": "someone"}))
        await ws.wait_closed()

    async with ws_stub(handler) as url:
        with pytest.raises(RealtimeError) as info:
            await RealtimeConnection.connect(url, "token", timeout=5)
        assert info.value.code == "bad_hello"


async def test_a_reply_of_the_wrong_shape_is_a_bad_answer() -> None:
    """An ack without its message (or with half of one) raises; the connection stays
    usable for the next request."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send(
            json.dumps({"type": "hello", "user_id": 1, "app_id": 1, "connection_id": "c"})
        )
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "send":
                await ws.send(json.dumps({"type": "ack", "ref": frame["ref"]}))
            elif frame["type"] == "edit":
                half = {"type": "ack", "ref": frame["ref"], "message": {"id": "x"}}
                await ws.send(json.dumps(half))
            else:
                await ws.send(json.dumps({"type": "pong", "ref": frame["ref"]}))

    async with ws_stub(handler) as url, RealtimeConnection.connect(url, "t", timeout=5) as conn:
        with pytest.raises(RealtimeError) as info:
            await conn.send_message("a" * 24, "hi")
        assert info.value.code == "bad_answer"
        with pytest.raises(RealtimeError) as info:
            await conn.edit("a" * 24, "b" * 24, "hi")
        assert info.value.code == "bad_answer" and "Message" in info.value.message
        assert await conn.ping() >= 0
