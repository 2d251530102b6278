"""The native real-time gateway against a live server, through the Python client.

Two users share a private dialog (made over REST); everything else goes over
``/api/v1/ws`` as docs/realtime.md describes it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import wait_until
from tidings.client import RealtimeConnection, RealtimeError, ResyncDialog
from tidings.domain.models import Actor


@dataclass
class Pair:
    server: Any
    dialog_id: str
    alice_id: int
    bob_id: int
    alice_token: str
    bob_token: str
    alice: RealtimeConnection
    bob: RealtimeConnection
    app: Any

    async def reconnect_bob(self) -> RealtimeConnection:
        await self.bob.close()
        self.bob = await RealtimeConnection.connect(self.server.ws_url, self.bob_token)
        return self.bob


@pytest.fixture
async def pair(server: Any) -> AsyncIterator[Pair]:
    app, alice, alice_token = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    dialog = await server.client(alice_token).create_dialog("private", [bob.id])
    alice_ws = await RealtimeConnection.connect(server.ws_url, alice_token)
    bob_ws = await RealtimeConnection.connect(server.ws_url, bob_token)
    pair = Pair(server, dialog.id, alice.id, bob.id, alice_token, bob_token, alice_ws, bob_ws, app)
    try:
        yield pair
    finally:
        await pair.alice.close()
        await pair.bob.close()


async def test_hello_names_the_user_and_the_connection(pair: Pair) -> None:
    assert pair.alice.hello.user_id == pair.alice_id
    assert pair.bob.hello.app_id == pair.app.id
    assert pair.alice.hello.connection_id != pair.bob.hello.connection_id


async def test_send_is_acked_with_seq_and_reaches_the_other_user(pair: Pair) -> None:
    sent = await pair.alice.send_message(pair.dialog_id, "hello bob", params={"k": "v"})
    assert sent.seq == 1 and sent.body == "hello bob" and sent.sender_id == pair.alice_id
    event = await pair.bob.next_event("message.created")
    assert event.data["dialog_id"] == pair.dialog_id
    assert event.data["message"]["id"] == sent.id
    assert event.data["message"]["params"] == {"k": "v"}
    assert "recipients" not in event.data
    # The sender's own devices hear it too, to stay in sync.
    mine = await pair.alice.next_event("message.created")
    assert mine.data["message"]["id"] == sent.id


async def test_typing_start_and_stop_reach_the_other_user_only(pair: Pair) -> None:
    await pair.alice.typing(pair.dialog_id, True)
    started = await pair.bob.next_event("typing")
    assert started.data == {
        "app_id": pair.app.id,
        "dialog_id": pair.dialog_id,
        "user_id": pair.alice_id,
        "typing": True,
    }
    await pair.alice.typing(pair.dialog_id, False)
    stopped = await pair.bob.next_event("typing")
    assert stopped.data["typing"] is False
    with pytest.raises(TimeoutError):
        await pair.alice.next_event("typing", timeout=0.3)


async def test_read_marker_reaches_the_sender(pair: Pair) -> None:
    first = await pair.alice.send_message(pair.dialog_id, "one")
    second = await pair.alice.send_message(pair.dialog_id, "two")
    assert await pair.bob.mark_delivered(pair.dialog_id) == second.seq
    delivered = await pair.alice.next_event("message.delivered")
    assert delivered.data["user_id"] == pair.bob_id
    assert await pair.bob.mark_read(pair.dialog_id, first.id) == first.seq
    read = await pair.alice.next_event("message.read")
    assert read.data["user_id"] == pair.bob_id
    assert (read.data["seq"], read.data["message_id"]) == (first.seq, first.id)
    # A marker never moves back.
    assert await pair.bob.mark_read(pair.dialog_id) == second.seq
    assert await pair.bob.mark_read(pair.dialog_id, first.id) == second.seq


async def test_resending_the_same_id_is_idempotent(pair: Pair) -> None:
    client_id = secrets.token_hex(12)
    first = await pair.alice.send_message(pair.dialog_id, "once", id=client_id)
    again = await pair.alice.send_message(pair.dialog_id, "once", id=client_id)
    assert again.id == first.id == client_id
    assert again.seq == first.seq
    after = await pair.alice.send_message(pair.dialog_id, "next")
    # Events are delivered in publish order: a duplicate would come before "next".
    seen = [(await pair.bob.next_event("message.created")).data["message"] for _ in range(2)]
    assert [m["id"] for m in seen] == [client_id, after.id]
    assert after.seq == first.seq + 1


async def test_reusing_another_dialogs_id_is_refused(pair: Pair) -> None:
    _, carol, _ = await pair.server.new_user(pair.app)
    other = await pair.server.client(pair.alice_token).create_dialog("private", [carol.id])
    client_id = secrets.token_hex(12)
    await pair.alice.send_message(pair.dialog_id, "here", id=client_id)
    with pytest.raises(RealtimeError) as caught:
        await pair.alice.send_message(other.id, "there", id=client_id)
    assert caught.value.code == "message_id_taken"


async def test_edit_and_delete_for_everyone_are_announced(pair: Pair) -> None:
    sent = await pair.alice.send_message(pair.dialog_id, "typo")
    edited = await pair.alice.edit(pair.dialog_id, sent.id, "fixed")
    assert edited.body == "fixed" and edited.edited is True
    updated = await pair.bob.next_event("message.updated")
    assert updated.data["message"]["id"] == sent.id
    assert updated.data["message"]["body"] == "fixed"
    await pair.alice.delete(pair.dialog_id, sent.id, for_everyone=True)
    deleted = await pair.bob.next_event("message.deleted")
    assert deleted.data["message_id"] == sent.id
    assert deleted.data["for_everyone"] is True
    assert deleted.data["by_user_id"] == pair.alice_id
    assert deleted.data["seq"] == sent.seq


async def test_only_the_sender_may_edit(pair: Pair) -> None:
    sent = await pair.alice.send_message(pair.dialog_id, "mine")
    with pytest.raises(RealtimeError) as caught:
        await pair.bob.edit(pair.dialog_id, sent.id, "yours")
    assert caught.value.code == "forbidden"


async def test_resync_after_a_disconnect_pages_through_what_was_missed(pair: Pair) -> None:
    seen = await pair.alice.send_message(pair.dialog_id, "seen")
    await pair.bob.close()
    missed = [await pair.alice.send_message(pair.dialog_id, f"missed {i}") for i in range(3)]
    bob = await pair.reconnect_bob()

    page = (await bob.resync({pair.dialog_id: seen.seq}, limit=2))[pair.dialog_id]
    assert page.missed is True and page.complete is False
    assert page.last_seq == missed[-1].seq
    assert [m.id for m in page.messages] == [m.id for m in missed[:2]]

    cursor = page.messages[-1].seq
    rest = (await bob.resync({pair.dialog_id: cursor}, limit=2))[pair.dialog_id]
    assert rest.missed is True and rest.complete is True
    assert [m.body for m in rest.messages] == ["missed 2"]

    current = (await bob.resync({pair.dialog_id: missed[-1].seq}))[pair.dialog_id]
    assert current == ResyncDialog(
        messages=[], last_seq=missed[-1].seq, missed=False, complete=True
    )


async def test_resync_reports_deletions_and_bad_dialogs_separately(pair: Pair) -> None:
    sent = await pair.alice.send_message(pair.dialog_id, "soon gone")
    await pair.alice.delete(pair.dialog_id, sent.id, for_everyone=True)
    dialogs = await pair.bob.resync({pair.dialog_id: 0, "0" * 24: 0})
    (tombstone,) = dialogs[pair.dialog_id].messages
    assert tombstone.id == sent.id and tombstone.deleted is True
    assert dialogs["0" * 24].error.code == "dialog_not_found"


async def test_bad_frames_get_error_frames_and_the_connection_keeps_working(pair: Pair) -> None:
    conn = pair.alice
    await conn.send_raw('{"type": "send", "dialog_id": ')
    assert (await conn.next_error()).error.code == "bad_json"

    with pytest.raises(RealtimeError) as caught:
        await conn.request({"type": "subscribe", "dialog_id": pair.dialog_id})
    assert caught.value.code == "unknown_type"

    with pytest.raises(RealtimeError) as caught:
        await conn.request({"type": "typing", "dialog_id": pair.dialog_id, "typing": "yes"})
    assert caught.value.code == "invalid_field"
    assert caught.value.details == {"field": "typing"}

    await conn.send_message(pair.dialog_id, "x" * 100)  # well under every limit
    oversize = '{"type": "send", "ref": "big", "body": "' + "x" * 70_000 + '"}'
    await conn.send_raw(oversize)
    error = await conn.next_error()
    assert error.error.code == "frame_too_large" and error.ref is None

    await conn.ping()
    sent = await conn.send_message(pair.dialog_id, "still here")
    assert sent.body == "still here"


async def test_domain_errors_keep_their_code(pair: Pair) -> None:
    with pytest.raises(RealtimeError) as caught:
        await pair.alice.send_message(pair.dialog_id, "   ")
    assert caught.value.code == "invalid_input"
    with pytest.raises(RealtimeError) as caught:
        await pair.alice.send_message(pair.dialog_id, "x", id="not-an-id")
    assert caught.value.code == "invalid_input"


async def test_a_non_member_cannot_send_to_a_foreign_dialog(pair: Pair) -> None:
    _, _, carol_token = await pair.server.new_user(pair.app)
    _, _, stranger_token = await pair.server.new_user()  # another app altogether
    for token in (carol_token, stranger_token):
        async with RealtimeConnection.connect(pair.server.ws_url, token) as intruder:
            with pytest.raises(RealtimeError) as caught:
                await intruder.send_message(pair.dialog_id, "let me in")
            assert caught.value.code == "dialog_not_found"
            with pytest.raises(RealtimeError) as caught:
                await intruder.send_message("not-a-dialog", "hi")
            assert caught.value.code == "dialog_not_found"
            # Typing is fire-and-forget: its error comes back without a ref.
            await intruder.typing(pair.dialog_id, True)
            error = await intruder.next_error()
            assert (error.ref, error.error.code) == (None, "dialog_not_found")
    with pytest.raises(TimeoutError):
        await pair.bob.next_event("message.created", timeout=0.3)


async def test_an_invalid_token_is_refused_at_the_handshake(server: Any) -> None:
    for token in ("not-a-token", ""):
        with pytest.raises(RealtimeError) as caught:
            await RealtimeConnection.connect(server.ws_url, token)
        assert caught.value.code == "handshake_refused"
        assert caught.value.details == {"status": 403}


async def test_the_token_may_come_in_the_query(server: Any) -> None:
    _, user, token = await server.new_user()
    conn = await RealtimeConnection.connect(server.ws_url, token, token_in_query=True)
    async with conn:
        assert conn.hello.user_id == user.id
        assert await conn.ping() >= 0


async def test_flooding_is_rate_limited_without_closing(pair: Pair) -> None:
    results = await asyncio.gather(*(pair.alice.ping() for _ in range(300)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, RealtimeError)]
    assert refused and all(r.code == "rate_limited" for r in refused)
    assert len(refused) < 300

    async def answered() -> bool:
        try:
            return await pair.alice.ping() >= 0
        except RealtimeError as exc:  # still limited: the bucket refills over time
            assert exc.code == "rate_limited"
            return False

    assert await wait_until(answered, what="a ping once the limit refills", every=0.05)


async def test_presence_follows_the_connection(pair: Pair) -> None:
    observer = Actor(app_id=pair.app.id, user_id=pair.alice_id)
    presence = pair.server.core.presence
    assert (await presence.get_presence(observer, pair.bob_id)).online is True
    await pair.bob.close()

    async def offline() -> bool:
        return not (await presence.get_presence(observer, pair.bob_id)).online

    assert await wait_until(offline, what="bob offline")
