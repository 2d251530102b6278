"""Messages over the REST API, as the recipients see them: sending, idempotent ids,
history filters and cursors, limits, edit, delete, self-destroying messages, sequence
numbers under concurrency, read/delivered markers, unread counts and blocking."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import MISSING_ID, expect_error, manual_clock
from tidings.client import HistoryOut, TidingsClient
from tidings.domain.ids import new_id
from tidings.domain.models import App, Dialog, User


async def private_pair(
    server: Any,
) -> tuple[App, User, TidingsClient, User, TidingsClient, Dialog]:
    """alice and bob in a fresh app with a private dialog between them."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    return app, alice, alice_c, bob, bob_c, dialog


def bodies(page: HistoryOut) -> list[str]:
    return [m.body for m in page.items]


def seqs(page: HistoryOut) -> list[int | None]:
    return [m.seq for m in page.items]


# -- sending -----------------------------------------------------------------------


async def test_send_and_history_order(server) -> None:
    """Sent messages reach the other side's history in order, numbered 1, 2, 3."""
    _, alice, alice_c, bob, bob_c, dialog = await private_pair(server)
    sent = [
        await alice_c.send_message(dialog.id, "first"),
        await bob_c.send_message(dialog.id, "second"),
        await alice_c.send_message(dialog.id, "third", params={"kind": "note"}),
    ]
    assert [m.seq for m in sent] == [1, 2, 3]
    assert all(m.ephemeral is False and m.dialog_id == dialog.id for m in sent)

    page = await bob_c.history(dialog.id)
    assert [(m.id, m.sender_id, m.body) for m in page.items] == [
        (sent[0].id, alice.id, "first"),
        (sent[1].id, bob.id, "second"),
        (sent[2].id, alice.id, "third"),
    ]
    assert seqs(page) == [1, 2, 3]
    assert page.items[2].params == {"kind": "note"}
    assert page.has_more is False and page.next_cursor is None
    one = await bob_c.request("GET", f"/dialogs/{dialog.id}/messages/{sent[0].id}")
    assert one["body"] == "first" and one["seq"] == 1

    seen = await bob_c.get_dialog(dialog.id)
    assert seen.last_seq == 3
    assert seen.last_message_id == sent[2].id
    assert seen.last_message_text == "third"
    assert seen.last_message_user_id == alice.id


async def test_idempotent_client_id(server) -> None:
    """Sending with the same client id twice stores one message; the id cannot be reused
    in another dialog or by another sender."""
    app, alice, alice_c, _bob, bob_c, dialog = await private_pair(server)
    _, carol, _ = await server.new_client(app)
    other = await alice_c.create_dialog("private", [carol.id])
    client_id = new_id()

    first = await alice_c.send_message(dialog.id, "only once", id=client_id)
    retry = await alice_c.send_message(dialog.id, "only once", id=client_id)
    assert first.id == retry.id == client_id
    assert retry.seq == first.seq == 1
    assert retry.created_ms == first.created_ms

    page = await bob_c.history(dialog.id)
    assert [m.id for m in page.items] == [client_id]
    assert (await bob_c.unread()).total == 1

    await expect_error(
        alice_c.send_message(other.id, "elsewhere", id=client_id), 409, "message_id_taken"
    )
    await expect_error(
        bob_c.send_message(dialog.id, "mine now", id=client_id), 409, "message_id_taken"
    )
    assert (await alice_c.history(other.id)).items == []
    assert [m.sender_id for m in (await bob_c.history(dialog.id)).items] == [alice.id]
    await expect_error(alice_c.send_message(dialog.id, "bad id", id="XYZ"), 400, "invalid_input")

    # Two retries racing each other still store one message.
    raced_id = new_id()
    raced = await asyncio.gather(
        *(alice_c.send_message(dialog.id, "raced", id=raced_id) for _ in range(2))
    )
    assert raced[0].id == raced[1].id == raced_id
    assert raced[0].seq == raced[1].seq == 2
    page = await bob_c.history(dialog.id)
    assert [(m.id, m.seq) for m in page.items] == [(client_id, 1), (raced_id, 2)]
    assert (await bob_c.get_dialog(dialog.id)).last_seq == 2


# -- history -----------------------------------------------------------------------


