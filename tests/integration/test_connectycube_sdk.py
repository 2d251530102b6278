"""The unmodified ConnectyCube JS SDK (connectycube@6.1.2, Node.js) against tidings.

Each test runs one named flow of ``tests/js/connectycube/flows.mjs`` (the seed's
flows) in a Node process against the in-process server, then checks what the
SDK got back and what the server stored or the other side received. Chat flows
need the XMPP gateway at ``/xmpp-websocket``; they skip when it is not mounted.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

from tidings.client import RealtimeConnection
from tidings.domain.models import Actor, HistoryFilter

HARNESS = Path(__file__).resolve().parents[1] / "js" / "connectycube"
FLOW_TIMEOUT = 120


def _require_node() -> str:
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not installed"
    elif not (HARNESS / "node_modules" / "connectycube").is_dir():
        problem = f"run `npm ci` in {HARNESS} (make test-deps)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    assert node is not None
    return node


async def _xmpp_websocket_mounted(server) -> bool:
    url = server.base_url.replace("http", "ws", 1) + "/xmpp-websocket"
    try:
        async with websockets.connect(url, subprotocols=["xmpp"], open_timeout=5):
            return True
    except (OSError, websockets.InvalidHandshake, TimeoutError):
        return False


async def run_flow(
    server,
    flow: str,
    users: list[dict[str, Any]],
    app,
    on_step: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
) -> Any:
    """Run one flow; its result, or a failed assertion carrying the SDK's error.

    A flow that needs the server to act mid-way (drop a socket) prints ``STEP {...}``;
    ``on_step`` does it and its answer goes back to the flow as a line on stdin.
    """
    node = _require_node()
    env = {
        **os.environ,
        "BASE_URL": server.base_url,
        "APP_ID": str(app.id),
        "AUTH_KEY": app.auth_key,
        "CHAT_DOMAIN": server.settings.xmpp_domain,
        "USERS": json.dumps(users),
    }
    process = await asyncio.create_subprocess_exec(
        node,
        str(HARNESS / "flows.mjs"),
        flow,
        cwd=HARNESS,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    out: list[str] = []

    async def follow() -> bytes:
        assert process.stdin is not None and process.stdout is not None
        while line := (await process.stdout.readline()).decode():
            out.append(line)
            if line.startswith("STEP ") and on_step is not None:
                answer = await on_step(json.loads(line[len("STEP ") :]))
                process.stdin.write(json.dumps(answer).encode() + b"\n")
                await process.stdin.drain()
        process.stdin.close()
        return await errors

    assert process.stderr is not None
    errors = asyncio.ensure_future(process.stderr.read())  # read alongside, never blocks
    try:
        err = await asyncio.wait_for(follow(), FLOW_TIMEOUT)
        await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    lines = [json.loads(line[len("RESULT ") :]) for line in out if line.startswith("RESULT ")]
    assert lines, f"no result from node:\n{''.join(out)[-2000:]}\n{err.decode()[-2000:]}"
    result = lines[0]
    assert result["ok"], f"flow {flow} failed: {result.get('error')}\n{err.decode()[-2000:]}"
    return result["result"]


async def _people(server, n: int = 3) -> tuple[Any, list[dict[str, Any]]]:
    app = await server.new_app()
    users = []
    for _ in range(n):
        _app, user, _token = await server.new_user(app)
        users.append({"id": user.id, "login": user.login, "password": "correct horse"})
    return app, users


def _actor(app, user: dict[str, Any]) -> Actor:
    return Actor(app_id=app.id, user_id=user["id"])


async def test_sdk_session_login_logout(server) -> None:
    """Seed: create session, login; §3/§2.6: same token bound, logout keeps an app
    session, an unknown token rejects with the expiry body."""
    app, users = await _people(server, 1)
    r = await run_flow(server, "session", users, app)
    assert r["app_user_id"] == 0 and r["token_kept"]
    assert r["login_user_id"] == users[0]["id"] == r["session_user_id"]
    assert r["after_logout_user_id"] == 0
    assert r["expired"] == {
        "code": 401,
        "info": {"errors": {"base": ["Required session does not exist"]}},
    }


async def test_sdk_session_expired_hook_retries(server) -> None:
    """§2.6: the SDK's sessionExpired hook fires on our 401 and the retry succeeds."""
    app, users = await _people(server, 1)
    r = await run_flow(server, "sessionExpiredHook", users, app)
    assert r == {"called": 1, "listed": True}