async def test_history_seq_cursors_page_through_all(server) -> None:
    """25 messages read 10 at a time with after_seq (ascending) and before_seq
    (descending) cursors: right has_more/next_cursor, no duplicates, no gaps."""
    _, _alice, alice_c, _bob, bob_c, dialog = await private_pair(server)
    for n in range(1, 26):
        await alice_c.send_message(dialog.id, f"m{n}")

    pages = []
    cursor = None
    while True:
        params = {"limit": 10} if cursor is None else {"limit": 10, "after_seq": cursor}
        page = await bob_c.history(dialog.id, **params)
        pages.append(page)
        if not page.has_more:
            break
        cursor = page.next_cursor
        assert len(pages) < 5
    assert [seqs(p) for p in pages] == [
        list(range(1, 11)),
        list(range(11, 21)),
        list(range(21, 26)),
    ]
    assert [(p.has_more, p.next_cursor) for p in pages] == [
        (True, 10),
        (True, 20),
        (False, None),
    ]
    assert [b for p in pages for b in bodies(p)] == [f"m{n}" for n in range(1, 26)]

    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 10, "order": "desc"}
        if cursor is not None:
            params["before_seq"] = cursor
        page = await bob_c.history(dialog.id, **params)
        pages.append(page)
        if not page.has_more:
            break
        cursor = page.next_cursor
        assert len(pages) < 5
    assert [seqs(p) for p in pages] == [
        list(range(25, 15, -1)),
        list(range(15, 5, -1)),
        list(range(5, 0, -1)),
    ]
    assert [(p.has_more, p.next_cursor) for p in pages] == [
        (True, 16),
        (True, 6),
        (False, None),
    ]

    exact = await bob_c.history(dialog.id, limit=25)
    assert len(exact.items) == 25 and exact.has_more is False
    window = await bob_c.history(dialog.id, after_seq=5, before_seq=9)
    assert seqs(window) == [6, 7, 8]


async def test_history_filters(server) -> None:
    """after_id/before_id, since/until (ms), sender_id and skip select the right slice."""
    _, alice, alice_c, bob, bob_c, dialog = await private_pair(server)
    sent = []
    with manual_clock(server) as clock:
        for n in range(1, 11):
            clock.advance(1)
            sender = alice_c if n % 2 else bob_c
            sent.append(await sender.send_message(dialog.id, f"m{n}"))
    times = [m.created_ms for m in sent]
    assert times == sorted(set(times))

    d = dialog.id
    assert seqs(await bob_c.history(d, after_id=sent[4].id)) == [6, 7, 8, 9, 10]
    assert seqs(await bob_c.history(d, before_id=sent[4].id)) == [1, 2, 3, 4]
    assert seqs(await bob_c.history(d, after_id=sent[1].id, before_id=sent[5].id)) == [
        3,
        4,
        5,
    ]
    assert seqs(await alice_c.history(d, before_id=sent[4].id, order="desc", limit=2)) == [
        4,
        3,
    ]
    assert seqs(await bob_c.history(d, order="desc")) == list(range(10, 0, -1))

    assert seqs(await bob_c.history(d, since=times[3], until=times[6])) == [4, 5, 6, 7]
    assert seqs(await bob_c.history(d, since=times[8])) == [9, 10]
    assert seqs(await bob_c.history(d, until=times[0])) == [1]
    assert seqs(await bob_c.history(d, until=times[0] - 1)) == []

    from_alice = await bob_c.history(d, sender_id=alice.id)
    assert seqs(from_alice) == [1, 3, 5, 7, 9]
    assert {m.sender_id for m in from_alice.items} == {alice.id}
    assert seqs(await alice_c.history(d, sender_id=bob.id, order="desc", limit=2)) == [10, 8]

    skipped = await bob_c.history(d, skip=2, limit=3)
    assert seqs(skipped) == [3, 4, 5]
    assert skipped.has_more is True
    assert seqs(await bob_c.history(d, skip=8)) == [9, 10]
    assert seqs(await bob_c.history(d, skip=10)) == []

    await expect_error(bob_c.history(d, after_id=MISSING_ID), 404, "message_not_found")
    other = await alice_c.create_dialog("group", [bob.id], name="other")
    foreign = await alice_c.send_message(other.id, "elsewhere")
    await expect_error(bob_c.history(d, after_id=foreign.id), 404, "message_not_found")
    await expect_error(bob_c.history(d, after_id="nope"), 400, "invalid_input")
    await expect_error(bob_c.history(d, limit=101), 400, "invalid_input")
    await expect_error(bob_c.history(d, order="sideways"), 400, "invalid_input")


# -- limits ------------------------------------------------------------------------


async def test_body_limits(server) -> None:
    """A body over max_message_length is 413 too_large; an empty one is 400; neither is
    stored. A body of exactly the limit goes through."""
    _, _alice, alice_c, _bob, bob_c, dialog = await private_pair(server)
    limit = server.settings.max_message_length
    assert limit == 10000

    error = await expect_error(alice_c.send_message(dialog.id, "x" * (limit + 1)), 413, "too_large")
    assert error.details["limit"] == limit
    await expect_error(alice_c.send_message(dialog.id, ""), 400, "invalid_input")
    await expect_error(alice_c.send_message(dialog.id, "  \n "), 400, "invalid_input")
    assert (await bob_c.history(dialog.id)).items == []
    assert (await bob_c.unread()).total == 0

    full = await alice_c.send_message(dialog.id, "y" * limit)
    assert full.seq == 1
    assert bodies(await bob_c.history(dialog.id)) == ["y" * limit]


# -- changing ----------------------------------------------------------------------


async def test_edit_message(server) -> None:
    """The sender edits: the other side sees the new body marked edited, and the
    dialog's last message text follows; nobody else may edit."""
    _, _alice, alice_c, _bob, bob_c, dialog = await private_pair(server)
    older = await alice_c.send_message(dialog.id, "helo")
    last = await alice_c.send_message(dialog.id, "wrold")

    edited = await alice_c.edit_message(dialog.id, last.id, "world")
    assert edited.edited is True and edited.body == "world"
    assert edited.seq == last.seq
    assert (await bob_c.get_dialog(dialog.id)).last_message_text == "world"

    await alice_c.edit_message(dialog.id, older.id, "hello")
    assert (await bob_c.get_dialog(dialog.id)).last_message_text == "world"
    page = await bob_c.history(dialog.id)
    assert [(m.body, m.edited) for m in page.items] == [
        ("hello", True),
        ("world", True),
    ]

    await expect_error(bob_c.edit_message(dialog.id, last.id, "hijacked"), 403, "forbidden")
    await expect_error(alice_c.edit_message(dialog.id, last.id, ""), 400, "invalid_input")
    await expect_error(
        alice_c.edit_message(dialog.id, MISSING_ID, "ghost"), 404, "message_not_found"
    )
    assert bodies(await alice_c.history(dialog.id)) == ["hello", "world"]
    # Editing does not count as a new unread message.
    assert (await bob_c.unread()).total == 2


async def test_delete_message_for_me_and_for_everyone(server) -> None:
    """Deleting for me hides a message from my history only; deleting for everyone (by
    the sender or a dialog manager) removes it for all; others get 403."""
    app, _alice, alice_c, bob, bob_c, dialog = await private_pair(server)
    m1, m2, m3 = [await alice_c.send_message(dialog.id, b) for b in ("one", "two", "three")]

    await alice_c.delete_message(dialog.id, m1.id)
    assert bodies(await alice_c.history(dialog.id)) == ["two", "three"]
    assert bodies(await bob_c.history(dialog.id)) == ["one", "two", "three"]

    await expect_error(bob_c.delete_message(dialog.id, m2.id, for_everyone=True), 403, "forbidden")
    assert bodies(await alice_c.history(dialog.id)) == ["two", "three"]

    await alice_c.delete_message(dialog.id, m2.id, for_everyone=True)
    assert bodies(await alice_c.history(dialog.id)) == ["three"]
    assert bodies(await bob_c.history(dialog.id)) == ["one", "three"]
    await expect_error(
        bob_c.request("GET", f"/dialogs/{dialog.id}/messages/{m2.id}"),
        404,
        "message_not_found",
    )
    assert (await bob_c.unread()).dialogs == {dialog.id: 2}
    # Deleting it again is harmless.
    await alice_c.delete_message(dialog.id, m2.id, for_everyone=True)

    # Bob may hide alice's message for himself.
    await bob_c.delete_message(dialog.id, m3.id)
    assert bodies(await bob_c.history(dialog.id)) == ["one"]
    assert bodies(await alice_c.history(dialog.id)) == ["three"]

    # In a group the owner (a manager) deletes someone else's message for everyone.
    _, carol, carol_c = await server.new_client(app)
    group = await alice_c.create_dialog("group", [bob.id, carol.id], name="g")
    spam = await bob_c.send_message(group.id, "spam")
    await expect_error(
        carol_c.delete_message(group.id, spam.id, for_everyone=True), 403, "forbidden"
    )
    await alice_c.delete_message(group.id, spam.id, for_everyone=True)
    for client in (alice_c, bob_c, carol_c):
        assert (await client.history(group.id)).items == []
        # The deleted text does not live on as the dialog's preview.
        assert (await client.get_dialog(group.id)).last_message_text in ("", None)