async def test_sdk_signup_get_update_delete(server) -> None:
    """Seed: sign up (CB-AuthKey), log in, look users up with getV2, update, delete."""
    app, users = await _people(server, 1)
    r = await run_flow(server, "signup", users, app)
    new_id = r["user"]["id"]
    assert r["session_user_id"] == new_id and r["updated"]["full_name"] == "Renamed"
    assert sorted(u["id"] for u in r["found"]["items"]) == sorted([new_id, users[0]["id"]])
    stored = await server.core.users.list_users(_actor(app, users[0]), ids=[new_id])
    assert stored == []  # deleted


async def test_sdk_dialogs_create_list_update_delete(server) -> None:
    """Seed: private/group/public dialogs, list and filter, occupants, admins, pinned
    messages, delete one and several with force."""
    app, users = await _people(server, 3)
    a, b, c = (u["id"] for u in users)
    r = await run_flow(server, "dialogs", users, app)
    assert r["priv"]["type"] == 3 and sorted(r["priv"]["occupants_ids"]) == sorted([a, b])
    group = r["group"]
    assert group["type"] == 2 and sorted(group["occupants_ids"]) == sorted([a, b, c])
    assert group["xmpp_room_jid"].startswith(f"{app.id}_{group['_id']}@muc.")
    assert group["extensions"] == {"theme": "pizza"}
    assert r["pub"]["type"] == 4 and c in r["subscribed"]["occupants_ids"]
    assert {u["id"] for u in r["occupants"]["items"]} == {a, c}
    listed = {d["_id"] for d in r["list"]["items"]}
    assert {r["priv"]["_id"], group["_id"], r["pub"]["_id"]} <= listed
    assert {d["type"] for d in r["filtered"]["items"]} == {2, 3}
    assert r["counted"]["items"]["count"] >= 3
    assert r["renamed"]["name"] == "Saturday party" and c not in r["renamed"]["occupants_ids"]
    assert c in r["regrown"]["occupants_ids"]
    assert r["withAdmins"]["admins_ids"] == [b] and r["withoutAdmins"]["admins_ids"] == []
    assert (
        len(r["pinned"]["pinned_messages_ids"]) == 1 and r["unpinned"]["pinned_messages_ids"] == []
    )
    assert len(r["deletedMany"]["SuccessfullyDeleted"]["ids"]) == 2
    # What the other side sees: bob's list has the group renamed, not the deleted ones.
    _total, bobs = await server.core.dialogs.list_dialogs(_actor(app, users[1]))
    names = {d.id: d.name for d in bobs}
    assert names[group["_id"]] == "Saturday party" and r["throwaway"] not in names


async def test_sdk_history_filters_unread_edit_delete(server) -> None:
    """Seed: history with filters, unread counts, mark read (one and all), message
    update and delete via REST; checked against the server's own history."""
    app, users = await _people(server, 2)
    r = await run_flow(server, "history", users, app)
    sent = [m["_id"] for m in r["sent"]]
    assert r["sent"][0]["mood"] == "happy"
    assert r["unreadBefore"] == {"total": 3, r["dialog_id"]: 3}
    assert [m["_id"] for m in r["peek"]["items"]] == sent[:0:-1]
    assert r["unreadAfterPeek"]["total"] == 3
    assert [m["_id"] for m in r["bySender"]["items"]] == sent
    assert r["unreadAfterOne"]["total"] == 2
    assert r["unreadAfterAll"]["total"] == 0
    assert [m["message"] for m in r["final"]["items"]] == ["first", "second, edited"]
    page = await server.core.messages.history(
        _actor(app, users[1]), r["dialog_id"], HistoryFilter(limit=10)
    )
    assert [m.body for m in page.messages] == ["first", "second, edited"]