async def test_self_destroying_message_is_never_stored(server) -> None:
    """A message with self_destroy_after is answered as ephemeral and leaves no trace in
    history, unread counts or the dialog's last message."""
    _, _alice, alice_c, _bob, bob_c, dialog = await private_pair(server)
    secret = await alice_c.send_message(dialog.id, "burn after reading", self_destroy_after=5)
    assert secret.ephemeral is True
    assert secret.self_destroy_after == 5
    assert secret.seq is None
    assert secret.body == "burn after reading"

    assert (await bob_c.history(dialog.id)).items == []
    assert (await alice_c.history(dialog.id)).items == []
    assert (await bob_c.unread()).total == 0
    seen = await bob_c.get_dialog(dialog.id)
    assert seen.last_seq == 0 and seen.last_message_id is None
    assert seen.unread_count == 0

    kept = await alice_c.send_message(dialog.id, "normal")
    assert kept.seq == 1
    assert bodies(await bob_c.history(dialog.id)) == ["normal"]
    await expect_error(
        alice_c.send_message(dialog.id, "x", self_destroy_after=0), 400, "invalid_input"
    )


async def test_seq_strictly_increasing_under_concurrent_sends(server) -> None:
    """20 concurrent sends to one dialog get 20 distinct sequence numbers 1..20, and the
    history lists them strictly increasing; another dialog counts from 1."""
    app, _alice, alice_c, _bob, bob_c, dialog = await private_pair(server)
    sends = [(alice_c if n % 2 else bob_c).send_message(dialog.id, f"c{n}") for n in range(20)]
    sent = await asyncio.gather(*sends)
    assert sorted(m.seq for m in sent) == list(range(1, 21))
    assert len({m.id for m in sent}) == 20

    page = await bob_c.history(dialog.id)
    assert seqs(page) == list(range(1, 21))
    assert {m.id: m.seq for m in page.items} == {m.id: m.seq for m in sent}
    assert (await alice_c.get_dialog(dialog.id)).last_seq == 20

    _, carol, _ = await server.new_client(app)
    other = await alice_c.create_dialog("private", [carol.id])
    assert (await alice_c.send_message(other.id, "fresh")).seq == 1


# -- receipts and unread ------------------------------------------------------------


async def test_read_and_delivered_ids(server) -> None:
    """The sender sees the recipient in delivered_ids after mark_delivered and in
    read_ids after mark_read; markers never move back."""
    _, alice, alice_c, bob, bob_c, dialog = await private_pair(server)
    m1 = await alice_c.send_message(dialog.id, "one")
    m2 = await alice_c.send_message(dialog.id, "two")
    assert m1.read_ids == [alice.id] and m1.delivered_ids == [alice.id]

    def statuses(page: HistoryOut) -> list[tuple[list[int], list[int]]]:
        return [(sorted(m.delivered_ids), sorted(m.read_ids)) for m in page.items]

    assert statuses(await alice_c.history(dialog.id)) == [
        ([alice.id], [alice.id]),
        ([alice.id], [alice.id]),
    ]

    assert await bob_c.mark_delivered(dialog.id, m1.id) == 1
    both = sorted([alice.id, bob.id])
    assert statuses(await alice_c.history(dialog.id)) == [
        (both, [alice.id]),
        ([alice.id], [alice.id]),
    ]

    assert await bob_c.mark_read(dialog.id) == 2
    assert statuses(await alice_c.history(dialog.id)) == [(both, both), (both, both)]
    one = await alice_c.request("GET", f"/dialogs/{dialog.id}/messages/{m2.id}")
    assert sorted(one["read_ids"]) == both

    # Markers are monotonic.
    assert await bob_c.mark_read(dialog.id, m1.id) == 2
    assert await bob_c.mark_delivered(dialog.id, m1.id) == 2
    assert statuses(await alice_c.history(dialog.id)) == [(both, both), (both, both)]
    await expect_error(bob_c.mark_read(dialog.id, MISSING_ID), 404, "message_not_found")