async def test_sdk_global_search(server) -> None:
    """Seed: global search with dates (the SDK sends ISO strings) and dialog ids."""
    app, users = await _people(server, 2)
    r = await run_flow(server, "search", users, app)
    results = r["found"]["results"]
    assert [d["_id"] for d in results["dialogs"]] == [r["dialog_id"]]
    assert [m["message"] for m in results["messages"]] == ["lorem ipsum dolor"]


async def test_sdk_chat_alert_settings(server) -> None:
    """Seed: chat notifications settings update and get."""
    app, users = await _people(server, 2)
    r = await run_flow(server, "alerts", users, app)
    assert r["initial"] == {"enabled": 1} or r["initial"] == {"notifications": {"enabled": 1}}
    assert r["read"] in ({"enabled": 0}, {"notifications": {"enabled": 0}})
    assert await server.core.dialogs.is_muted(_actor(app, users[0]), r["dialog_id"]) is False


async def test_sdk_attachments_upload_send_download(server) -> None:
    """Seed: upload a file (create → multipart upload → complete), send it as an
    attachment, the other side downloads it through the private URL."""
    app, users = await _people(server, 2)
    r = await run_flow(server, "attachments", users, app)
    blob = r["blob"]
    assert blob["size"] == len("a tiny picture of a cat") and len(blob["uid"]) >= 32
    attachment = r["history"]["items"][0]["attachments"][0]
    assert attachment["uid"] == blob["uid"] and attachment["type"] == "photo"
    assert r["downloaded"] == "a tiny picture of a cat"
    assert r["anonymous"] == 404
    assert r["info"]["blob"]["size"] == blob["size"]
    assert r["publicBytes"] == [0, 1, 2, 255]


async def test_sdk_push_subscription_and_event(server) -> None:
    """§8: subscriptions land in the core's device registry; events are accepted."""
    app, users = await _people(server, 2)
    r = await run_flow(server, "push", users, app)
    sub = r["sub"][0]["subscription"]
    assert sub["device"]["udid"] == "sdk-device-1"
    assert [s["subscription"]["id"] for s in r["list"]] == [sub["id"]]
    assert r["event"][0]["event"]["user_id"] == users[0]["id"]
    assert r["after"] == []


# -- chat over XMPP ----------------------------------------------------------------


async def _require_xmpp(server) -> None:
    if not await _xmpp_websocket_mounted(server):
        pytest.skip("the XMPP gateway (/xmpp-websocket) is not mounted yet")


async def test_sdk_chat_connect_with_password_and_token(server) -> None:
    """Seed: connect with the password, and with the session token as the password."""
    await _require_xmpp(server)
    app, users = await _people(server, 2)
    r = await run_flow(server, "chatConnect", users, app)
    assert r["pong"] is True


async def test_sdk_chat_private_send_receive_markers_typing_edit_delete(server) -> None:
    """Seed: 1-1 send/receive, typing, delivered/read markers, edit, delete; the
    message is in the server's history under the id the SDK chose."""
    await _require_xmpp(server)
    app, users = await _people(server, 2)
    r = await run_flow(server, "chatPrivate", users, app)
    assert r["fromId"] == users[0]["id"] and r["message"]["body"] == "hello over xmpp"
    assert r["message"]["dialog_id"] == r["dialog_id"]
    assert r["isTyping"] is True and r["typerId"] == users[1]["id"]
    assert r["deliveredId"] == r["id"] and r["readId"] == r["id"]
    assert r["editedId"] == r["id"] and r["editedBody"] == "hello, edited"
    assert r["deletedId"] == r["id"]


async def test_sdk_chat_group_send_receive(server) -> None:
    """Seed: group chat send/receive through the MUC room, stored in history."""
    await _require_xmpp(server)
    app, users = await _people(server, 2)
    r = await run_flow(server, "chatGroup", users, app)
    assert r["fromId"] == users[0]["id"] and r["message"]["body"] == "hello group"
    page = await server.core.messages.history(_actor(app, users[1]), r["dialog_id"])
    assert [m.id for m in page.messages] == [r["id"]]


async def test_sdk_chat_privacy_block_error(server) -> None:
    """Seed: a blocked sender's 1-1 message bounces with the 503 error."""
    await _require_xmpp(server)
    app, users = await _people(server, 2)
    r = await run_flow(server, "chatPrivacy", users, app)
    assert r["errorId"] == r["id"] and r["error"]["code"] == 503
    assert "blocked" in json.dumps(r["names"])


def _drop_sockets(server, app) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    """A flow's ``{"drop": user_id}`` step: the server closes that user's XMPP sockets
    without a word (no ``</stream>``), as a crashed proxy or a lost network would."""

    async def on_step(request: dict[str, Any]) -> int:
        gateway = server.app.state.xmpp
        dropped = 0
        for session in gateway.registry.of_user(app.id, request["drop"]):
            if session.link is not None:
                session.link.transport.close()
                dropped += 1
        return dropped

    return on_step


async def test_sdk_chat_reconnects_after_the_server_drops_it(server) -> None:
    """Seed "Reconnection": the server drops the SDK's socket; the SDK reconnects by
    itself, receives what was sent meanwhile (once), and chats both ways. Then
    disconnect() and connect() again (the seed's background/foreground advice)."""
    await _require_xmpp(server)
    app, users = await _people(server, 2)
    r = await run_flow(server, "chatReconnect", users, app, _drop_sockets(server, app))
    a = users[0]["id"]
    assert r["dropped"] == 1
    assert r["away"]["userId"] == a and r["away"]["message"]["id"] == r["awayId"]
    assert r["after"]["userId"] == a and r["reply"]["userId"] == users[1]["id"]
    assert r["offline"]["message"]["id"] == r["whileOffId"]
    assert r["welcome"]["userId"] == a and r["thanks"]["userId"] == users[1]["id"]
    page = await server.core.messages.history(_actor(app, users[1]), r["dialog_id"])
    bodies = [m.body for m in page.messages]
    assert bodies == [
        "while you were away",
        "after reconnect",
        "back again",
        "while you were out",
        "welcome back",
        "thanks",
    ]


async def test_sdk_chat_self_destroy_is_live_only(server) -> None:
    """Seed "Self-destroy message": the receiver gets the text and the interval; the
    message is in no history (REST through the SDK, and the core's)."""
    await _require_xmpp(server)
    app, users = await _people(server, 2)
    r = await run_flow(server, "chatSelfDestroy", users, app)
    assert r["userId"] == users[0]["id"] and r["message"]["id"] == r["id"]
    assert r["message"]["extension"]["destroy_after"] == "10"
    assert [m["message"] for m in r["history"]["items"]] == ["a normal one"]
    page = await server.core.messages.history(_actor(app, users[1]), r["dialog_id"])
    assert [m.body for m in page.messages] == ["a normal one"]


async def test_sdk_chat_contact_attachment(server) -> None:
    """Seed "contact profile via chat attachments": no file, just a card as data; the
    receiver parses it, and it is kept in history (sent over XMPP and over REST)."""
    await _require_xmpp(server)
    app, users = await _people(server, 2)
    r = await run_flow(server, "chatContactAttachment", users, app)
    card = {"phone": "180032323223", "name": "Samuel Johnson"}
    assert r["received"] == card
    assert r["message"]["extension"]["attachments"][0]["type"] == "contact"
    items = r["history"]["items"]
    assert [m["message"] for m in items] == ["Contact Attachment", "Contact over REST"]
    for item in items:
        (attachment,) = item["attachments"]
        assert attachment["type"] == "contact" and json.loads(attachment["data"]) == card
    page = await server.core.messages.history(_actor(app, users[1]), r["dialog_id"])
    assert [m.attachments[0]["type"] for m in page.messages] == ["contact", "contact"]