async def test_unread_counts_and_mark_read(server) -> None:
    """Unread counts per dialog and in total follow mark_read with a message id, and
    drop to zero after mark_read without one; own messages never count."""
    app, alice, alice_c, bob, bob_c, d1 = await private_pair(server)
    _, _carol, carol_c = await server.new_client(app)
    d2 = await carol_c.create_dialog("group", [bob.id, alice.id], name="three")
    first = [await alice_c.send_message(d1.id, f"a{n}") for n in range(5)]
    await carol_c.send_message(d2.id, "c1")
    await carol_c.send_message(d2.id, "c2")

    assert (await bob_c.unread()).model_dump() == {"total": 7, "dialogs": {d1.id: 5, d2.id: 2}}
    assert (await bob_c.get_dialog(d1.id)).unread_count == 5
    assert (await alice_c.unread()).model_dump() == {"total": 2, "dialogs": {d2.id: 2}}

    assert await bob_c.mark_read(d1.id, first[2].id) == 3
    assert (await bob_c.unread()).model_dump() == {"total": 4, "dialogs": {d1.id: 2, d2.id: 2}}
    listed = {d.id: d for d in (await bob_c.list_dialogs()).items}
    assert listed[d1.id].unread_count == 2
    assert listed[d1.id].read_seq == 3

    assert await bob_c.mark_read(d2.id) == 2
    assert (await bob_c.unread()).model_dump() == {"total": 2, "dialogs": {d1.id: 2}}
    assert await bob_c.mark_read(d1.id) == 5
    assert (await bob_c.unread()).model_dump() == {"total": 0, "dialogs": {}}
    assert (await bob_c.get_dialog(d1.id)).unread_count == 0

    await bob_c.send_message(d1.id, "my own")
    assert (await bob_c.unread()).total == 0
    assert (await alice_c.unread()).model_dump() == {"total": 3, "dialogs": {d1.id: 1, d2.id: 2}}


async def test_unread_filtered_by_dialog_ids(server) -> None:
    """dialog_ids restricts the unread answer to those dialogs, zeros included."""
    app, _alice, alice_c, bob, bob_c, d1 = await private_pair(server)
    _, _carol, carol_c = await server.new_client(app)
    d2 = await carol_c.create_dialog("private", [bob.id])
    d3 = await alice_c.create_dialog("group", [bob.id], name="g")
    quiet = await carol_c.create_dialog("group", [bob.id], name="quiet")
    for dialog, client, count in ((d1, alice_c, 1), (d2, carol_c, 2), (d3, alice_c, 3)):
        for n in range(count):
            await client.send_message(dialog.id, f"n{n}")

    assert (await bob_c.unread()).total == 6
    assert (await bob_c.unread([d1.id, d3.id])).model_dump() == {
        "total": 4,
        "dialogs": {d1.id: 1, d3.id: 3},
    }
    assert (await bob_c.unread([d2.id, quiet.id])).model_dump() == {
        "total": 2,
        "dialogs": {d2.id: 2, quiet.id: 0},
    }
    # A dialog bob is not in counts nothing for him.
    foreign = await alice_c.create_dialog("private", [_carol.id])
    await alice_c.send_message(foreign.id, "not for bob")
    assert (await bob_c.unread([foreign.id])).model_dump() == {
        "total": 0,
        "dialogs": {foreign.id: 0},
    }
    await expect_error(bob_c.unread(["not-an-id"]), 400, "invalid_input")


async def test_group_message_stored_when_a_member_blocks_the_sender(server) -> None:
    """In a group, a member blocking the sender does not stop the message being stored:
    everyone, the blocker included, can fetch it from history (unlike a private
    dialog, where the send is refused)."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, carol, carol_c = await server.new_client(app)
    group = await alice_c.create_dialog("group", [bob.id, carol.id], name="trio")
    await carol_c.block(alice.id)

    sent = await alice_c.send_message(group.id, "hi all")
    assert sent.seq == 1
    for client in (bob_c, carol_c):
        page = await client.history(group.id)
        assert [(m.id, m.sender_id, m.body) for m in page.items] == [(sent.id, alice.id, "hi all")]

    private = await alice_c.create_dialog("private", [carol.id])
    await expect_error(alice_c.send_message(private.id, "psst"), 403, "blocked")
    assert (await carol_c.history(private.id)).items == []