async def test_sdk_chat_system_messages_xmpp_and_rest(server) -> None:
    """§10.8: a system message sent with chat.sendSystemMessage and one sent through
    POST /chat/Message/system both reach the receiver's onSystemMessageListener."""
    await _require_xmpp(server)
    app, users = await _people(server, 2)
    r = await run_flow(server, "chatSystemMessages", users, app)
    first, second = r["got"]
    assert first["id"] == r["id"] and first["userId"] == users[0]["id"]
    assert first["body"] == "dialog/UPDATE"
    assert first["extension"] == {"photo_uid": "abc", "nested": {"a": "1"}}
    assert second["userId"] == users[0]["id"] and second["id"] == r["rest"]["messageId"]
    assert second["extension"] == {"action": "call-ended", "seconds": "42"}


async def test_sdk_chat_last_activity(server) -> None:
    """Seed: a user's online status; XEP-0012 answers 0 while online, and the SDK reads
    the user id from the reply."""
    await _require_xmpp(server)
    app, users = await _people(server, 2)
    r = await run_flow(server, "chatLastActivity", users, app)
    assert r["online"] == {"userId": users[1]["id"], "seconds": 0}
    assert r["offline"]["userId"] == users[1]["id"] and r["offline"]["seconds"] >= 0


async def test_sdk_and_native_api_see_the_same_chat(server) -> None:
    """Issue 3: one chat, two APIs. A 1-1 message the SDK sends over XMPP is in the
    recipient's native history (``GET /api/v1/dialogs/{id}/messages``) and unread counts
    (``GET /api/v1/unread``); the recipient's answer over the native WebSocket reaches
    the SDK's onMessageListener with its id and dialog id."""
    await _require_xmpp(server)
    app, users = await _people(server, 1)
    _app, peer, token = await server.new_user(app)
    users.append({"id": peer.id, "login": peer.login, "password": "correct horse"})
    native = server.client(token)
    connections: list[RealtimeConnection] = []
    seen: dict[str, Any] = {}

    async def on_step(request: dict[str, Any]) -> Any:
        # Errors go back to the flow (which fails with them) rather than leave it waiting.
        try:
            if "listen" in request:
                connections.append(await RealtimeConnection.connect(server.ws_url, token))
                return {"listening": True}
            ws = connections[0]
            # Events are published after commit: once it is here, it is stored.
            seen["event"] = (await ws.next_event("message.created")).data
            seen["history"] = await native.history(request["dialog_id"])
            seen["unread"] = await native.unread()
            sent = await ws.send_message(request["dialog_id"], "from the native websocket")
            return sent.to_dict()
        except Exception as exc:  # noqa: BLE001 - reported through the flow's result
            return {"error": repr(exc)}

    try:
        r = await run_flow(server, "chatNative", users, app, on_step)
    finally:
        for connection in connections:
            await connection.close()
    dialog_id, sdk_id = r["dialog_id"], r["id"]
    # (a) SDK -> native: the recipient's history and unread count have it.
    assert seen["event"]["dialog_id"] == dialog_id and seen["event"]["message"]["id"] == sdk_id
    (stored,) = seen["history"].items
    assert stored.id == sdk_id and stored.body == "from the sdk"
    assert stored.sender_id == users[0]["id"] and stored.dialog_id == dialog_id
    assert seen["unread"].model_dump() == {"total": 1, "dialogs": {dialog_id: 1}}
    # (b) native -> SDK: the SDK's listener got the native message as sent.
    assert r["userId"] == peer.id
    assert r["message"]["id"] == r["native"]["id"]
    assert r["message"]["body"] == "from the native websocket"
    assert r["message"]["dialog_id"] == dialog_id
    history = await native.history(dialog_id)
    assert [m.id for m in history.items] == [sdk_id, r["native"]["id"]]
